"""Every SQL statement of the PostgreSQL adapter, by name (the SQLite adapter's names where the step is the same).

Several processes share one database, so work is claimed with `FOR UPDATE SKIP LOCKED` (two claimers never wait on
or take the same row) and a lease (due_at pushed forward). Many statements take arrays (`= ANY($1)`) or run through
`executemany`/`fetchmany`, which asyncpg pipelines: a batch costs one round trip, not one per row.
"""

# -- channels of LISTEN/NOTIFY; NOTIFY is transactional, so a listener hears only committed work ----------------------
CHANNEL_CARRIER = "smsgrid_carrier"
CHANNEL_DELIVERIES = "smsgrid_deliveries"
CHANNEL_SUBSCRIPTIONS = "smsgrid_subscriptions"
NOTIFY = "SELECT pg_notify(channel, '') FROM unnest($1::text[]) AS channel"

# -- sending ------------------------------------------------------------------------------------------------------
# One statement per message: insert it and its carrier job, or find the message an earlier request with the same
# repeatability id made (ACS answers that request's id again). Two callers racing on one id both end up here.
ACCEPT_MESSAGE = """
WITH inserted AS (
    INSERT INTO messages (message_id, direction, from_number, to_number, body, encoding, segments, tag,
                          delivery_report, repeatability_request_id, status, status_code, created_at, updated_at,
                          api_version, send_options, attachments)
    VALUES ($1, 'outgoing', $2, $3, $4, $5, $6, $7, $8, $9, 'accepted', NULL, $10, $10, $13, $14, $15)
    ON CONFLICT (repeatability_request_id) DO NOTHING
    RETURNING message_id
), job AS (
    INSERT INTO carrier_jobs (message_id, due_at, plan) SELECT message_id, $11, $12 FROM inserted
)
SELECT $1::text AS requested, message_id, FALSE AS repeated FROM inserted
UNION ALL
SELECT $1::text, message_id, TRUE FROM messages
WHERE repeatability_request_id = $9 AND NOT EXISTS (SELECT 1 FROM inserted)
"""
MESSAGE_BY_REPEATABILITY = "SELECT message_id FROM messages WHERE repeatability_request_id = $1"
INSERT_MESSAGE = """
INSERT INTO messages (message_id, direction, from_number, to_number, body, encoding, segments, tag,
                      delivery_report, repeatability_request_id, status, status_code, created_at, updated_at,
                      api_version, send_options, attachments)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
"""

# -- the carrier ----------------------------------------------------------------------------------------------------
CLAIM_CARRIER_JOBS = """
WITH due AS (
    SELECT message_id FROM carrier_jobs WHERE due_at <= $2 ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE carrier_jobs c SET due_at = $1, claimed_by = $4 FROM due WHERE c.message_id = due.message_id
    RETURNING c.message_id, c.plan
)
SELECT claimed.message_id, claimed.plan, m.message_id IS NOT NULL AS found,
       m.from_number, m.to_number, m.body, m.segments, m.tag, m.delivery_report, m.created_at,
       EXISTS (SELECT 1 FROM optouts o WHERE o.sender = m.from_number AND o.recipient = m.to_number)
FROM claimed LEFT JOIN messages m ON m.message_id = claimed.message_id
ORDER BY claimed.message_id
"""
# A claim whose answer was lost (the connection dropped after its COMMIT) is handed back at once by its token,
# instead of waiting out the lease: the process never saw those rows, so nobody is working on them.
RELEASE_LOST_CARRIER_CLAIM = "UPDATE carrier_jobs SET due_at = $2 WHERE claimed_by = $1"
NEXT_CARRIER_DUE = "SELECT min(due_at) FROM carrier_jobs"
UPDATE_CARRIER_PLAN = "UPDATE carrier_jobs SET due_at = $1, plan = $2, claimed_by = NULL WHERE message_id = $3"
CARRIER_JOB_BY_REFERENCE = """
SELECT c.message_id, c.plan, m.from_number, m.to_number, m.body, m.segments, m.tag, m.delivery_report, m.created_at,
       EXISTS (SELECT 1 FROM optouts o WHERE o.sender = m.from_number AND o.recipient = m.to_number)
FROM carrier_jobs c JOIN messages m ON m.message_id = c.message_id
WHERE c.message_id = coalesce(
    -- a single-part message by its plan's reference (index carrier_jobs_reference), a long one by any part's
    (SELECT message_id FROM carrier_jobs WHERE (plan::jsonb ->> 'reference') = $1 LIMIT 1),
    (SELECT message_id FROM carrier_parts WHERE reference = $1))
"""
INSERT_CARRIER_PART = """
INSERT INTO carrier_parts (reference, message_id, part) VALUES ($1, $2, $3) ON CONFLICT (reference) DO NOTHING
"""
CARRIER_PART_REPORTS = """
SELECT message_id, report FROM carrier_parts WHERE message_id = ANY($1::text[]) ORDER BY message_id, part
"""
# Only a part still without a word, of work still waiting: a duplicate receipt changes nothing.
RECORD_CARRIER_PART = """
UPDATE carrier_parts p SET report = $1 WHERE p.reference = $2 AND p.message_id = $3 AND p.report IS NULL
  AND EXISTS (SELECT 1 FROM carrier_jobs c WHERE c.message_id = p.message_id)
"""
DELETE_CARRIER_PARTS = "DELETE FROM carrier_parts WHERE message_id = ANY($1::text[])"
INSERT_CARRIER_NOTE = "INSERT INTO carrier_notes (message_id, at, text) VALUES ($1, $2, $3)"
# Keep each message's newest notes (by time, then arrival) up to the bound ($2).
TRIM_CARRIER_NOTES = """
DELETE FROM carrier_notes n USING (
    SELECT note_id, row_number() OVER (PARTITION BY message_id ORDER BY at DESC, note_id DESC) AS rank
    FROM carrier_notes WHERE message_id = ANY($1::text[])
) ranked
WHERE n.note_id = ranked.note_id AND ranked.rank > $2
"""
CARRIER_NOTES = "SELECT at, text FROM carrier_notes WHERE message_id = $1 ORDER BY at, note_id"
DELETE_CARRIER_JOBS = "DELETE FROM carrier_jobs WHERE message_id = ANY($1::text[]) RETURNING message_id, plan"
FINISH_MESSAGE = "UPDATE messages SET status = $1, status_code = $2, report = $3, updated_at = $4 WHERE message_id = $5"

# -- events and deliveries ------------------------------------------------------------------------------------------
# The event and one pending delivery per matching subscription, in one statement.
INSERT_EVENT = """
WITH event AS (
    INSERT INTO events (event_id, event_type, subject, message_id, published_at, item)
    VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq
), fanout AS (
    INSERT INTO deliveries (event_seq, subscription, state, due_at, published_at)
    SELECT event.seq, name, 'pending', $5, $5 FROM event, unnest($7::text[]) AS name
), outbox AS (
    -- the namespace topics catch up from here (NamespaceBroker.catch_up)
    INSERT INTO namespace_outbox (event_seq) SELECT seq FROM event
)
SELECT seq FROM event
"""
CLAIM_DELIVERIES = """
WITH due AS (
    SELECT delivery_id FROM deliveries
    WHERE subscription = $2 AND state = 'pending' AND due_at <= $3
    ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE deliveries d SET due_at = $1, claimed = TRUE, claimed_by = $5 FROM due
    WHERE d.delivery_id = due.delivery_id
    RETURNING d.delivery_id, d.event_seq, d.attempts, d.published_at
)
SELECT claimed.delivery_id, claimed.event_seq, claimed.attempts, claimed.published_at, e.item
FROM claimed JOIN events e ON e.seq = claimed.event_seq
-- Fewest attempts first, then oldest: fresh events are not starved behind ones that keep failing.
ORDER BY claimed.attempts, claimed.delivery_id
"""
RELEASE_LOST_DELIVERY_CLAIM = """
UPDATE deliveries SET due_at = $2, claimed = FALSE WHERE claimed_by = $1 AND claimed AND state = 'pending'
"""
NEXT_DELIVERY_DUE = "SELECT min(due_at) FROM deliveries WHERE subscription = $1 AND state = 'pending'"
INSERT_ATTEMPT = """
INSERT INTO attempts (delivery_id, attempt, at, status, outcome, duration_ms, error)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (delivery_id, attempt) DO UPDATE SET at = excluded.at, status = excluded.status,
    outcome = excluded.outcome, duration_ms = excluded.duration_ms, error = excluded.error
"""
# Finishing only touches a delivery still pending: a late answer from a worker whose lease ran out (and whose work
# another worker already finished) changes nothing, and replaying a finish after a lost COMMIT reply is harmless.
# $1 NULL keeps the count (no attempt was made: the TTL ran out before it).
DELIVERED = """
UPDATE deliveries SET state = 'delivered', attempts = coalesce($1, attempts), claimed = FALSE,
    finished_at = $2
WHERE delivery_id = $3 AND state = 'pending'
"""
RETRY = """
UPDATE deliveries SET attempts = coalesce($1, attempts), due_at = $2, claimed = FALSE
WHERE delivery_id = $3 AND state = 'pending'
"""
DEADLETTER = """
WITH dead AS (
    UPDATE deliveries SET state = 'deadlettered', attempts = coalesce($1, attempts), claimed = FALSE,
        finished_at = $2
    WHERE delivery_id = $3 AND state = 'pending'
    RETURNING delivery_id, subscription, event_seq, attempts, published_at
)
INSERT INTO deadletters (delivery_id, subscription, event_seq, reason, delivery_attempts, last_outcome, last_status,
                         publish_time, last_attempt_time, created_at)
SELECT dead.delivery_id, dead.subscription, dead.event_seq, $4, dead.attempts, coalesce($5, last.outcome),
       coalesce($6, last.status), dead.published_at, coalesce($7, last.at), $2
FROM dead LEFT JOIN LATERAL (
    -- Dead-lettered without a new attempt (the TTL ran out first): report the last attempt that was made.
    SELECT outcome, status, at FROM attempts a WHERE a.delivery_id = dead.delivery_id ORDER BY attempt DESC LIMIT 1
) AS last ON TRUE
ON CONFLICT (delivery_id) DO NOTHING
"""
DEADLETTER_FOR_REDELIVERY = """
SELECT event_seq, subscription FROM deadletters WHERE deadletter_id = $1 AND redelivered_at IS NULL FOR UPDATE
"""
REDELIVER = "UPDATE deadletters SET redelivered_at = $1 WHERE deadletter_id = $2"
INSERT_DELIVERY = """
INSERT INTO deliveries (event_seq, subscription, state, due_at, published_at) VALUES ($1, $2, 'pending', $3, $4)
"""
DEADLETTER_ROW = """
SELECT x.deadletter_id, x.delivery_id, x.subscription, x.event_seq, x.reason, x.delivery_attempts, x.last_outcome,
       x.last_status, x.publish_time, x.last_attempt_time, x.created_at, x.redelivered_at, e.event_id, e.item
FROM deadletters x JOIN events e ON e.seq = x.event_seq
"""

# -- opt-outs -------------------------------------------------------------------------------------------------------
OPTOUT_ADD = "INSERT INTO optouts (sender, recipient, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
OPTOUT_REMOVE = "DELETE FROM optouts WHERE sender = $1 AND recipient = $2"
OPTED_OUT_AMONG = "SELECT recipient FROM optouts WHERE sender = $1 AND recipient = ANY($2::text[])"

# -- subscriptions --------------------------------------------------------------------------------------------------
UPSERT_SUBSCRIPTION = """
INSERT INTO subscriptions (name, spec, provisioning_state, validation_code, validation_deadline, created_at,
                           updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, provisioning_state = excluded.provisioning_state,
    validation_code = excluded.validation_code, validation_deadline = excluded.validation_deadline,
    updated_at = excluded.updated_at
"""
SUBSCRIPTION_COLUMNS = (
    "SELECT name, spec, provisioning_state, validation_code, validation_deadline, created_at, updated_at "
    "FROM subscriptions"
)
# Byte order, as SQLite sorts, whatever collation the database was created with.
SUBSCRIPTIONS_BY_NAME = SUBSCRIPTION_COLUMNS + ' ORDER BY name COLLATE "C"'
DELETE_SUBSCRIPTION = "DELETE FROM subscriptions WHERE name = $1"
DROP_PENDING_OF = """
UPDATE deliveries SET state = 'dropped', claimed = FALSE WHERE subscription = $1 AND state = 'pending'
"""

# -- reads for the admin API and UI ---------------------------------------------------------------------------------
MESSAGE_COLUMNS = """
SELECT message_id, direction, from_number, to_number, body, encoding, segments, tag, delivery_report,
       status, status_code, report, created_at, updated_at, api_version, send_options, attachments FROM messages
"""
EVENT_COLUMNS = "SELECT seq, event_id, event_type, subject, message_id, published_at, item FROM events"
DELIVERIES_OF_EVENTS = """
SELECT delivery_id, subscription, state, attempts, due_at, published_at, finished_at, event_seq
FROM deliveries WHERE event_seq = ANY($1::bigint[]) ORDER BY delivery_id
"""
ATTEMPTS_OF_DELIVERIES = """
SELECT attempt, at, status, outcome, duration_ms, error, delivery_id
FROM attempts WHERE delivery_id = ANY($1::bigint[]) ORDER BY delivery_id, attempt
"""
COUNTS = """
SELECT (SELECT count(*) FROM messages) AS messages, (SELECT count(*) FROM events) AS events,
       (SELECT count(*) FROM deliveries WHERE state = 'pending') AS pending_deliveries,
       (SELECT count(*) FROM deadletters WHERE redelivered_at IS NULL) AS deadletters
"""

# -- retention ------------------------------------------------------------------------------------------------------
# One small batch per statement (a short transaction): events published before the cutoff whose every delivery
# finished before it, with their deliveries, attempts and dead letters; then messages with nothing left pending.
PURGE_EVENTS = """
WITH doomed AS (
    SELECT e.seq FROM events e
    WHERE e.published_at < $1
      -- seq follows publish time: stop at the first recent event instead of scanning the whole table every sweep
      AND e.seq < coalesce((SELECT seq FROM events WHERE published_at >= $1 ORDER BY seq LIMIT 1), 9223372036854775807)
      AND NOT EXISTS (
        SELECT 1 FROM deliveries d
        WHERE d.event_seq = e.seq AND (d.state = 'pending' OR d.finished_at >= $1))
      -- not yet routed into the namespace topics (namespace_outbox): kept until it is
      AND NOT EXISTS (SELECT 1 FROM namespace_outbox o WHERE o.event_seq = e.seq)
    ORDER BY e.seq LIMIT $2 FOR UPDATE SKIP LOCKED
), gone_attempts AS (
    DELETE FROM attempts a USING deliveries d, doomed
    WHERE d.event_seq = doomed.seq AND a.delivery_id = d.delivery_id
), gone_deadletters AS (
    DELETE FROM deadletters x USING doomed WHERE x.event_seq = doomed.seq
), gone_deliveries AS (
    DELETE FROM deliveries d USING doomed WHERE d.event_seq = doomed.seq
)
DELETE FROM events e USING doomed WHERE e.seq = doomed.seq
"""
PURGE_MESSAGES = """
WITH doomed AS (
    SELECT m.message_id FROM messages m
    WHERE m.created_at < $1 AND m.updated_at < $1
      AND NOT EXISTS (SELECT 1 FROM carrier_jobs c WHERE c.message_id = m.message_id)
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = m.message_id)
    ORDER BY m.created_at LIMIT $2 FOR UPDATE SKIP LOCKED
), gone_notes AS (
    DELETE FROM carrier_notes n USING doomed WHERE n.message_id = doomed.message_id
)
DELETE FROM messages m USING doomed WHERE m.message_id = doomed.message_id
"""
LAST_ATTEMPTS = """
SELECT DISTINCT ON (delivery_id) delivery_id, attempt, at, status, outcome, duration_ms, error
FROM attempts WHERE delivery_id = ANY($1::bigint[]) ORDER BY delivery_id, attempt DESC
"""
