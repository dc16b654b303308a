"""Namespace topics on PostgreSQL with a separate worker (docs/namespace-topics.md, "Durability and scale-out"):
the delivery report a `smsgrid worker` commits reaches the namespace topic served by the API process, read with
the official EventGridConsumerClient."""

from __future__ import annotations

from collections.abc import Iterator
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
