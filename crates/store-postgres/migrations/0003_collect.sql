-- Collecting at the door: merchant settings, geofences, check-ins, provider
-- orders (collections) and the bill lines they hold, signatures, the
-- double-entry journal, cash shifts and handovers, voids and refunds with a
-- second person's approval, provider notifications, reconciliation and job
-- leases. Keep in step with store-postgres/migrations (the conformance suite
-- checks).

-- Per-estate collection settings; no row means the defaults.
CREATE TABLE collect_settings (
    estate_id BIGINT PRIMARY KEY REFERENCES estates(id),
    allow_prepay BOOLEAN NOT NULL DEFAULT FALSE,
    qr_expiry_seconds BIGINT NOT NULL DEFAULT 300 CHECK (qr_expiry_seconds BETWEEN 60 AND 7200),
    cash_limit_fen BIGINT NOT NULL DEFAULT 200000 CHECK (cash_limit_fen > 0),
    cash_limit_hours BIGINT NOT NULL DEFAULT 24 CHECK (cash_limit_hours > 0)
);

-- A company's (or one estate's) merchant account at a provider. Money
-- settles there, never pooled. `estate_scope` 0 = every estate of the company.
CREATE TABLE merchants (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    estate_scope BIGINT NOT NULL DEFAULT 0,
    provider TEXT NOT NULL CHECK (provider IN ('wechat', 'alipay')),
    merchant_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (company_id, estate_scope, provider)
);

-- Where a building (or a parking level) is: check-ins are compared with it.
CREATE TABLE geofences (
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    area_kind TEXT NOT NULL CHECK (area_kind IN ('building', 'parking')),
    area TEXT NOT NULL,
    lat_e6 BIGINT NOT NULL,
    lng_e6 BIGINT NOT NULL,
    radius_m BIGINT NOT NULL CHECK (radius_m > 0),
    PRIMARY KEY (estate_id, area_kind, area)
);

CREATE TABLE checkins (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    booking_id BIGINT NOT NULL REFERENCES bookings(id),
    collector_id BIGINT NOT NULL REFERENCES users(id),
    lat_e6 BIGINT,
    lng_e6 BIGINT,
    accuracy_m BIGINT,
    fix_at BIGINT,
    verdict TEXT NOT NULL CHECK (verdict IN ('inside', 'outside', 'no_fix', 'no_fence')),
    distance_m BIGINT,
    device TEXT NOT NULL DEFAULT '',
    offline BOOLEAN NOT NULL DEFAULT FALSE,
    client_key TEXT UNIQUE,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX checkins_booking ON checkins (booking_id);

-- One attempt to take money at a stop: cash, a QR order, or a charge on the
-- owner's payment code. `out_trade_no` is our order number at the provider.
CREATE TABLE collections (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    booking_id BIGINT REFERENCES bookings(id),
    collector_id BIGINT NOT NULL REFERENCES users(id),
    method TEXT NOT NULL CHECK (method IN ('wechat_qr', 'alipay_qr', 'wechat_code', 'alipay_code')),
    merchant_ref BIGINT NOT NULL REFERENCES merchants(id),
    out_trade_no TEXT NOT NULL UNIQUE,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    line_ids TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'closed', 'failed')),
    code TEXT,
    expires_at BIGINT NOT NULL,
    transaction_id TEXT,
    payment_id BIGINT REFERENCES payments(id),
    close_reason TEXT,
    client_key TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX collections_open ON collections (expires_at) WHERE status = 'open';
CREATE INDEX collections_booking ON collections (booking_id);

-- A bill line is held by at most one open collection: two collectors (or a
-- QR order and a cash payment) never take money for the same line at once.
CREATE TABLE line_holds (
    line_id BIGINT PRIMARY KEY REFERENCES bill_lines(id),
    collection_id BIGINT NOT NULL REFERENCES collections(id)
);
CREATE INDEX line_holds_collection ON line_holds (collection_id);

ALTER TABLE payments ADD COLUMN booking_id BIGINT REFERENCES bookings(id);
ALTER TABLE payments ADD COLUMN provider TEXT;
ALTER TABLE payments ADD COLUMN transaction_id TEXT;
ALTER TABLE payments ADD COLUMN collection_id BIGINT REFERENCES collections(id);
ALTER TABLE payments ADD COLUMN advance_fen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN status TEXT NOT NULL DEFAULT 'posted';
ALTER TABLE payments ADD COLUMN offline BOOLEAN NOT NULL DEFAULT FALSE;
-- Payments recorded before the journal are carried by the opening entries.
ALTER TABLE payments ADD COLUMN opening BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE payments SET opening = TRUE;
-- One payment per provider transaction, one per collection.
CREATE UNIQUE INDEX payments_provider_txn ON payments (provider, transaction_id) WHERE transaction_id IS NOT NULL;
CREATE UNIQUE INDEX payments_collection ON payments (collection_id) WHERE collection_id IS NOT NULL;
CREATE INDEX payments_estate_day ON payments (estate_id, paid_on);

ALTER TABLE bill_lines ADD COLUMN billing_entry_id BIGINT;
CREATE INDEX bill_lines_billing_entry ON bill_lines (billing_entry_id);

-- What the owner saw and signed: the canonical JSON shown, its SHA-256, the
-- strokes (points with times) and the rendered PNG, with their hashes.
CREATE TABLE signatures (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    booking_id BIGINT REFERENCES bookings(id),
    payment_id BIGINT REFERENCES payments(id),
    collector_id BIGINT NOT NULL REFERENCES users(id),
    shown TEXT NOT NULL,
    shown_hash TEXT NOT NULL,
    strokes TEXT NOT NULL,
    strokes_hash TEXT NOT NULL,
    png BYTEA NOT NULL,
    png_hash TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    offline BOOLEAN NOT NULL DEFAULT FALSE,
    client_key TEXT UNIQUE,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX signatures_payment ON signatures (payment_id);

-- The double-entry journal. Append-only: the triggers below refuse every
-- UPDATE and DELETE; a correction is a reversing entry.
CREATE TABLE journal_entries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    kind TEXT NOT NULL CHECK (kind IN ('opening', 'billing', 'payment', 'waiver', 'void', 'refund', 'handover', 'settlement', 'adjustment')),
    memo TEXT NOT NULL DEFAULT '',
    payment_id BIGINT REFERENCES payments(id),
    reverses BIGINT UNIQUE REFERENCES journal_entries(id),
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX journal_entries_payment ON journal_entries (payment_id);

CREATE TABLE journal_postings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id BIGINT NOT NULL REFERENCES journal_entries(id),
    account TEXT NOT NULL,
    debit_fen BIGINT NOT NULL CHECK (debit_fen >= 0),
    credit_fen BIGINT NOT NULL CHECK (credit_fen >= 0),
    CHECK ((debit_fen = 0) <> (credit_fen = 0))
);
CREATE INDEX journal_postings_entry ON journal_postings (entry_id);
CREATE INDEX journal_postings_account ON journal_postings (account);

CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only';
END;
$$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_postings_append_only BEFORE UPDATE OR DELETE ON journal_postings
FOR EACH ROW EXECUTE FUNCTION journal_append_only();

-- A collector's shift: opened, closed, then handed over to finance, who
-- counts the cash blind; the difference is recorded.
CREATE TABLE shifts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    collector_id BIGINT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'handed_over')),
    opened_at BIGINT NOT NULL,
    closed_at BIGINT,
    expected_fen BIGINT,
    counted_fen BIGINT,
    counted_by BIGINT REFERENCES users(id),
    handed_over_at BIGINT,
    entry_id BIGINT REFERENCES journal_entries(id),
    note TEXT NOT NULL DEFAULT '',
    CHECK (counted_by IS NULL OR counted_by <> collector_id)
);
CREATE UNIQUE INDEX shifts_one_open ON shifts (collector_id) WHERE status = 'open';

CREATE TABLE daily_closes (
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    day TEXT NOT NULL,
    closed_by BIGINT NOT NULL REFERENCES users(id),
    closed_at BIGINT NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (estate_id, day)
);

-- Voids (cash recorded in error) and refunds (money back through the
-- provider): requested by one person, approved by another (finance).
CREATE TABLE reversals (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    payment_id BIGINT NOT NULL REFERENCES payments(id),
    kind TEXT NOT NULL CHECK (kind IN ('void', 'refund')),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'done', 'failed')),
    requested_by BIGINT NOT NULL REFERENCES users(id),
    requested_at BIGINT NOT NULL,
    decided_by BIGINT REFERENCES users(id),
    decided_at BIGINT,
    out_refund_no TEXT UNIQUE,
    entry_id BIGINT REFERENCES journal_entries(id),
    detail TEXT NOT NULL DEFAULT '',
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE UNIQUE INDEX reversals_one_live ON reversals (payment_id) WHERE status IN ('requested', 'approved', 'done');

-- Every notification received, whatever became of it.
CREATE TABLE provider_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider TEXT NOT NULL,
    notify_id TEXT NOT NULL DEFAULT '',
    out_trade_no TEXT,
    verdict TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    received_at BIGINT NOT NULL
);
CREATE INDEX provider_events_trade ON provider_events (out_trade_no);

-- Each day's QR takings against the provider's bill file.
CREATE TABLE reconciliations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_ref BIGINT NOT NULL REFERENCES merchants(id),
    bill_date TEXT NOT NULL,
    matched BIGINT NOT NULL,
    matched_fen BIGINT NOT NULL,
    mismatches BIGINT NOT NULL,
    run_by BIGINT REFERENCES users(id),
    run_at BIGINT NOT NULL
);
CREATE TABLE reconciliation_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reconciliation_id BIGINT NOT NULL REFERENCES reconciliations(id),
    kind TEXT NOT NULL CHECK (kind IN ('missing', 'extra', 'amount_differs')),
    out_trade_no TEXT NOT NULL,
    transaction_id TEXT NOT NULL DEFAULT '',
    ours_fen BIGINT,
    theirs_fen BIGINT
);
CREATE INDEX reconciliation_items_rec ON reconciliation_items (reconciliation_id);

-- Background jobs (the order poller, the outbox sender, …) run on one
-- instance at a time: a lease that expires if its holder dies.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_at BIGINT NOT NULL
);

-- Opening entries: what was billed, paid and waived before the journal.
INSERT INTO journal_entries (estate_id, kind, memo, created_at)
SELECT DISTINCT estate_id, 'opening', 'opening balances', CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) FROM bill_lines;
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
