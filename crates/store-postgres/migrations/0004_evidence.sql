-- Issue 6: e-receipts, the evidence log, invoice requests.

-- Each company's Ed25519 signing keys (receipts and log checkpoints). The
-- newest unretired key signs; retired keys stay to verify what they signed.
CREATE TABLE signing_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    name TEXT NOT NULL,
    vkey TEXT NOT NULL UNIQUE,
    skey TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (company_id) WHERE retired_at IS NULL;

-- Receipt numbers: one counter per company, taken in the payment's own
-- transaction, so a number is never skipped and never reused.
CREATE TABLE receipt_counters (
    company_id BIGINT PRIMARY KEY REFERENCES companies(id),
    next_no BIGINT NOT NULL CHECK (next_no >= 1)
);

-- One receipt per payment. 'pending' until the content is signed (retried
-- by a job when signing fails), then 'issued'; 'void' after an approved void.
CREATE TABLE receipts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    number BIGINT NOT NULL CHECK (number >= 1),
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    payment_id BIGINT NOT NULL UNIQUE REFERENCES payments(id),
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'issued', 'void')),
    token TEXT NOT NULL UNIQUE,
    note TEXT,
    sha256 TEXT,
    signing_key_id BIGINT REFERENCES signing_keys(id),
    leaf_index BIGINT,
    issued_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    void_reason TEXT,
    voided_at BIGINT,
    void_leaf_index BIGINT,
    -- Copies of the link sent to other phones (limited: anyone with the
    -- link could otherwise text any number).
    copies BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (company_id, number),
    CHECK (status <> 'issued' OR (note IS NOT NULL AND sha256 IS NOT NULL))
);
CREATE INDEX receipts_pending ON receipts (status) WHERE status = 'pending';

-- Receipts for payments recorded before this version.
INSERT INTO receipt_counters (company_id, next_no)
SELECT e.company_id, COUNT(*) + 1 FROM payments p JOIN estates e ON e.id = p.estate_id GROUP BY e.company_id;
INSERT INTO receipts (company_id, number, estate_id, payment_id, token, created_at)
SELECT e.company_id, ROW_NUMBER() OVER (PARTITION BY e.company_id ORDER BY p.id),
       p.estate_id, p.id, replace(gen_random_uuid()::text, '-', ''), p.paid_at
FROM payments p JOIN estates e ON e.id = p.estate_id;

-- The evidence log: per company, an append-only RFC 6962 Merkle tree. A
-- record's bytes are RFC 8785 JSON; its leaf and every complete subtree
-- root are kept in merkle_nodes (level 0 = leaf hashes).
CREATE TABLE evidence_logs (
    company_id BIGINT PRIMARY KEY REFERENCES companies(id),
    size BIGINT NOT NULL CHECK (size >= 0)
);
CREATE TABLE evidence_records (
    company_id BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    kind TEXT NOT NULL,
    estate_id BIGINT,
    booking_id BIGINT,
    payment_id BIGINT,
    data BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (company_id, idx)
);
CREATE INDEX evidence_records_booking ON evidence_records (booking_id) WHERE booking_id IS NOT NULL;
CREATE INDEX evidence_records_payment ON evidence_records (payment_id) WHERE payment_id IS NOT NULL;
-- Which rooms and spaces a record concerns (for an owner's dispute export).
CREATE TABLE evidence_subjects (
    object_kind TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    company_id BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    PRIMARY KEY (object_kind, object_id, company_id, idx)
);
CREATE TABLE merkle_nodes (
    company_id BIGINT NOT NULL,
    level BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (company_id, level, idx)
);
CREATE TABLE checkpoints (
    company_id BIGINT NOT NULL,
    size BIGINT NOT NULL,
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    signing_key_id BIGINT NOT NULL REFERENCES signing_keys(id),
    signed_at BIGINT NOT NULL,
    PRIMARY KEY (company_id, size)
);

CREATE FUNCTION evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the evidence log is append-only';
END;
$$;
CREATE TRIGGER evidence_records_append_only BEFORE UPDATE OR DELETE ON evidence_records
FOR EACH ROW EXECUTE FUNCTION evidence_append_only();
CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE ON merkle_nodes
FOR EACH ROW EXECUTE FUNCTION evidence_append_only();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
FOR EACH ROW EXECUTE FUNCTION evidence_append_only();

-- Invoicing data per fee item: the tax classification code and VAT rate
-- (basis points: 600 = 6%). Property management by default.
ALTER TABLE fee_items ADD COLUMN tax_code TEXT NOT NULL DEFAULT '3040801010000000000';
ALTER TABLE fee_items ADD COLUMN vat_rate_bp BIGINT NOT NULL DEFAULT 600 CHECK (vat_rate_bp BETWEEN 0 AND 10000);

-- Invoice requests (发票申请): requested → issued (number, file link) | failed (reason).
CREATE TABLE invoice_requests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    receipt_id BIGINT NOT NULL REFERENCES receipts(id),
    payment_id BIGINT NOT NULL REFERENCES payments(id),
    kind TEXT NOT NULL CHECK (kind IN ('personal', 'company')),
    title TEXT NOT NULL,
    tax_id TEXT,
    email TEXT,
    phone TEXT,
    address TEXT,
    bank TEXT,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    status TEXT NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'issued', 'failed')),
    platform TEXT NOT NULL DEFAULT 'manual',
    invoice_no TEXT,
    file_url TEXT,
    reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by BIGINT REFERENCES users(id),
    CHECK (kind = 'personal' OR tax_id IS NOT NULL),
    CHECK (status <> 'issued' OR invoice_no IS NOT NULL),
    CHECK (status <> 'failed' OR reason IS NOT NULL)
);
CREATE INDEX invoice_requests_status ON invoice_requests (company_id, status);
-- One live request per payment line: never two invoices for the same money.
CREATE TABLE invoice_request_lines (
    request_id BIGINT NOT NULL REFERENCES invoice_requests(id),
    payment_id BIGINT NOT NULL,
    line_id BIGINT NOT NULL,
    item TEXT NOT NULL,
    tax_code TEXT NOT NULL,
    vat_rate_bp BIGINT NOT NULL,
    amount_fen BIGINT NOT NULL,
    live BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (request_id, line_id)
);
CREATE UNIQUE INDEX invoice_request_lines_once ON invoice_request_lines (payment_id, line_id) WHERE live;
