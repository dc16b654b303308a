-- smsgrid SQLite schema. migrations/ must rebuild exactly this (tests/integration/test_store_sqlite.py).
CREATE TABLE messages (
    message_id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,                 -- outgoing | incoming
    from_number TEXT NOT NULL,
    to_number TEXT NOT NULL,
    body TEXT NOT NULL,
    encoding TEXT NOT NULL,
    segments INTEGER NOT NULL,
    tag TEXT,
    delivery_report INTEGER NOT NULL DEFAULT 0,
    repeatability_request_id TEXT UNIQUE,
    status TEXT NOT NULL,                    -- accepted | sent | delivered | failed | received
    status_code INTEGER,
    report TEXT,                             -- JSON of the delivery report, when one was produced
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
, api_version TEXT, send_options TEXT, attachments TEXT);   -- added by migration 0002 (SQLite keeps ADD COLUMN's text as written)
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX messages_numbers ON messages (from_number, to_number);

-- Pending carrier work. due_at doubles as the lease: claiming pushes it into the future.
CREATE TABLE carrier_jobs (
    message_id TEXT PRIMARY KEY REFERENCES messages (message_id),
    due_at REAL NOT NULL,
    plan TEXT NOT NULL
);
CREATE INDEX carrier_jobs_due ON carrier_jobs (due_at);

CREATE TABLE optouts (
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (sender, recipient)
);

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT,
    published_at REAL NOT NULL,
    item BLOB NOT NULL                       -- rendered Event Grid schema item
);
CREATE INDEX events_event_id ON events (event_id);
CREATE INDEX events_message ON events (message_id);

-- One row per (event, subscription). due_at doubles as the lease while claimed.
CREATE TABLE deliveries (
    delivery_id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq INTEGER NOT NULL REFERENCES events (seq),
    subscription TEXT NOT NULL,
    state TEXT NOT NULL,                     -- pending | delivered | deadlettered
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at REAL NOT NULL,
    claimed INTEGER NOT NULL DEFAULT 0,
    published_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX deliveries_due ON deliveries (subscription, due_at) WHERE state = 'pending';
CREATE INDEX deliveries_event ON deliveries (event_seq);

CREATE TABLE attempts (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (delivery_id),
    attempt INTEGER NOT NULL,
    at REAL NOT NULL,
    status INTEGER,
    outcome TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    error TEXT,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;

CREATE TABLE deadletters (
    deadletter_id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (delivery_id),
    subscription TEXT NOT NULL,
    event_seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    delivery_attempts INTEGER NOT NULL,
    last_outcome TEXT,
    last_status INTEGER,
    publish_time REAL NOT NULL,
    last_attempt_time REAL,
    created_at REAL NOT NULL,
    redelivered_at REAL
);
CREATE INDEX deadletters_created ON deadletters (created_at);

CREATE TABLE subscriptions (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    provisioning_state TEXT NOT NULL,
    validation_code TEXT,
    validation_deadline REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE namespace_resources (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (kind, key)
);

CREATE TABLE namespace_entries (
    subscription TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event BLOB NOT NULL,
    expires_at REAL NOT NULL,
    available_at REAL NOT NULL,
    delivery_count INTEGER NOT NULL,
    lock_token TEXT,
    locked_until REAL NOT NULL,
    first_received_at REAL,
    dead_reason TEXT,
    dead_at REAL,
    PRIMARY KEY (subscription, seq)
);

-- Committed events not yet routed into namespace topics: written in the event's own transaction, removed in the
-- transaction that stores their namespace-topic entries (smsgrid.namespaces.broker, catch_up).
CREATE TABLE namespace_outbox (
    event_seq INTEGER PRIMARY KEY
);

-- Issue 14 (SMPP). A long message taken as several parts: one row per part, its report once it came (JSON), found
-- by any part's reference. Written with the Accepted plan, deleted with the job.
CREATE TABLE carrier_parts (
    reference TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    part INTEGER NOT NULL,
    report TEXT
);
CREATE INDEX carrier_parts_message ON carrier_parts (message_id, part);

-- A single-part message is found by the reference in its plan: indexed, so a pushed receipt never scans the jobs.
CREATE INDEX carrier_jobs_reference ON carrier_jobs (json_extract(plan, '$.reference'));

-- What carriers put on a message's timeline (CarrierNote), committed with what carried it; at most 200 a message.
CREATE TABLE carrier_notes (
    note_id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    at REAL NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX carrier_notes_message ON carrier_notes (message_id, at);
