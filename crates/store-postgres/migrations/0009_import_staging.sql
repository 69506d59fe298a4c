-- Issue 13: a spreadsheet import is staged in short transactions (so other
-- writers, such as sign-ins, get the write lock between them) and made
-- visible all at once by one set-based transaction at the end. Staged rows
-- are seen by nothing but that transaction, and are deleted afterwards
-- whether it committed or failed; a batch left 'staging' by a crash is
-- swept by the next import after an hour.
CREATE TABLE import_batches (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    state TEXT NOT NULL DEFAULT 'staging' CHECK (state IN ('staging', 'applied', 'failed')),
    started_at BIGINT NOT NULL
);
CREATE INDEX import_batches_state ON import_batches (state, started_at);

CREATE TABLE import_rooms (
    batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    seq BIGINT NOT NULL,
    building TEXT NOT NULL,
    entrance TEXT NOT NULL,
    floor BIGINT NOT NULL,
    number TEXT NOT NULL,
    area_centi BIGINT NOT NULL,
    PRIMARY KEY (batch_id, seq)
);

CREATE TABLE import_spaces (
    batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    seq BIGINT NOT NULL,
    code TEXT NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY (batch_id, seq)
);

-- owner_id: the owner matched (same estate, name and a phone) or created
-- when the batch is applied.
CREATE TABLE import_owners (
    batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    seq BIGINT NOT NULL,
    name TEXT NOT NULL,
    owner_id BIGINT,
    PRIMARY KEY (batch_id, seq)
);

CREATE TABLE import_owner_phones (
    batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    owner_seq BIGINT NOT NULL,
    phone TEXT NOT NULL,
    PRIMARY KEY (batch_id, owner_seq, phone)
);

CREATE TABLE import_owner_rooms (
    batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    owner_seq BIGINT NOT NULL,
    building TEXT NOT NULL,
    entrance TEXT NOT NULL,
    number TEXT NOT NULL,
    PRIMARY KEY (batch_id, owner_seq, building, entrance, number)
);

CREATE TABLE import_owner_spaces (
    batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    owner_seq BIGINT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (batch_id, owner_seq, code)
);

-- Which staged owner a new owner row came from, so the links can find it
-- with a join (ids are given by the database, so the insert cannot say).
ALTER TABLE owners ADD COLUMN import_batch BIGINT;
ALTER TABLE owners ADD COLUMN import_seq BIGINT;
CREATE UNIQUE INDEX owners_import ON owners (import_batch, import_seq) WHERE import_batch IS NOT NULL;
