-- Event Grid namespace topics with pull delivery (smsgrid.namespaces): definitions and queues.
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
