-- Event Grid namespace topics with pull delivery (smsgrid.namespaces): definitions and queues.
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
