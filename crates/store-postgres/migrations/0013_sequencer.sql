-- Issue 14: a company's payments no longer queue behind each other.
--
-- Three rows used to be written by every payment of a company or estate,
-- inside the payment's transaction, and held until its commit: the
-- evidence log's head (its size), the receipt counter and the running
-- totals of the estate. Now a payment's transaction only inserts:
--   * its evidence record into evidence_queue; a sequencer integrates
--     queued records into the company's Merkle tree in batches (as
--     Certificate Transparency logs do), under the head row's lock;
--   * its payment into receipt_queue; the sequencer numbers queued
--     payments' receipts in batches, in payment order, under the counter's
--     lock (numbers still have no gaps: a batch commits whole or not at all);
--   * its changes to the totals as delta rows; the totals read through
--     views that add the deltas, and a job folds deltas into the totals.
-- Every guarantee stays: the record, the receipt's place in the queue and
-- the totals commit with the payment.

CREATE TABLE evidence_queue (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    kind TEXT NOT NULL,
    estate_id BIGINT,
    booking_id BIGINT,
    payment_id BIGINT,
    -- the rooms and spaces the record concerns: 'room:12 space:3'
    objects TEXT NOT NULL DEFAULT '',
    data BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX evidence_queue_company ON evidence_queue (company_id, seq);
-- Which queued record an integrated one was (an appender waiting for its index).
ALTER TABLE evidence_records ADD COLUMN queue_seq BIGINT;
CREATE UNIQUE INDEX evidence_records_queue_seq ON evidence_records (queue_seq) WHERE queue_seq IS NOT NULL;

CREATE TABLE receipt_queue (
    payment_id BIGINT PRIMARY KEY REFERENCES payments(id),
    company_id BIGINT NOT NULL REFERENCES companies(id),
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX receipt_queue_company ON receipt_queue (company_id, payment_id);

-- Totals: folded rows (_t), deltas not yet folded (_d), and views with the
-- old names that add them up, so every reader is unchanged.
ALTER TABLE report_due RENAME TO report_due_t;
ALTER TABLE report_paid RENAME TO report_paid_t;
ALTER TABLE ledger_balances RENAME TO ledger_balances_t;

CREATE TABLE report_due_d (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL,
    dim SMALLINT NOT NULL CHECK (dim IN (0, 1, 2)),
    key BIGINT NOT NULL,
    period TEXT NOT NULL,
    due_fen BIGINT NOT NULL
);
CREATE TABLE report_paid_d (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL,
    dim SMALLINT NOT NULL CHECK (dim IN (0, 1, 2)),
    key BIGINT NOT NULL,
    line_period TEXT NOT NULL,
    paid_month TEXT NOT NULL,
    paid_fen BIGINT NOT NULL
);
CREATE TABLE ledger_balances_d (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL,
    account TEXT NOT NULL,
    balance_fen BIGINT NOT NULL
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

-- The triggers' functions write deltas now (plain inserts: no row is
-- shared by two transactions).
CREATE OR REPLACE FUNCTION report_lines_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_due_d (estate_id, dim, key, period, due_fen)
    SELECT n.estate_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE n.fee_item_id END,
           n.period, SUM(report_line_due(n.status, n.amount_fen, n.paid_principal_fen))
    FROM new_lines n
    CROSS JOIN (VALUES (0::SMALLINT), (1::SMALLINT), (2::SMALLINT)) AS d (dim)
    LEFT JOIN rooms r ON n.object_kind = 'room' AND r.id = n.object_id
    GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION report_line_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
    INSERT INTO report_due_d (estate_id, dim, key, period, due_fen)
    VALUES (l.estate_id, 0, 0, l.period, delta),
           (l.estate_id, 1, building, l.period, delta),
           (l.estate_id, 2, l.fee_item_id, l.period, delta);
    RETURN NULL;
END $$;

-- A payment inserts a handful of allocations: each is looked up by primary
-- key (LATERAL … OFFSET 0 keeps the planner, which has no statistics for a
-- transition table, from hashing whole tables).
CREATE OR REPLACE FUNCTION report_allocations_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_paid_d (estate_id, dim, key, line_period, paid_month, paid_fen)
    SELECT l.estate_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE l.fee_item_id END,
           l.period, substr(p.paid_on, 1, 7), SUM(a.principal_fen)
    FROM new_allocations a
    CROSS JOIN LATERAL (SELECT paid_on FROM payments WHERE id = a.payment_id AND status = 'posted' OFFSET 0) p
    CROSS JOIN LATERAL (SELECT estate_id, period, fee_item_id, object_kind, object_id FROM bill_lines WHERE id = a.line_id OFFSET 0) l
    CROSS JOIN (VALUES (0::SMALLINT), (1::SMALLINT), (2::SMALLINT)) AS d (dim)
    LEFT JOIN LATERAL (SELECT building_id FROM rooms WHERE l.object_kind = 'room' AND id = l.object_id OFFSET 0) r ON TRUE
    WHERE a.principal_fen <> 0
    GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION report_payment_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_paid_d (estate_id, dim, key, line_period, paid_month, paid_fen)
    SELECT l.estate_id, d.dim,
           CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE l.fee_item_id END,
           l.period, substr(NEW.paid_on, 1, 7),
           SUM(CASE WHEN NEW.status = 'posted' THEN a.principal_fen ELSE -a.principal_fen END)
    FROM payment_allocations a
    JOIN bill_lines l ON l.id = a.line_id
    CROSS JOIN (VALUES (0::SMALLINT), (1::SMALLINT), (2::SMALLINT)) AS d (dim)
    LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id
    WHERE a.payment_id = NEW.id AND a.principal_fen <> 0
    GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_postings_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_balances_d (estate_id, account, balance_fen)
    SELECT e.estate_id, p.account, SUM(p.debit_fen - p.credit_fen)
    FROM new_postings p
    CROSS JOIN LATERAL (SELECT estate_id FROM journal_entries WHERE id = p.entry_id OFFSET 0) e
    GROUP BY 1, 2;
    RETURN NULL;
END $$;

-- A visit's payments (the signature card, what a visit collected).
CREATE INDEX payments_booking ON payments (booking_id) WHERE booking_id IS NOT NULL;
