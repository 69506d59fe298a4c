-- Issue 7: running totals behind the collection report and the dashboards,
-- so a company of 200 estates and millions of bill lines reports in
-- milliseconds. Triggers keep them: every write path (billing, payments,
-- waivers, voids and refunds, imports, upgrades) changes them in the same
-- transaction as the rows they sum, and nothing else writes them.
--
-- dim: 0 = the whole estate (key 0), 1 = a building (key = building id,
-- 0 for parking spaces), 2 = a fee item (key = fee item id).
--
-- Rows are upserted in key order (estate row first), so two payments of one
-- estate wait for each other instead of deadlocking.

-- What is due per group and billing period: Σ (amount − waived) of the
-- lines; a waived line is due only what was paid on it before the waiver.
CREATE TABLE report_due (
    estate_id BIGINT NOT NULL,
    dim SMALLINT NOT NULL CHECK (dim IN (0, 1, 2)),
    key BIGINT NOT NULL,
    period TEXT NOT NULL,
    due_fen BIGINT NOT NULL,
    PRIMARY KEY (estate_id, dim, key, period)
);

-- Principal paid per group, billing period of the line and month of the
-- payment (local 'YYYY-MM' of paid_on), by posted payments only.
CREATE TABLE report_paid (
    estate_id BIGINT NOT NULL,
    dim SMALLINT NOT NULL CHECK (dim IN (0, 1, 2)),
    key BIGINT NOT NULL,
    line_period TEXT NOT NULL,
    paid_month TEXT NOT NULL,
    paid_fen BIGINT NOT NULL,
    PRIMARY KEY (estate_id, dim, key, line_period, paid_month)
);

-- What a line owes towards the rate.
CREATE FUNCTION report_line_due(status TEXT, amount BIGINT, paid BIGINT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN status = 'waived' THEN paid ELSE amount END $$;

-- Lines inserted (a billing run inserts thousands per statement): one
-- upsert per group for the whole statement.
CREATE FUNCTION report_lines_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_due (estate_id, dim, key, period, due_fen)
    SELECT n.estate_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE n.fee_item_id END,
           n.period, SUM(report_line_due(n.status, n.amount_fen, n.paid_principal_fen))
    FROM new_lines n
    CROSS JOIN (VALUES (0::SMALLINT), (1::SMALLINT), (2::SMALLINT)) AS d (dim)
    LEFT JOIN rooms r ON n.object_kind = 'room' AND r.id = n.object_id
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (estate_id, dim, key, period) DO UPDATE SET due_fen = report_due.due_fen + EXCLUDED.due_fen;
    RETURN NULL;
END $$;
CREATE TRIGGER bill_lines_report_insert AFTER INSERT ON bill_lines
REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION report_lines_inserted();

-- A line whose due changed (waived, amount corrected) or removed.
CREATE FUNCTION report_line_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT;
    building BIGINT;
    l bill_lines%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN
        l := OLD;
        delta := -report_line_due(OLD.status, OLD.amount_fen, OLD.paid_principal_fen);
    ELSE
        l := NEW;
        delta := report_line_due(NEW.status, NEW.amount_fen, NEW.paid_principal_fen)
               - report_line_due(OLD.status, OLD.amount_fen, OLD.paid_principal_fen);
    END IF;
    IF delta = 0 THEN
        RETURN NULL;
    END IF;
    SELECT COALESCE((SELECT building_id FROM rooms WHERE l.object_kind = 'room' AND id = l.object_id), 0)
    INTO building;
    INSERT INTO report_due (estate_id, dim, key, period, due_fen)
    VALUES (l.estate_id, 0, 0, l.period, delta),
           (l.estate_id, 1, building, l.period, delta),
           (l.estate_id, 2, l.fee_item_id, l.period, delta)
    ON CONFLICT (estate_id, dim, key, period) DO UPDATE SET due_fen = report_due.due_fen + EXCLUDED.due_fen;
    RETURN NULL;
END $$;
CREATE TRIGGER bill_lines_report_update AFTER UPDATE OF amount_fen, status, paid_principal_fen ON bill_lines
FOR EACH ROW
WHEN (report_line_due(NEW.status, NEW.amount_fen, NEW.paid_principal_fen)
      <> report_line_due(OLD.status, OLD.amount_fen, OLD.paid_principal_fen))
EXECUTE FUNCTION report_line_changed();
CREATE TRIGGER bill_lines_report_delete AFTER DELETE ON bill_lines
FOR EACH ROW EXECUTE FUNCTION report_line_changed();

-- Allocations inserted with a posted payment.
CREATE FUNCTION report_allocations_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_paid (estate_id, dim, key, line_period, paid_month, paid_fen)
    SELECT l.estate_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE l.fee_item_id END,
           l.period, substr(p.paid_on, 1, 7), SUM(a.principal_fen)
    FROM new_allocations a
    JOIN payments p ON p.id = a.payment_id AND p.status = 'posted'
    JOIN bill_lines l ON l.id = a.line_id
    CROSS JOIN (VALUES (0::SMALLINT), (1::SMALLINT), (2::SMALLINT)) AS d (dim)
    LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id
    WHERE a.principal_fen <> 0
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (estate_id, dim, key, line_period, paid_month) DO UPDATE SET paid_fen = report_paid.paid_fen + EXCLUDED.paid_fen;
    RETURN NULL;
END $$;
CREATE TRIGGER payment_allocations_report_insert AFTER INSERT ON payment_allocations
REFERENCING NEW TABLE AS new_allocations FOR EACH STATEMENT EXECUTE FUNCTION report_allocations_inserted();

-- A payment voided or refunded (or posted again) takes its allocations out
-- of (or back into) the totals.
CREATE FUNCTION report_payment_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_paid (estate_id, dim, key, line_period, paid_month, paid_fen)
    SELECT l.estate_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE l.fee_item_id END,
           l.period, substr(NEW.paid_on, 1, 7),
           SUM(CASE WHEN NEW.status = 'posted' THEN a.principal_fen ELSE -a.principal_fen END)
    FROM payment_allocations a
    JOIN bill_lines l ON l.id = a.line_id
    CROSS JOIN (VALUES (0::SMALLINT), (1::SMALLINT), (2::SMALLINT)) AS d (dim)
    LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id
    WHERE a.payment_id = NEW.id AND a.principal_fen <> 0
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (estate_id, dim, key, line_period, paid_month) DO UPDATE SET paid_fen = report_paid.paid_fen + EXCLUDED.paid_fen;
    RETURN NULL;
END $$;
CREATE TRIGGER payments_report_status AFTER UPDATE OF status ON payments
FOR EACH ROW WHEN ((OLD.status = 'posted') IS DISTINCT FROM (NEW.status = 'posted'))
EXECUTE FUNCTION report_payment_status();

-- The totals of what is already there.
INSERT INTO report_due (estate_id, dim, key, period, due_fen)
SELECT l.estate_id, d.dim,
       CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE l.fee_item_id END,
       l.period, SUM(report_line_due(l.status, l.amount_fen, l.paid_principal_fen))
FROM bill_lines l
CROSS JOIN (VALUES (0::SMALLINT), (1::SMALLINT), (2::SMALLINT)) AS d (dim)
LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id
GROUP BY 1, 2, 3, 4;

INSERT INTO report_paid (estate_id, dim, key, line_period, paid_month, paid_fen)
SELECT l.estate_id, d.dim,
       CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE l.fee_item_id END,
       l.period, substr(p.paid_on, 1, 7), SUM(a.principal_fen)
FROM payment_allocations a
JOIN payments p ON p.id = a.payment_id AND p.status = 'posted'
JOIN bill_lines l ON l.id = a.line_id
CROSS JOIN (VALUES (0::SMALLINT), (1::SMALLINT), (2::SMALLINT)) AS d (dim)
LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id
WHERE a.principal_fen <> 0
GROUP BY 1, 2, 3, 4, 5;

-- Balance of every ledger account per estate, kept with each posting (the
-- journal is append-only, so an insert trigger is all it takes): cash held
-- by collectors is read from here instead of summing the whole journal.
-- `doorstep ledger check` compares it with the postings.
CREATE TABLE ledger_balances (
    estate_id BIGINT NOT NULL,
    account TEXT NOT NULL,
    balance_fen BIGINT NOT NULL,
    PRIMARY KEY (estate_id, account)
);

CREATE FUNCTION ledger_postings_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_balances (estate_id, account, balance_fen)
    SELECT e.estate_id, p.account, SUM(p.debit_fen - p.credit_fen)
    FROM new_postings p JOIN journal_entries e ON e.id = p.entry_id
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (estate_id, account) DO UPDATE SET balance_fen = ledger_balances.balance_fen + EXCLUDED.balance_fen;
    RETURN NULL;
END $$;
CREATE TRIGGER journal_postings_balance AFTER INSERT ON journal_postings
REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_inserted();

INSERT INTO ledger_balances (estate_id, account, balance_fen)
SELECT e.estate_id, p.account, SUM(p.debit_fen - p.credit_fen)
FROM journal_postings p JOIN journal_entries e ON e.id = p.entry_id
GROUP BY 1, 2;
