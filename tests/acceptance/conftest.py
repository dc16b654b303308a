"""Fixtures of the SMS acceptance tests: one real smsgrid per test module, with the carrier rules of
`tests.support_sms.SMS_CONFIG`, a subscribed webhook sink and official SDK clients.

A module shares its server because starting one costs a process; the tests stay independent by using their own
handset numbers and by looking only at their own message ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.communication.sms import SmsClient
from azure.core.credentials import AzureKeyCredential

from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid
from smsgrid.testing.plugin import subscribe
from tests.support_sms import SMS_CONFIG


@pytest.fixture(scope="module")
def sms_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    process = start_smsgrid(tmp_path_factory.mktemp("smsgrid"), config=SMS_CONFIG)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def sms_sink(sms_server: SmsgridProcess) -> Iterator[WebhookSink]:
    """A webhook sink subscribed to every event of `sms_server` (Event Grid schema)."""
    with WebhookSink() as sink:
        subscribe(sms_server, "sms-tests", sink.url)
        yield sink


@pytest.fixture(scope="module")
def tls_client(sms_server: SmsgridProcess) -> Iterator[Any]:
    """The official sync SmsClient from the connection string: HTTPS with smsgrid's self-signed certificate."""
    client = SmsClient.from_connection_string(sms_server.connection_string, connection_verify=str(sms_server.cert_path))
    try:
        yield client
    finally:
        # SmsClient 1.1.0 has no close(); close its pipeline so the connection ends before the server stops.
        client._sms_service_client.close()


@pytest.fixture(scope="module")
def http_client(sms_server: SmsgridProcess) -> Iterator[Any]:
    """The official sync SmsClient over plain HTTP, built from the URL and an AzureKeyCredential."""
    client = SmsClient(sms_server.base_url, AzureKeyCredential(sms_server.access_key))
    try:
        yield client
    finally:
        client._sms_service_client.close()
