"""Accepted work is never lost on its way into a namespace topic (issue 15 item 1, docs/namespace-topics.md,
"Durability"): an SMS event committed while routing it into the topic fails stays in the store's outbox, and
after a SIGKILL and a restart the official `EventGridConsumerClient` receives it exactly once.

The failure is injected in the real database, not in smsgrid: a SQLite trigger refuses to empty the outbox, as a
full disk or a lost connection would refuse the routing transaction.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from azure.core.credentials import AzureKeyCredential
from azure.eventgrid import EventGridConsumerClient

from smsgrid.testing import SmsgridProcess, start_smsgrid
from smsgrid.testing.plugin import inbound

CONFIG = """
[namespace_topics.sms]
route_sms_events = true
[namespace_topics.sms.subscriptions.reader]
"""

BLOCK = "CREATE TRIGGER block_routing BEFORE DELETE ON namespace_outbox BEGIN SELECT RAISE(ABORT, 'injected'); END"


def sql(process: SmsgridProcess, statement: str) -> list[Any]:
    conn = sqlite3.connect(process.data_dir / "smsgrid.db", isolation_level=None, timeout=10)
    try:
        return conn.execute(statement).fetchall()
    finally:
        conn.close()


def receive_all(process: SmsgridProcess, wait: int) -> list[Any]:
    with EventGridConsumerClient(
        process.base_url, AzureKeyCredential(process.access_key), namespace_topic="sms", subscription="reader"
    ) as client:
        got = list(client.receive(max_events=50, max_wait_time=wait))
        if got:
            client.acknowledge(lock_tokens=[d.broker_properties.lock_token for d in got])
        return got


def test_an_event_committed_but_not_routed_arrives_once_after_sigkill(tmp_path: Path) -> None:
    with start_smsgrid(tmp_path / "durable", config=CONFIG) as process:
        sql(process, BLOCK)
        message_id = inbound(process, "+14255550142", "+18005550100", "kept")
        # Committed (the API answered) but not in the topic: routing it failed, the outbox still holds it.
        assert sql(process, "SELECT count(*) FROM namespace_entries") == [(0,)]
        assert sql(process, "SELECT count(*) FROM namespace_outbox") == [(1,)]
        process.kill()
        sql(process, "DROP TRIGGER block_routing")
        process.start()
        got = receive_all(process, wait=10)
        assert [(d.event.type, d.event.data["messageId"]) for d in got] == [
            ("Microsoft.Communication.SMSReceived", message_id)
        ]
        assert got[0].broker_properties.delivery_count == 1
        assert sql(process, "SELECT count(*) FROM namespace_outbox") == [(0,)]
        # Exactly once: neither the restart nor a second one routes it again.
        process.restart()
        assert receive_all(process, wait=10) == []


def test_a_failed_catch_up_is_retried_by_the_next_receive(tmp_path: Path) -> None:
    with start_smsgrid(tmp_path / "retry", config=CONFIG) as process:
        sql(process, BLOCK)
        ids = [inbound(process, "+14255550142", "+18005550100", f"n{n}") for n in range(3)]
        assert sql(process, "SELECT count(*) FROM namespace_entries") == [(0,)]
        sql(process, "DROP TRIGGER block_routing")
        # No restart: the receive itself catches up.
        got = receive_all(process, wait=10)
        assert sorted(d.event.data["messageId"] for d in got) == sorted(ids)
