-- Issue 14: a company's payments no longer queue behind each other (see the
-- PostgreSQL migration of the same number for the design). SQLite has one
-- writer, so its triggers keep adding into the folded totals directly; the
-- delta tables exist (empty) so that both backends read and fold the same
-- way.

CREATE TABLE evidence_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    kind TEXT NOT NULL,
    estate_id INTEGER,
    booking_id INTEGER,
    payment_id INTEGER,
    objects TEXT NOT NULL DEFAULT '',
    data BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX evidence_queue_company ON evidence_queue (company_id, seq);
ALTER TABLE evidence_records ADD COLUMN queue_seq INTEGER;
CREATE UNIQUE INDEX evidence_records_queue_seq ON evidence_records (queue_seq) WHERE queue_seq IS NOT NULL;

CREATE TABLE receipt_queue (
    payment_id INTEGER PRIMARY KEY REFERENCES payments(id),
    company_id INTEGER NOT NULL REFERENCES companies(id),
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX receipt_queue_company ON receipt_queue (company_id, payment_id);

-- The triggers are dropped and made again for the renamed tables: SQLite's
-- RENAME would rewrite them itself, but turns an upsert's `excluded.x` into
-- the new table's name (SQLite 3.46), which would double every total.
DROP TRIGGER bill_lines_report_insert;
DROP TRIGGER bill_lines_report_update;
DROP TRIGGER bill_lines_report_delete;
DROP TRIGGER payment_allocations_report_insert;
DROP TRIGGER payments_report_status;
DROP TRIGGER journal_postings_balance;
ALTER TABLE report_due RENAME TO report_due_t;
ALTER TABLE report_paid RENAME TO report_paid_t;
ALTER TABLE ledger_balances RENAME TO ledger_balances_t;

CREATE TRIGGER bill_lines_report_insert AFTER INSERT ON bill_lines BEGIN
    INSERT INTO report_due_t (estate_id, dim, key, period, due_fen)
    SELECT NEW.estate_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE NEW.fee_item_id END,
           NEW.period,
           CASE WHEN NEW.status = 'waived' THEN NEW.paid_principal_fen ELSE NEW.amount_fen END
    FROM (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2) d
    LEFT JOIN rooms r ON NEW.object_kind = 'room' AND r.id = NEW.object_id
    WHERE true
    ON CONFLICT (estate_id, dim, key, period) DO UPDATE SET due_fen = due_fen + excluded.due_fen;
END;

CREATE TRIGGER bill_lines_report_update AFTER UPDATE OF amount_fen, status, paid_principal_fen ON bill_lines
WHEN (CASE WHEN NEW.status = 'waived' THEN NEW.paid_principal_fen ELSE NEW.amount_fen END)
  <> (CASE WHEN OLD.status = 'waived' THEN OLD.paid_principal_fen ELSE OLD.amount_fen END)
BEGIN
    INSERT INTO report_due_t (estate_id, dim, key, period, due_fen)
    SELECT NEW.estate_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE NEW.fee_item_id END,
           NEW.period,
           (CASE WHEN NEW.status = 'waived' THEN NEW.paid_principal_fen ELSE NEW.amount_fen END)
         - (CASE WHEN OLD.status = 'waived' THEN OLD.paid_principal_fen ELSE OLD.amount_fen END)
    FROM (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2) d
    LEFT JOIN rooms r ON NEW.object_kind = 'room' AND r.id = NEW.object_id
    WHERE true
    ON CONFLICT (estate_id, dim, key, period) DO UPDATE SET due_fen = due_fen + excluded.due_fen;
END;

CREATE TRIGGER bill_lines_report_delete AFTER DELETE ON bill_lines BEGIN
    INSERT INTO report_due_t (estate_id, dim, key, period, due_fen)
    SELECT OLD.estate_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE OLD.fee_item_id END,
           OLD.period,
           -(CASE WHEN OLD.status = 'waived' THEN OLD.paid_principal_fen ELSE OLD.amount_fen END)
    FROM (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2) d
    LEFT JOIN rooms r ON OLD.object_kind = 'room' AND r.id = OLD.object_id
    WHERE true
    ON CONFLICT (estate_id, dim, key, period) DO UPDATE SET due_fen = due_fen + excluded.due_fen;
END;

CREATE TRIGGER payment_allocations_report_insert AFTER INSERT ON payment_allocations
WHEN NEW.principal_fen <> 0
BEGIN
    INSERT INTO report_paid_t (estate_id, dim, key, line_period, paid_month, paid_fen)
    SELECT l.estate_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE l.fee_item_id END,
           l.period, substr(p.paid_on, 1, 7), NEW.principal_fen
    FROM bill_lines l
    JOIN payments p ON p.id = NEW.payment_id AND p.status = 'posted'
    CROSS JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2) d
    LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id
    WHERE l.id = NEW.line_id
    ON CONFLICT (estate_id, dim, key, line_period, paid_month) DO UPDATE SET paid_fen = paid_fen + excluded.paid_fen;
END;

CREATE TRIGGER payments_report_status AFTER UPDATE OF status ON payments
WHEN (OLD.status = 'posted') <> (NEW.status = 'posted')
BEGIN
    INSERT INTO report_paid_t (estate_id, dim, key, line_period, paid_month, paid_fen)
    SELECT l.estate_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE l.fee_item_id END,
           l.period, substr(NEW.paid_on, 1, 7),
           SUM(CASE WHEN NEW.status = 'posted' THEN a.principal_fen ELSE -a.principal_fen END)
    FROM payment_allocations a
    JOIN bill_lines l ON l.id = a.line_id
    CROSS JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2) d
    LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id
    WHERE a.payment_id = NEW.id AND a.principal_fen <> 0
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (estate_id, dim, key, line_period, paid_month) DO UPDATE SET paid_fen = paid_fen + excluded.paid_fen;
END;

CREATE TRIGGER journal_postings_balance AFTER INSERT ON journal_postings BEGIN
    INSERT INTO ledger_balances_t (estate_id, account, balance_fen)
    SELECT e.estate_id, NEW.account, NEW.debit_fen - NEW.credit_fen
    FROM journal_entries e WHERE e.id = NEW.entry_id
    ON CONFLICT (estate_id, account) DO UPDATE SET balance_fen = balance_fen + excluded.balance_fen;
END;

CREATE TABLE report_due_d (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    estate_id INTEGER NOT NULL,
    dim INTEGER NOT NULL CHECK (dim IN (0, 1, 2)),
    key INTEGER NOT NULL,
    period TEXT NOT NULL,
    due_fen INTEGER NOT NULL
);
CREATE TABLE report_paid_d (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    estate_id INTEGER NOT NULL,
    dim INTEGER NOT NULL CHECK (dim IN (0, 1, 2)),
    key INTEGER NOT NULL,
    line_period TEXT NOT NULL,
    paid_month TEXT NOT NULL,
    paid_fen INTEGER NOT NULL
);
CREATE TABLE ledger_balances_d (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    estate_id INTEGER NOT NULL,
    account TEXT NOT NULL,
    balance_fen INTEGER NOT NULL
);

CREATE VIEW report_due AS
SELECT estate_id, dim, key, period, CAST(SUM(due_fen) AS BIGINT) AS due_fen
FROM (SELECT estate_id, dim, key, period, due_fen FROM report_due_t
      UNION ALL SELECT estate_id, dim, key, period, due_fen FROM report_due_d) u
GROUP BY estate_id, dim, key, period;

CREATE VIEW report_paid AS
SELECT estate_id, dim, key, line_period, paid_month, CAST(SUM(paid_fen) AS BIGINT) AS paid_fen
FROM (SELECT estate_id, dim, key, line_period, paid_month, paid_fen FROM report_paid_t
      UNION ALL SELECT estate_id, dim, key, line_period, paid_month, paid_fen FROM report_paid_d) u
GROUP BY estate_id, dim, key, line_period, paid_month;

CREATE VIEW ledger_balances AS
SELECT estate_id, account, CAST(SUM(balance_fen) AS BIGINT) AS balance_fen
FROM (SELECT estate_id, account, balance_fen FROM ledger_balances_t
      UNION ALL SELECT estate_id, account, balance_fen FROM ledger_balances_d) u
GROUP BY estate_id, account;

-- A visit's payments (the signature card, what a visit collected).
CREATE INDEX payments_booking ON payments (booking_id) WHERE booking_id IS NOT NULL;
