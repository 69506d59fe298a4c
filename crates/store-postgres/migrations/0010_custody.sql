-- Issue 14 items 7 and 8: a handover whose count differs from the ledger is
-- not settled at once. The counted cash goes to the safe, the difference to
-- a suspense account (handover_suspense, 待处理财产损溢); the collector
-- acknowledges (or disputes, with a note) what was expected and counted,
-- and a finance user who is neither the counter nor the collector approves
-- it, which moves the difference to over/short. A void after a handover
-- takes the money from where it is now (the safe, or the shift's shortage),
-- and leaves a follow-up to collect again, linked to the void.
CREATE TABLE handover_differences (
    shift_id BIGINT PRIMARY KEY REFERENCES shifts(id),
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    collector_id BIGINT NOT NULL REFERENCES users(id),
    counted_by BIGINT NOT NULL REFERENCES users(id),
    expected_fen BIGINT NOT NULL CHECK (expected_fen >= 0),
    counted_fen BIGINT NOT NULL CHECK (counted_fen >= 0),
    reason TEXT NOT NULL CHECK (length(trim(reason)) BETWEEN 1 AND 200),
    entry_id BIGINT NOT NULL REFERENCES journal_entries(id),
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved')),
    response TEXT CHECK (response IN ('ack', 'dispute')),
    response_note TEXT NOT NULL DEFAULT '',
    responded_at BIGINT,
    -- Part of a shortage since explained by voids of payments in the shift.
    offset_fen BIGINT NOT NULL DEFAULT 0 CHECK (offset_fen >= 0),
    approved_by BIGINT REFERENCES users(id),
    approved_at BIGINT,
    approval_entry_id BIGINT REFERENCES journal_entries(id),
    CHECK (counted_fen <> expected_fen),
    CHECK (counted_by <> collector_id),
    CHECK (approved_by IS NULL OR (approved_by <> counted_by AND approved_by <> collector_id)),
    CHECK ((response IS NULL) = (responded_at IS NULL)),
    CHECK (response IS NULL OR response <> 'dispute' OR length(trim(response_note)) > 0),
    CHECK ((status = 'pending' AND approved_by IS NULL AND approved_at IS NULL AND approval_entry_id IS NULL)
        OR (status = 'approved' AND approved_by IS NOT NULL AND approved_at IS NOT NULL AND response IS NOT NULL)),
    CHECK (offset_fen = 0 OR offset_fen <= expected_fen - counted_fen)
);
CREATE INDEX handover_differences_estate ON handover_differences (estate_id, status);

-- Collections reopened by a void: the lines the payment paid are owed
-- again; this is the follow-up, shown to finance and dispatch until they
-- are paid again, and named on the booking.
CREATE TABLE recollections (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    reversal_id BIGINT NOT NULL UNIQUE REFERENCES reversals(id),
    payment_id BIGINT NOT NULL REFERENCES payments(id),
    booking_id BIGINT REFERENCES bookings(id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    -- Where the reversal took the money from: cash:<user>, safe:<estate> …
    taken_from TEXT NOT NULL,
    owners_told BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX recollections_estate ON recollections (estate_id);
