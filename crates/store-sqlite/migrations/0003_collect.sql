-- Collecting at the door: merchant settings, geofences, check-ins, provider
-- orders (collections) and the bill lines they hold, signatures, the
-- double-entry journal, cash shifts and handovers, voids and refunds with a
-- second person's approval, provider notifications, reconciliation and job
-- leases. Keep in step with store-postgres/migrations (the conformance suite
-- checks).

-- Per-estate collection settings; no row means the defaults.
CREATE TABLE collect_settings (
    estate_id INTEGER PRIMARY KEY REFERENCES estates(id),
    allow_prepay INTEGER NOT NULL DEFAULT 0,
    qr_expiry_seconds INTEGER NOT NULL DEFAULT 300 CHECK (qr_expiry_seconds BETWEEN 60 AND 7200),
    cash_limit_fen INTEGER NOT NULL DEFAULT 200000 CHECK (cash_limit_fen > 0),
    cash_limit_hours INTEGER NOT NULL DEFAULT 24 CHECK (cash_limit_hours > 0)
);

-- A company's (or one estate's) merchant account at a provider. Money
-- settles there, never pooled. `estate_scope` 0 = every estate of the company.
CREATE TABLE merchants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    estate_scope INTEGER NOT NULL DEFAULT 0,
    provider TEXT NOT NULL CHECK (provider IN ('wechat', 'alipay')),
    merchant_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (company_id, estate_scope, provider)
);

-- Where a building (or a parking level) is: check-ins are compared with it.
CREATE TABLE geofences (
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    area_kind TEXT NOT NULL CHECK (area_kind IN ('building', 'parking')),
    area TEXT NOT NULL,
    lat_e6 INTEGER NOT NULL,
    lng_e6 INTEGER NOT NULL,
    radius_m INTEGER NOT NULL CHECK (radius_m > 0),
    PRIMARY KEY (estate_id, area_kind, area)
);

CREATE TABLE checkins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    booking_id INTEGER NOT NULL REFERENCES bookings(id),
    collector_id INTEGER NOT NULL REFERENCES users(id),
    lat_e6 INTEGER,
    lng_e6 INTEGER,
    accuracy_m INTEGER,
    fix_at INTEGER,
    verdict TEXT NOT NULL CHECK (verdict IN ('inside', 'outside', 'no_fix', 'no_fence')),
    distance_m INTEGER,
    device TEXT NOT NULL DEFAULT '',
    offline INTEGER NOT NULL DEFAULT 0,
    client_key TEXT UNIQUE,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX checkins_booking ON checkins (booking_id);

-- One attempt to take money at a stop: cash, a QR order, or a charge on the
-- owner's payment code. `out_trade_no` is our order number at the provider.
CREATE TABLE collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    booking_id INTEGER REFERENCES bookings(id),
    collector_id INTEGER NOT NULL REFERENCES users(id),
    method TEXT NOT NULL CHECK (method IN ('wechat_qr', 'alipay_qr', 'wechat_code', 'alipay_code')),
    merchant_ref INTEGER NOT NULL REFERENCES merchants(id),
    out_trade_no TEXT NOT NULL UNIQUE,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    line_ids TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'closed', 'failed')),
    code TEXT,
    expires_at INTEGER NOT NULL,
    transaction_id TEXT,
    payment_id INTEGER REFERENCES payments(id),
    close_reason TEXT,
    client_key TEXT UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX collections_open ON collections (expires_at) WHERE status = 'open';
CREATE INDEX collections_booking ON collections (booking_id);

-- A bill line is held by at most one open collection: two collectors (or a
-- QR order and a cash payment) never take money for the same line at once.
CREATE TABLE line_holds (
    line_id INTEGER PRIMARY KEY REFERENCES bill_lines(id),
    collection_id INTEGER NOT NULL REFERENCES collections(id)
);
CREATE INDEX line_holds_collection ON line_holds (collection_id);

ALTER TABLE payments ADD COLUMN booking_id INTEGER REFERENCES bookings(id);
ALTER TABLE payments ADD COLUMN provider TEXT;
ALTER TABLE payments ADD COLUMN transaction_id TEXT;
ALTER TABLE payments ADD COLUMN collection_id INTEGER REFERENCES collections(id);
ALTER TABLE payments ADD COLUMN advance_fen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN status TEXT NOT NULL DEFAULT 'posted';
ALTER TABLE payments ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;
-- Payments recorded before the journal are carried by the opening entries.
ALTER TABLE payments ADD COLUMN opening INTEGER NOT NULL DEFAULT 0;
UPDATE payments SET opening = 1;
-- One payment per provider transaction, one per collection.
CREATE UNIQUE INDEX payments_provider_txn ON payments (provider, transaction_id) WHERE transaction_id IS NOT NULL;
CREATE UNIQUE INDEX payments_collection ON payments (collection_id) WHERE collection_id IS NOT NULL;
CREATE INDEX payments_estate_day ON payments (estate_id, paid_on);

ALTER TABLE bill_lines ADD COLUMN billing_entry_id INTEGER;
CREATE INDEX bill_lines_billing_entry ON bill_lines (billing_entry_id);

-- What the owner saw and signed: the canonical JSON shown, its SHA-256, the
-- strokes (points with times) and the rendered PNG, with their hashes.
CREATE TABLE signatures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    booking_id INTEGER REFERENCES bookings(id),
    payment_id INTEGER REFERENCES payments(id),
    collector_id INTEGER NOT NULL REFERENCES users(id),
    shown TEXT NOT NULL,
    shown_hash TEXT NOT NULL,
    strokes TEXT NOT NULL,
    strokes_hash TEXT NOT NULL,
    png BLOB NOT NULL,
    png_hash TEXT NOT NULL,
    signed_at INTEGER NOT NULL,
    offline INTEGER NOT NULL DEFAULT 0,
    client_key TEXT UNIQUE,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX signatures_payment ON signatures (payment_id);

-- The double-entry journal. Append-only: the triggers below refuse every
-- UPDATE and DELETE; a correction is a reversing entry.
CREATE TABLE journal_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    kind TEXT NOT NULL CHECK (kind IN ('opening', 'billing', 'payment', 'waiver', 'void', 'refund', 'handover', 'settlement', 'adjustment')),
    memo TEXT NOT NULL DEFAULT '',
    payment_id INTEGER REFERENCES payments(id),
    reverses INTEGER UNIQUE REFERENCES journal_entries(id),
    created_by INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX journal_entries_payment ON journal_entries (payment_id);

CREATE TABLE journal_postings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id INTEGER NOT NULL REFERENCES journal_entries(id),
    account TEXT NOT NULL,
    debit_fen INTEGER NOT NULL CHECK (debit_fen >= 0),
    credit_fen INTEGER NOT NULL CHECK (credit_fen >= 0),
    CHECK ((debit_fen = 0) <> (credit_fen = 0))
);
CREATE INDEX journal_postings_entry ON journal_postings (entry_id);
CREATE INDEX journal_postings_account ON journal_postings (account);

CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_entries_no_delete BEFORE DELETE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_postings_no_update BEFORE UPDATE ON journal_postings
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_postings_no_delete BEFORE DELETE ON journal_postings
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;

-- A collector's shift: opened, closed, then handed over to finance, who
-- counts the cash blind; the difference is recorded.
CREATE TABLE shifts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    collector_id INTEGER NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'handed_over')),
    opened_at INTEGER NOT NULL,
    closed_at INTEGER,
    expected_fen INTEGER,
    counted_fen INTEGER,
    counted_by INTEGER REFERENCES users(id),
    handed_over_at INTEGER,
    entry_id INTEGER REFERENCES journal_entries(id),
    note TEXT NOT NULL DEFAULT '',
    CHECK (counted_by IS NULL OR counted_by <> collector_id)
);
CREATE UNIQUE INDEX shifts_one_open ON shifts (collector_id) WHERE status = 'open';

CREATE TABLE daily_closes (
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    day TEXT NOT NULL,
    closed_by INTEGER NOT NULL REFERENCES users(id),
    closed_at INTEGER NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (estate_id, day)
);

-- Voids (cash recorded in error) and refunds (money back through the
-- provider): requested by one person, approved by another (finance).
CREATE TABLE reversals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    payment_id INTEGER NOT NULL REFERENCES payments(id),
    kind TEXT NOT NULL CHECK (kind IN ('void', 'refund')),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'done', 'failed')),
    requested_by INTEGER NOT NULL REFERENCES users(id),
    requested_at INTEGER NOT NULL,
    decided_by INTEGER REFERENCES users(id),
    decided_at INTEGER,
    out_refund_no TEXT UNIQUE,
    entry_id INTEGER REFERENCES journal_entries(id),
    detail TEXT NOT NULL DEFAULT '',
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE UNIQUE INDEX reversals_one_live ON reversals (payment_id) WHERE status IN ('requested', 'approved', 'done');

-- Every notification received, whatever became of it.
CREATE TABLE provider_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    notify_id TEXT NOT NULL DEFAULT '',
    out_trade_no TEXT,
    verdict TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    received_at INTEGER NOT NULL
);
CREATE INDEX provider_events_trade ON provider_events (out_trade_no);

-- Each day's QR takings against the provider's bill file.
CREATE TABLE reconciliations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_ref INTEGER NOT NULL REFERENCES merchants(id),
    bill_date TEXT NOT NULL,
    matched INTEGER NOT NULL,
    matched_fen INTEGER NOT NULL,
    mismatches INTEGER NOT NULL,
    run_by INTEGER REFERENCES users(id),
    run_at INTEGER NOT NULL
);
CREATE TABLE reconciliation_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reconciliation_id INTEGER NOT NULL REFERENCES reconciliations(id),
    kind TEXT NOT NULL CHECK (kind IN ('missing', 'extra', 'amount_differs')),
    out_trade_no TEXT NOT NULL,
    transaction_id TEXT NOT NULL DEFAULT '',
    ours_fen INTEGER,
    theirs_fen INTEGER
);
CREATE INDEX reconciliation_items_rec ON reconciliation_items (reconciliation_id);

-- Background jobs (the order poller, the outbox sender, …) run on one
-- instance at a time: a lease that expires if its holder dies.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_at INTEGER NOT NULL
);

-- Opening entries: what was billed, paid and waived before the journal.
INSERT INTO journal_entries (estate_id, kind, memo, created_at)
SELECT DISTINCT estate_id, 'opening', 'opening balances', CAST(strftime('%s', 'now') AS INTEGER) FROM bill_lines;
INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen)
SELECT e.id, 'receivable:' || l.object_kind || ':' || l.object_id || ':' || l.fee_item_id, l.amount_fen, 0
FROM bill_lines l JOIN journal_entries e ON e.estate_id = l.estate_id AND e.kind = 'opening'
WHERE l.amount_fen > 0;
INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen)
SELECT e.id, CASE WHEN f.category = 'on_behalf' THEN 'on_behalf:' ELSE 'revenue:' END || f.id, 0, SUM(l.amount_fen)
FROM bill_lines l JOIN fee_items f ON f.id = l.fee_item_id JOIN journal_entries e ON e.estate_id = l.estate_id AND e.kind = 'opening'
GROUP BY e.id, f.id, f.category HAVING SUM(l.amount_fen) > 0;
INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen)
SELECT e.id, CASE WHEN p.method = 'cash' AND p.recorded_by IS NOT NULL THEN 'cash:' || p.recorded_by ELSE 'clearing:' || p.method || ':counter' END, SUM(p.amount_fen), 0
FROM payments p JOIN journal_entries e ON e.estate_id = p.estate_id AND e.kind = 'opening'
GROUP BY e.id, p.method, p.recorded_by HAVING SUM(p.amount_fen) > 0;
INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen)
SELECT e.id, 'receivable:' || l.object_kind || ':' || l.object_id || ':' || l.fee_item_id, 0, SUM(a.principal_fen)
FROM payment_allocations a JOIN bill_lines l ON l.id = a.line_id JOIN journal_entries e ON e.estate_id = l.estate_id AND e.kind = 'opening'
GROUP BY e.id, l.object_kind, l.object_id, l.fee_item_id HAVING SUM(a.principal_fen) > 0;
INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen)
SELECT e.id, 'late_fee_income:' || l.estate_id, 0, SUM(a.late_fee_fen)
FROM payment_allocations a JOIN bill_lines l ON l.id = a.line_id JOIN journal_entries e ON e.estate_id = l.estate_id AND e.kind = 'opening'
GROUP BY e.id, l.estate_id HAVING SUM(a.late_fee_fen) > 0;
INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen)
SELECT e.id, CASE WHEN f.category = 'on_behalf' THEN 'on_behalf:' ELSE 'waivers:' END || f.id, l.amount_fen - l.paid_principal_fen, 0
FROM bill_lines l JOIN fee_items f ON f.id = l.fee_item_id JOIN journal_entries e ON e.estate_id = l.estate_id AND e.kind = 'opening'
WHERE l.status = 'waived' AND l.amount_fen > l.paid_principal_fen;
INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen)
SELECT e.id, 'receivable:' || l.object_kind || ':' || l.object_id || ':' || l.fee_item_id, 0, l.amount_fen - l.paid_principal_fen
FROM bill_lines l JOIN journal_entries e ON e.estate_id = l.estate_id AND e.kind = 'opening'
WHERE l.status = 'waived' AND l.amount_fen > l.paid_principal_fen;
UPDATE bill_lines SET billing_entry_id = (SELECT e.id FROM journal_entries e WHERE e.estate_id = bill_lines.estate_id AND e.kind = 'opening');
