-- Home-visit bookings: visiting windows, duty roster, slot places, bookings
-- and their history, dispatch sessions, estate walking models, owner sign-in
-- codes and sessions, and the notification outbox.
-- Keep in step with store-postgres/migrations (the conformance suite checks).

-- An estate's booking rules; no row means the defaults.
CREATE TABLE booking_rules (
    estate_id INTEGER PRIMARY KEY REFERENCES estates(id),
    weekday_windows TEXT NOT NULL,
    weekend_windows TEXT NOT NULL,
    slot_minutes INTEGER NOT NULL CHECK (slot_minutes BETWEEN 10 AND 240),
    visits_per_collector INTEGER NOT NULL CHECK (visits_per_collector >= 1),
    cutoff_minutes INTEGER NOT NULL CHECK (cutoff_minutes >= 0),
    reminder_minutes INTEGER NOT NULL CHECK (reminder_minutes >= 0),
    service_minutes INTEGER NOT NULL CHECK (service_minutes >= 1),
    horizon_days INTEGER NOT NULL CHECK (horizon_days >= 1)
);

-- Holidays, make-up workdays, closures and special hours.
CREATE TABLE booking_days (
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    day TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday', 'closed', 'custom')),
    windows TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (estate_id, day)
);

-- Every collector of an estate is on duty unless a row here says otherwise.
CREATE TABLE duty (
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    day TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    on_duty BOOLEAN NOT NULL,
    PRIMARY KEY (estate_id, day, user_id)
);

-- Places taken in each slot. A booking takes a place with one conditional
-- UPDATE inside its transaction, so a slot is never oversold.
CREATE TABLE slot_places (
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    starts_at INTEGER NOT NULL,
    taken INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0),
    PRIMARY KEY (estate_id, starts_at)
);

CREATE TABLE bookings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    owner_id INTEGER NOT NULL REFERENCES owners(id),
    phone TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    day TEXT NOT NULL,
    slot_start TEXT NOT NULL,
    slot_end TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    session_at INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'awaiting_call', 'confirmed',
        'scheduled', 'visited', 'owner_absent', 'cancelled', 'rescheduled')),
    pays_cash BOOLEAN NOT NULL DEFAULT FALSE,
    call_first BOOLEAN NOT NULL DEFAULT FALSE,
    note TEXT NOT NULL DEFAULT '',
    booked_by_user INTEGER REFERENCES users(id),
    collector_id INTEGER REFERENCES users(id),
    eta INTEGER,
    route_seq INTEGER,
    call_attempts INTEGER NOT NULL DEFAULT 0,
    visit_result TEXT,
    visit_reason TEXT NOT NULL DEFAULT '',
    rescheduled_from INTEGER REFERENCES bookings(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- A scheduled booking has a collector and an ETA.
    CHECK (status <> 'scheduled' OR (collector_id IS NOT NULL AND eta IS NOT NULL))
);
CREATE INDEX bookings_session ON bookings (estate_id, session_at);
CREATE INDEX bookings_owner ON bookings (owner_id);
CREATE INDEX bookings_phone ON bookings (phone);
CREATE INDEX bookings_status ON bookings (estate_id, status);

-- What a booking is for. A room or space is in at most one open booking.
CREATE TABLE booking_targets (
    booking_id INTEGER NOT NULL REFERENCES bookings(id),
    kind TEXT NOT NULL CHECK (kind IN ('room', 'space')),
    object_id INTEGER NOT NULL,
    open BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (booking_id, kind, object_id)
);
CREATE UNIQUE INDEX booking_targets_open ON booking_targets (kind, object_id) WHERE open;

-- Every transition: who and when.
CREATE TABLE booking_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    booking_id INTEGER NOT NULL REFERENCES bookings(id),
    at INTEGER NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('owner', 'staff', 'system')),
    actor_user INTEGER REFERENCES users(id),
    actor_phone TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX booking_events_booking ON booking_events (booking_id);

-- A dispatch session: one window of one day.
CREATE TABLE dispatch_sessions (
    estate_id INTEGER NOT NULL REFERENCES estates(id),
    session_at INTEGER NOT NULL,
    planned_at INTEGER,
    planned_by INTEGER REFERENCES users(id),
    locked_at INTEGER,
    locked_by INTEGER REFERENCES users(id),
    unassigned TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (estate_id, session_at)
);

-- The estate walking model (routing::estate file format).
CREATE TABLE estate_models (
    estate_id INTEGER PRIMARY KEY REFERENCES estates(id),
    model TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One-time sign-in codes for owners; only a hash of the code is kept.
CREATE TABLE owner_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    client TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at INTEGER
);
CREATE INDEX owner_codes_phone ON owner_codes (phone, created_at);
CREATE INDEX owner_codes_client ON owner_codes (client, created_at);

CREATE TABLE owner_code_failures (
    phone TEXT NOT NULL,
    at INTEGER NOT NULL,
    client TEXT NOT NULL
);
CREATE INDEX owner_code_failures_phone ON owner_code_failures (phone, at);

-- Owners stay signed in on their phone; they can end it.
CREATE TABLE owner_sessions (
    token_hash TEXT PRIMARY KEY,
    phone TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Messages to send (SMS, WeChat template). With no gateway configured they
-- stay here for staff and the demo to read.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    estate_id INTEGER REFERENCES estates(id),
    channel TEXT NOT NULL CHECK (channel IN ('sms', 'wechat')),
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    booking_id INTEGER REFERENCES bookings(id),
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    sent_at INTEGER,
    cancelled_at INTEGER
);
CREATE INDEX outbox_recipient ON outbox (recipient, created_at);
CREATE INDEX outbox_due ON outbox (due_at) WHERE sent_at IS NULL AND cancelled_at IS NULL;
