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
