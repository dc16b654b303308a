"""Namespace topics on PostgreSQL with a separate worker (docs/namespace-topics.md, "Durability and scale-out"):
the delivery report a `smsgrid worker` commits reaches the namespace topic served by the API process, read with
the official EventGridConsumerClient."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.communication.sms import SmsClient
from azure.core.credentials import AzureKeyCredential
from azure.eventgrid import EventGridConsumerClient

from smsgrid.testing import SmsgridProcess, start_smsgrid
from tests.acceptance.test_scale_out import WorkerProcess
from tests.postgres_support import PostgresCluster

CONFIG = """
[carrier]
delay_ms = 50

[namespace_topics.sms]
route_sms_events = true
[namespace_topics.sms.subscriptions.reports]
filtersConfiguration = { includedEventTypes = ["Microsoft.Communication.SMSDeliveryReportReceived"] }
"""


@pytest.fixture(scope="module")
def api_and_worker(
    postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SmsgridProcess]:
    root = tmp_path_factory.mktemp("nspg")
    url = postgres_cluster.url(postgres_cluster.create_database("namespaces"))
    config_path = root / "smsgrid.toml"
    config_path.write_text(CONFIG, encoding="utf-8")
    api = start_smsgrid(root / "api", config=CONFIG, args=["--db", url, "--no-dispatch"], throttling=False)
    worker: WorkerProcess | None = None
    try:
        worker = WorkerProcess(root / "worker", ["--db", url, "--config", str(config_path)]).start()
        yield api
    finally:
        if worker is not None:
            worker.stop()
        api.stop()


def test_a_delivery_report_a_worker_commits_is_received_from_the_api_process(api_and_worker: SmsgridProcess) -> None:
    api = api_and_worker
    sms = SmsClient(api.base_url, AzureKeyCredential(api.access_key))
    try:
        [sent] = sms.send(from_="+18005550100", to="+14255550177", message="via pg", enable_delivery_report=True)
    finally:
        sms._sms_service_client.close()
    assert sent.successful
    found: Any = None
    with EventGridConsumerClient(
        api.base_url, AzureKeyCredential(api.access_key), namespace_topic="sms", subscription="reports"
    ) as client:
        for _ in range(6):
            for detail in client.receive(max_events=10, max_wait_time=10):
                client.acknowledge(lock_tokens=[detail.broker_properties.lock_token])
                data = detail.event.data
                if isinstance(data, dict) and data.get("messageId") == sent.message_id:
                    found = detail.event
            if found is not None:
                break
    assert found is not None
    assert found.type == "Microsoft.Communication.SMSDeliveryReportReceived"


BLOCK_ROUTING = """
CREATE FUNCTION block_routing() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$;
CREATE TRIGGER block_routing BEFORE DELETE ON namespace_outbox FOR EACH ROW EXECUTE FUNCTION block_routing();
"""


def test_a_report_whose_worker_died_before_routing_it_is_received_once(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    """Committed by a worker whose routing failed (injected in the database), then SIGKILLed: the API process
    catches up from the outbox while a client receives, and hands the report out exactly once."""
    database = postgres_cluster.create_database("nsoutbox")
    url = postgres_cluster.url(database)
    config_path = tmp_path / "smsgrid.toml"
    config_path.write_text(CONFIG, encoding="utf-8")
    with start_smsgrid(tmp_path / "api", config=CONFIG, args=["--db", url, "--no-dispatch"]) as api:
        postgres_cluster.psql(BLOCK_ROUTING, database)
        worker = WorkerProcess(tmp_path / "worker", ["--db", url, "--config", str(config_path)]).start()
        try:
            sms = SmsClient(api.base_url, AzureKeyCredential(api.access_key))
            try:
                [sent] = sms.send(from_="+18005550100", to="+14255550178", message="kept", enable_delivery_report=True)
            finally:
                sms._sms_service_client.close()
            committed = "SELECT count(*) FROM namespace_outbox o JOIN events e ON e.seq = o.event_seq"
            deadline = time.monotonic() + 30
            while postgres_cluster.psql(committed, database).strip() != "1":
                assert time.monotonic() < deadline, "the worker did not commit the delivery report"
                time.sleep(0.1)
            assert postgres_cluster.psql("SELECT count(*) FROM namespace_entries", database).strip() == "0"
        finally:
            worker.stop(signal.SIGKILL)
        postgres_cluster.psql("DROP TRIGGER block_routing ON namespace_outbox", database)
        got: list[Any] = []
        with EventGridConsumerClient(
            api.base_url, AzureKeyCredential(api.access_key), namespace_topic="sms", subscription="reports"
        ) as client:
            for _ in range(3):
                for detail in client.receive(max_events=10, max_wait_time=10):
                    client.acknowledge(lock_tokens=[detail.broker_properties.lock_token])
                    got.append(detail)
        assert [(d.event.type, d.event.data["messageId"]) for d in got] == [
            ("Microsoft.Communication.SMSDeliveryReportReceived", sent.message_id)
        ]
        assert postgres_cluster.psql("SELECT count(*) FROM namespace_outbox", database).strip() == "0"
