-- Foundation schema: companies, staff, sessions, estates and their objects,
-- fee items, bill lines, payments. Money is BIGINT fen; instants are unix
-- seconds (UTC); civil dates are TEXT 'YYYY-MM-DD'; periods TEXT 'YYYY-MM'.
-- Keep in step with store-sqlite/migrations (the conformance suite checks).

CREATE TABLE companies (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    credit_code TEXT NOT NULL,
    created_at BIGINT NOT NULL DEFAULT (extract(epoch from now())::bigint)
);

CREATE TABLE estates (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    office TEXT NOT NULL DEFAULT ''
);

CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'finance', 'dispatcher', 'collector'))
);

CREATE TABLE user_estates (
    user_id BIGINT NOT NULL REFERENCES users(id),
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    PRIMARY KEY (user_id, estate_id)
);

-- Sessions live in the database so any server instance can serve any user.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE buildings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    name TEXT NOT NULL,
    entrances BIGINT NOT NULL DEFAULT 1,
    floors BIGINT NOT NULL DEFAULT 1,
    has_lift BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (estate_id, name)
);

CREATE TABLE rooms (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    building_id BIGINT NOT NULL REFERENCES buildings(id),
    entrance TEXT NOT NULL DEFAULT '',
    floor BIGINT NOT NULL,
    number TEXT NOT NULL,
    area_centi BIGINT NOT NULL CHECK (area_centi > 0),
    UNIQUE (building_id, entrance, number)
);
CREATE INDEX rooms_estate ON rooms (estate_id);

CREATE TABLE spaces (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    code TEXT NOT NULL,
    level TEXT NOT NULL DEFAULT '',
    UNIQUE (estate_id, code)
);

CREATE TABLE owners (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    name TEXT NOT NULL
);
CREATE INDEX owners_estate ON owners (estate_id);

CREATE TABLE owner_phones (
    owner_id BIGINT NOT NULL REFERENCES owners(id),
    phone TEXT NOT NULL,
    PRIMARY KEY (owner_id, phone)
);
CREATE INDEX owner_phones_phone ON owner_phones (phone);

CREATE TABLE room_owners (
    room_id BIGINT NOT NULL REFERENCES rooms(id),
    owner_id BIGINT NOT NULL REFERENCES owners(id),
    PRIMARY KEY (room_id, owner_id)
);
CREATE INDEX room_owners_owner ON room_owners (owner_id);

CREATE TABLE space_owners (
    space_id BIGINT NOT NULL REFERENCES spaces(id),
    owner_id BIGINT NOT NULL REFERENCES owners(id),
    PRIMARY KEY (space_id, owner_id)
);
CREATE INDEX space_owners_owner ON space_owners (owner_id);

CREATE TABLE fee_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('property', 'parking', 'on_behalf', 'other')),
    basis TEXT NOT NULL CHECK (basis IN ('per_area', 'per_room', 'per_space', 'entered')),
    cycle TEXT NOT NULL CHECK (cycle IN ('monthly', 'yearly')),
    price_fen BIGINT NOT NULL CHECK (price_fen >= 0),
    due_day BIGINT NOT NULL CHECK (due_day BETWEEN 1 AND 31),
    lf_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    lf_grace_days BIGINT NOT NULL DEFAULT 0,
    lf_rate_ppm BIGINT NOT NULL DEFAULT 0,
    lf_cap_kind TEXT NOT NULL DEFAULT 'none',
    lf_cap_fen BIGINT NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    -- Late fees never apply to collected-on-behalf items.
    CHECK (NOT (lf_enabled AND category = 'on_behalf')),
    UNIQUE (estate_id, code)
);

CREATE TABLE entered_amounts (
    fee_item_id BIGINT NOT NULL REFERENCES fee_items(id),
    room_id BIGINT NOT NULL REFERENCES rooms(id),
    period TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    PRIMARY KEY (fee_item_id, room_id, period)
);

-- One line per (object, fee item, period): the billing run's idempotency rests on this key.
CREATE TABLE bill_lines (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    object_kind TEXT NOT NULL CHECK (object_kind IN ('room', 'space')),
    object_id BIGINT NOT NULL,
    fee_item_id BIGINT NOT NULL REFERENCES fee_items(id),
    period TEXT NOT NULL,
    unit_price_fen BIGINT NOT NULL,
    quantity_centi BIGINT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    due_date TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'unpaid' CHECK (status IN ('unpaid', 'partly_paid', 'paid', 'waived')),
    paid_principal_fen BIGINT NOT NULL DEFAULT 0 CHECK (paid_principal_fen >= 0),
    late_fee_paid_fen BIGINT NOT NULL DEFAULT 0 CHECK (late_fee_paid_fen >= 0),
    checkpoint_date TEXT,
    checkpoint_fen BIGINT NOT NULL DEFAULT 0,
    late_waived_reason TEXT,
    late_waived_by BIGINT REFERENCES users(id),
    late_waived_at BIGINT,
    line_waived_reason TEXT,
    line_waived_by BIGINT REFERENCES users(id),
    line_waived_at BIGINT,
    disputed_since TEXT,
    disputed_by BIGINT REFERENCES users(id),
    disputed_reason TEXT,
    created_at BIGINT NOT NULL,
    CHECK (paid_principal_fen <= amount_fen),
    UNIQUE (object_kind, object_id, fee_item_id, period)
);
CREATE INDEX bill_lines_estate_status ON bill_lines (estate_id, status, due_date);

CREATE TABLE billing_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    period TEXT NOT NULL,
    created BIGINT NOT NULL,
    existing BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    user_id BIGINT REFERENCES users(id)
);

CREATE TABLE payments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    estate_id BIGINT NOT NULL REFERENCES estates(id),
    method TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    paid_on TEXT NOT NULL,
    paid_at BIGINT NOT NULL,
    recorded_by BIGINT REFERENCES users(id),
    -- A client-made key records a payment once, however often it is retried.
    idempotency_key TEXT UNIQUE
);

CREATE TABLE payment_allocations (
    payment_id BIGINT NOT NULL REFERENCES payments(id),
    line_id BIGINT NOT NULL REFERENCES bill_lines(id),
    late_fee_fen BIGINT NOT NULL,
    principal_fen BIGINT NOT NULL,
    PRIMARY KEY (payment_id, line_id)
);
CREATE INDEX payment_allocations_line ON payment_allocations (line_id);
