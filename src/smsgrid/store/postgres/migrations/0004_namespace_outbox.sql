-- Committed events not yet routed into namespace topics: written in the event's own transaction, removed in the
-- transaction that stores their namespace-topic entries (smsgrid.namespaces.broker, catch_up).
CREATE TABLE namespace_outbox (
    event_seq BIGINT PRIMARY KEY
);
