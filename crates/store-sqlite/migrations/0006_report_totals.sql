-- Issue 7: running totals behind the collection report and the dashboards,
-- so a company of 200 estates and millions of bill lines reports in
-- milliseconds. Triggers keep them: every write path (billing, payments,
-- waivers, voids and refunds, imports, upgrades) changes them in the same
-- transaction as the rows they sum, and nothing else writes them.
--
-- dim: 0 = the whole estate (key 0), 1 = a building (key = building id,
-- 0 for parking spaces), 2 = a fee item (key = fee item id).

-- What is due per group and billing period: Σ (amount − waived) of the
-- lines; a waived line is due only what was paid on it before the waiver.
CREATE TABLE report_due (
    estate_id INTEGER NOT NULL,
    dim INTEGER NOT NULL CHECK (dim IN (0, 1, 2)),
    key INTEGER NOT NULL,
    period TEXT NOT NULL,
    due_fen INTEGER NOT NULL,
    PRIMARY KEY (estate_id, dim, key, period)
) WITHOUT ROWID;

-- Principal paid per group, billing period of the line and month of the
-- payment (local 'YYYY-MM' of paid_on), by posted payments only.
CREATE TABLE report_paid (
    estate_id INTEGER NOT NULL,
    dim INTEGER NOT NULL CHECK (dim IN (0, 1, 2)),
    key INTEGER NOT NULL,
    line_period TEXT NOT NULL,
    paid_month TEXT NOT NULL,
    paid_fen INTEGER NOT NULL,
    PRIMARY KEY (estate_id, dim, key, line_period, paid_month)
) WITHOUT ROWID;

CREATE TRIGGER bill_lines_report_insert AFTER INSERT ON bill_lines BEGIN
    INSERT INTO report_due (estate_id, dim, key, period, due_fen)
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
    INSERT INTO report_due (estate_id, dim, key, period, due_fen)
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
    INSERT INTO report_due (estate_id, dim, key, period, due_fen)
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
    INSERT INTO report_paid (estate_id, dim, key, line_period, paid_month, paid_fen)
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

-- A payment voided or refunded (or posted again) takes its allocations out
-- of (or back into) the totals.
CREATE TRIGGER payments_report_status AFTER UPDATE OF status ON payments
WHEN (OLD.status = 'posted') <> (NEW.status = 'posted')
BEGIN
    INSERT INTO report_paid (estate_id, dim, key, line_period, paid_month, paid_fen)
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

-- The totals of what is already there.
INSERT INTO report_due (estate_id, dim, key, period, due_fen)
SELECT l.estate_id, d.dim,
       CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE l.fee_item_id END,
       l.period,
       SUM(CASE WHEN l.status = 'waived' THEN l.paid_principal_fen ELSE l.amount_fen END)
FROM bill_lines l
CROSS JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2) d
LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id
GROUP BY 1, 2, 3, 4;

INSERT INTO report_paid (estate_id, dim, key, line_period, paid_month, paid_fen)
SELECT l.estate_id, d.dim,
       CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE l.fee_item_id END,
       l.period, substr(p.paid_on, 1, 7), SUM(a.principal_fen)
FROM payment_allocations a
JOIN payments p ON p.id = a.payment_id AND p.status = 'posted'
JOIN bill_lines l ON l.id = a.line_id
CROSS JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2) d
LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id
WHERE a.principal_fen <> 0
GROUP BY 1, 2, 3, 4, 5;

-- Balance of every ledger account per estate, kept with each posting (the
-- journal is append-only, so an insert trigger is all it takes): cash held
-- by collectors is read from here instead of summing the whole journal.
-- `doorstep ledger check` compares it with the postings.
CREATE TABLE ledger_balances (
    estate_id INTEGER NOT NULL,
    account TEXT NOT NULL,
    balance_fen INTEGER NOT NULL,
    PRIMARY KEY (estate_id, account)
) WITHOUT ROWID;

CREATE TRIGGER journal_postings_balance AFTER INSERT ON journal_postings BEGIN
    INSERT INTO ledger_balances (estate_id, account, balance_fen)
    SELECT e.estate_id, NEW.account, NEW.debit_fen - NEW.credit_fen
    FROM journal_entries e WHERE e.id = NEW.entry_id
    ON CONFLICT (estate_id, account) DO UPDATE SET balance_fen = balance_fen + excluded.balance_fen;
END;

INSERT INTO ledger_balances (estate_id, account, balance_fen)
SELECT e.estate_id, p.account, SUM(p.debit_fen - p.credit_fen)
FROM journal_postings p JOIN journal_entries e ON e.id = p.entry_id
GROUP BY 1, 2;
