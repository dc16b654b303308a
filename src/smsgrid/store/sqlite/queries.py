"""Every SQL statement of the SQLite adapter, by name. The PostgreSQL adapter has the same names."""

INSERT_MESSAGE = """
INSERT INTO messages (message_id, direction, from_number, to_number, body, encoding, segments, tag,
                      delivery_report, repeatability_request_id, status, status_code, created_at, updated_at,
                      api_version, send_options, attachments)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# A repeated repeatabilityRequestId inserts nothing; then the first message is looked up (the rare case).
INSERT_MESSAGE_ONCE = INSERT_MESSAGE.rstrip() + "\nON CONFLICT (repeatability_request_id) DO NOTHING\n"
MESSAGE_BY_REPEATABILITY = "SELECT message_id FROM messages WHERE repeatability_request_id = ?"
INSERT_CARRIER_JOB = "INSERT INTO carrier_jobs (message_id, due_at, plan) VALUES (?, ?, ?)"
CLAIM_CARRIER_JOBS = """
UPDATE carrier_jobs SET due_at = ?
WHERE message_id IN (SELECT message_id FROM carrier_jobs WHERE due_at <= ? ORDER BY due_at LIMIT ?)
RETURNING message_id, plan
"""
CARRIER_JOB_MESSAGE = """
SELECT m.from_number, m.to_number, m.body, m.segments, m.tag, m.delivery_report, m.created_at,
       EXISTS (SELECT 1 FROM optouts o WHERE o.sender = m.from_number AND o.recipient = m.to_number)
FROM messages m WHERE m.message_id = ?
"""
NEXT_CARRIER_DUE = "SELECT min(due_at) FROM carrier_jobs"
DELETE_CARRIER_JOB = "DELETE FROM carrier_jobs WHERE message_id = ?"
DELETE_CARRIER_JOB_RETURNING_PLAN = "DELETE FROM carrier_jobs WHERE message_id = ? RETURNING plan"
UPDATE_CARRIER_PLAN = "UPDATE carrier_jobs SET due_at = ?, plan = ? WHERE message_id = ?"
# A single-part message by its plan's reference (index carrier_jobs_reference), a long one by any part's.
CARRIER_JOB_BY_REFERENCE = """
SELECT message_id, plan FROM carrier_jobs WHERE json_extract(plan, '$.reference') = ?1
UNION ALL
SELECT c.message_id, c.plan FROM carrier_parts p JOIN carrier_jobs c ON c.message_id = p.message_id
WHERE p.reference = ?1
LIMIT 1
"""
INSERT_CARRIER_PART = "INSERT OR IGNORE INTO carrier_parts (reference, message_id, part) VALUES (?, ?, ?)"
CARRIER_PART_REPORTS = "SELECT report FROM carrier_parts WHERE message_id = ? ORDER BY part"
# Only a part still without a word, of work still waiting: a duplicate receipt changes nothing.
RECORD_CARRIER_PART = """
UPDATE carrier_parts SET report = ? WHERE reference = ? AND message_id = ? AND report IS NULL
  AND EXISTS (SELECT 1 FROM carrier_jobs c WHERE c.message_id = carrier_parts.message_id)
"""
DELETE_CARRIER_PARTS = "DELETE FROM carrier_parts WHERE message_id = ?"
INSERT_CARRIER_NOTE = "INSERT INTO carrier_notes (message_id, at, text) VALUES (?, ?, ?)"
# Keep a message's newest notes (by time, then arrival) up to the bound; run only when a write went past it.
COUNT_CARRIER_NOTES = "SELECT count(*) FROM carrier_notes WHERE message_id = ?"
TRIM_CARRIER_NOTES = """
DELETE FROM carrier_notes WHERE message_id = ?1 AND note_id NOT IN (
    SELECT note_id FROM carrier_notes WHERE message_id = ?1 ORDER BY at DESC, note_id DESC LIMIT ?2)
"""
CARRIER_NOTES = "SELECT at, text FROM carrier_notes WHERE message_id = ? ORDER BY at, note_id"
FINISH_MESSAGE = "UPDATE messages SET status = ?, status_code = ?, report = ?, updated_at = ? WHERE message_id = ?"

INSERT_EVENT = """
INSERT INTO events (event_id, event_type, subject, message_id, published_at, item) VALUES (?, ?, ?, ?, ?, ?)
"""
INSERT_DELIVERY = """
INSERT INTO deliveries (event_seq, subscription, state, due_at, published_at) VALUES (?, ?, 'pending', ?, ?)
"""
CLAIM_DELIVERIES = """
UPDATE deliveries SET due_at = ?, claimed = 1
WHERE delivery_id IN (
    SELECT delivery_id FROM deliveries
    WHERE subscription = ? AND state = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ?)
RETURNING delivery_id, event_seq, attempts, published_at
"""
EVENT_ITEMS = "SELECT seq, item FROM events WHERE seq IN ({marks})"
NEXT_DELIVERY_DUE = "SELECT min(due_at) FROM deliveries WHERE subscription = ? AND state = 'pending'"
RELEASE_CLAIMS = "UPDATE deliveries SET due_at = ?, claimed = 0 WHERE state = 'pending' AND claimed = 1"
# A job marked "submitting" whose answer never came was cut off by the stop: due at once, so its unknown outcome
# is decided now instead of after the lease its mark carried.
RELEASE_CARRIER_CLAIMS = """
UPDATE carrier_jobs SET due_at = CASE
    WHEN json_extract(plan, '$.submitting_since') IS NOT NULL AND json_extract(plan, '$.reference') IS NULL
    THEN json_extract(plan, '$.submitting_since') ELSE json_extract(plan, '$.due_at') END
WHERE due_at > json_extract(plan, '$.due_at')
   OR (json_extract(plan, '$.submitting_since') IS NOT NULL AND json_extract(plan, '$.reference') IS NULL)
"""
DELIVERED = (
    "UPDATE deliveries SET state = 'delivered', attempts = ?, claimed = 0, finished_at = ? WHERE delivery_id = ?"
)
RETRY = "UPDATE deliveries SET attempts = ?, due_at = ?, claimed = 0 WHERE delivery_id = ?"
DEADLETTERED = (
    "UPDATE deliveries SET state = 'deadlettered', attempts = ?, claimed = 0, finished_at = ? WHERE delivery_id = ?"
)
INSERT_ATTEMPT = """
INSERT OR REPLACE INTO attempts (delivery_id, attempt, at, status, outcome, duration_ms, error)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
INSERT_DEADLETTER = """
INSERT INTO deadletters (delivery_id, subscription, event_seq, reason, delivery_attempts, last_outcome, last_status,
                         publish_time, last_attempt_time, created_at)
SELECT d.delivery_id, d.subscription, d.event_seq, ?, ?, coalesce(?, last.outcome), coalesce(?, last.status),
       d.published_at, coalesce(?, last.at), ?
FROM deliveries d
-- Dead-lettered without a new attempt (the TTL ran out first): report the last attempt that was made.
LEFT JOIN (SELECT outcome, status, at FROM attempts WHERE delivery_id = ? ORDER BY attempt DESC LIMIT 1) AS last
WHERE d.delivery_id = ?
"""
LAST_ATTEMPT = "SELECT attempt, at, status, outcome, duration_ms, error FROM attempts WHERE delivery_id = ? ORDER BY attempt DESC LIMIT 1"
DEADLETTER_ROW = """
SELECT x.deadletter_id, x.delivery_id, x.subscription, x.event_seq, x.reason, x.delivery_attempts, x.last_outcome,
       x.last_status, x.publish_time, x.last_attempt_time, x.created_at, x.redelivered_at, e.event_id, e.item
FROM deadletters x JOIN events e ON e.seq = x.event_seq
"""
REDELIVER = "UPDATE deadletters SET redelivered_at = ? WHERE deadletter_id = ?"

OPTOUT_ADD = "INSERT OR IGNORE INTO optouts (sender, recipient, created_at) VALUES (?, ?, ?)"
OPTOUT_REMOVE = "DELETE FROM optouts WHERE sender = ? AND recipient = ?"
OPTOUT_CHECK = "SELECT 1 FROM optouts WHERE sender = ? AND recipient = ?"

UPSERT_SUBSCRIPTION = """
INSERT INTO subscriptions (name, spec, provisioning_state, validation_code, validation_deadline, created_at,
                           updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, provisioning_state = excluded.provisioning_state,
    validation_code = excluded.validation_code, validation_deadline = excluded.validation_deadline,
    updated_at = excluded.updated_at
"""
SUBSCRIPTION_COLUMNS = (
    "SELECT name, spec, provisioning_state, validation_code, validation_deadline, created_at, updated_at "
    "FROM subscriptions"
)
DELETE_SUBSCRIPTION = "DELETE FROM subscriptions WHERE name = ?"
DROP_PENDING_OF = "UPDATE deliveries SET state = 'dropped', claimed = 0 WHERE subscription = ? AND state = 'pending'"

MESSAGE_COLUMNS = """
SELECT message_id, direction, from_number, to_number, body, encoding, segments, tag, delivery_report,
       status, status_code, report, created_at, updated_at, api_version, send_options, attachments FROM messages
"""
EVENT_COLUMNS = "SELECT seq, event_id, event_type, subject, message_id, published_at, item FROM events"
# {marks}: one "?" per event seq / delivery id (a message or event has a handful).
DELIVERIES_OF_EVENTS = """
SELECT delivery_id, subscription, state, attempts, due_at, published_at, finished_at, event_seq
FROM deliveries WHERE event_seq IN ({marks}) ORDER BY delivery_id
"""
ATTEMPTS_OF_DELIVERIES = """
SELECT attempt, at, status, outcome, duration_ms, error, delivery_id
FROM attempts WHERE delivery_id IN ({marks}) ORDER BY delivery_id, attempt
"""
COUNTS = """
SELECT (SELECT count(*) FROM messages) AS messages, (SELECT count(*) FROM events) AS events,
       (SELECT count(*) FROM deliveries WHERE state = 'pending') AS pending_deliveries,
       (SELECT count(*) FROM deadletters WHERE redelivered_at IS NULL) AS deadletters
"""

# Retention (store/retention.py): small batches of finished rows older than the cutoff.
PURGEABLE_EVENTS = """
SELECT e.seq FROM events e
WHERE e.published_at < ?
  -- seq follows publish time: stop at the first recent event instead of scanning the whole table every sweep
  AND e.seq < coalesce((SELECT seq FROM events WHERE published_at >= ? ORDER BY seq LIMIT 1), 9223372036854775807)
  AND NOT EXISTS (
    SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND (d.state = 'pending' OR d.finished_at >= ?))
  -- not yet routed into the namespace topics (namespace_outbox): kept until it is
  AND NOT EXISTS (SELECT 1 FROM namespace_outbox o WHERE o.event_seq = e.seq)
ORDER BY e.seq LIMIT ?
"""
PURGE_EVENTS = (
    "DELETE FROM attempts WHERE delivery_id IN (SELECT delivery_id FROM deliveries WHERE event_seq IN ({marks}))",
    "DELETE FROM deadletters WHERE event_seq IN ({marks})",
    "DELETE FROM deliveries WHERE event_seq IN ({marks})",
    "DELETE FROM events WHERE seq IN ({marks})",
)
PURGEABLE_MESSAGES = """
SELECT m.message_id FROM messages m
WHERE m.created_at < ? AND m.updated_at < ?
  AND NOT EXISTS (SELECT 1 FROM carrier_jobs c WHERE c.message_id = m.message_id)
  AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = m.message_id)
ORDER BY m.created_at LIMIT ?
"""
PURGE_MESSAGES = (
    "DELETE FROM carrier_notes WHERE message_id IN ({marks})",
    "DELETE FROM messages WHERE message_id IN ({marks})",
)
