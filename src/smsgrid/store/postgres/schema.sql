-- smsgrid PostgreSQL schema. migrations/ must rebuild exactly this (tests/integration/test_store_contract.py).
-- The columns are those of the SQLite schema (store/rows.py reads both). No FOREIGN KEY constraints, as in SQLite
-- (which runs with foreign_keys=OFF): the adapter writes children after parents, and retention deletes them first.
CREATE TABLE messages (
    message_id TEXT PRIMARY KEY,
    direction TEXT NOT NULL,                 -- outgoing | incoming
    from_number TEXT NOT NULL,
    to_number TEXT NOT NULL,
    body TEXT NOT NULL,
    encoding TEXT NOT NULL,
    segments INTEGER NOT NULL,
    tag TEXT,
    delivery_report BOOLEAN NOT NULL DEFAULT FALSE,
    repeatability_request_id TEXT UNIQUE,
    status TEXT NOT NULL,                    -- accepted | sent | delivered | failed | received
    status_code INTEGER,
    report TEXT,                             -- JSON of the delivery report, when one was produced
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    api_version TEXT,                        -- the ACS api-version of the send (migration 0002)
    send_options TEXT,                       -- JSON: reportTimeoutSeconds, messagingConnectPartner
    attachments TEXT                         -- JSON: an MMS's [{mimeType, content (base64)}]
);
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX messages_numbers ON messages (from_number, to_number);

-- Pending carrier work. due_at doubles as the lease: claiming pushes it into the future (FOR UPDATE SKIP LOCKED),
-- and a dead worker's claim becomes due again when its lease runs out. claimed_by: the process that claimed it.
CREATE TABLE carrier_jobs (
    message_id TEXT PRIMARY KEY,
    due_at DOUBLE PRECISION NOT NULL,
    plan TEXT NOT NULL,
    claimed_by TEXT
);
CREATE INDEX carrier_jobs_due ON carrier_jobs (due_at);

CREATE TABLE optouts (
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (sender, recipient)
);

CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT,
    published_at DOUBLE PRECISION NOT NULL,
    item BYTEA NOT NULL                      -- rendered Event Grid schema item
);
CREATE INDEX events_event_id ON events (event_id);
CREATE INDEX events_message ON events (message_id);

-- One row per (event, subscription). due_at doubles as the lease while claimed (claimed = TRUE); claimed_by:
-- the process that claimed it last (kept after the finish: who delivered it).
CREATE TABLE deliveries (
    delivery_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_seq BIGINT NOT NULL,
    subscription TEXT NOT NULL,
    state TEXT NOT NULL,                     -- pending | delivered | deadlettered | dropped
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at DOUBLE PRECISION NOT NULL,
    claimed BOOLEAN NOT NULL DEFAULT FALSE,
    claimed_by TEXT,
    published_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION
);
CREATE INDEX deliveries_due ON deliveries (subscription, due_at) WHERE state = 'pending';
CREATE INDEX deliveries_event ON deliveries (event_seq);

CREATE TABLE attempts (
    delivery_id BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    status INTEGER,
    outcome TEXT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    error TEXT,
    PRIMARY KEY (delivery_id, attempt)
);

CREATE TABLE deadletters (
    deadletter_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id BIGINT NOT NULL UNIQUE,      -- a delivery dead-letters once (redelivery makes a new delivery)
    subscription TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    reason TEXT NOT NULL,
    delivery_attempts INTEGER NOT NULL,
    last_outcome TEXT,
    last_status INTEGER,
    publish_time DOUBLE PRECISION NOT NULL,
    last_attempt_time DOUBLE PRECISION,
    created_at DOUBLE PRECISION NOT NULL,
    redelivered_at DOUBLE PRECISION
);
CREATE INDEX deadletters_created ON deadletters (created_at);
CREATE INDEX deadletters_event ON deadletters (event_seq);

CREATE TABLE subscriptions (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    provisioning_state TEXT NOT NULL,
    validation_code TEXT,
    validation_deadline DOUBLE PRECISION,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE namespace_resources (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (kind, key)
);

CREATE TABLE namespace_entries (
    subscription TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event BYTEA NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    available_at DOUBLE PRECISION NOT NULL,
    delivery_count INTEGER NOT NULL,
    lock_token TEXT,
    locked_until DOUBLE PRECISION NOT NULL,
    first_received_at DOUBLE PRECISION,
    dead_reason TEXT,
    dead_at DOUBLE PRECISION,
    PRIMARY KEY (subscription, seq)
);

-- Committed events not yet routed into namespace topics: written in the event's own transaction, removed in the
-- transaction that stores their namespace-topic entries (smsgrid.namespaces.broker, catch_up).
CREATE TABLE namespace_outbox (
    event_seq BIGINT PRIMARY KEY
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
CREATE INDEX carrier_jobs_reference ON carrier_jobs ((plan::jsonb ->> 'reference'));

-- What carriers put on a message's timeline (CarrierNote), committed with what carried it; at most 200 a message.
CREATE TABLE carrier_notes (
    note_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX carrier_notes_message ON carrier_notes (message_id, at);
