"""Scale-out on PostgreSQL: 2 `smsgrid serve --no-dispatch` + 2 `smsgrid worker` processes on one database.

The official SmsClient sends N messages with delivery reports through both API processes; a real webhook receiver,
subscribed through one API process, must get every report — once each while nothing crashes; with none lost when a
worker is SIGKILLed mid-run (duplicates at most the deliveries that worker had leased); with none lost when
PostgreSQL restarts mid-run (the API answers 503 meanwhile and the SDK retries).

N is `SMSGRID_SCALE_SENDS` (default 2,000 so CI stays quick; the issue's figure is 10,000:
`SMSGRID_SCALE_SENDS=10000 pytest tests/acceptance/test_scale_out.py`). The crash and restart phases send N/2 each.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from smsgrid.testing import SmsgridProcess, WebhookSink
from smsgrid.testing.plugin import subscribe
from smsgrid.testing.process import start_smsgrid
from smsgrid.testing.webhook_sink import ReceivedRequest
from tests.postgres_support import PostgresCluster

SENDS = int(os.environ.get("SMSGRID_SCALE_SENDS", "2000"))
RECIPIENTS_PER_SEND = 5  # one SDK call sends to several recipients, as ACS allows (up to 100)
SENDER_THREADS = 8
REPORT = "Microsoft.Communication.SMSDeliveryReportReceived"
# A short carrier delay keeps the run quick; the delivery timeout is generous so a busy machine causes no retries
# (and so no duplicates) — the lease a worker takes on deliveries is this timeout + 30 s (delivery/engine.py).
CONFIG = """
[carrier]
delay_ms = 100

[delivery]
timeout_seconds = 5
"""
DELIVERY_LEASE_SECONDS = 5 + 30
WORKER_READY_SECONDS = 30.0


@dataclass
class WorkerProcess:
    """A real `smsgrid worker` subprocess (no HTTP: ready when it says so in its log)."""

    data_dir: Path
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "worker.log"

    @property
    def worker_id(self) -> str:
        """What the PostgreSQL store writes into the rows this process claims (claimed_by = "<this>#<claim>")."""
        assert self.proc is not None
        return f"{socket.gethostname()}:{self.proc.pid}"

    def start(self) -> WorkerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "smsgrid", "worker", "--data-dir", str(self.data_dir), *self.args]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )
        deadline = time.monotonic() + WORKER_READY_SECONDS
        while "smsgrid worker is ready" not in self.log():
            if self.proc.poll() is not None:
                raise RuntimeError(f"smsgrid worker exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"smsgrid worker was not ready within {WORKER_READY_SECONDS} s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=20)


@dataclass
class Topology:
    cluster: PostgresCluster
    database: str
    apis: list[SmsgridProcess]
    workers: list[WorkerProcess]
    sink: WebhookSink
    worker_args: list[str]
    root: Path
    started: list[WorkerProcess] = field(default_factory=list)

    def sql(self, query: str) -> str:
        return self.cluster.psql(query, self.database)

    def add_worker(self, name: str) -> WorkerProcess:
        worker = WorkerProcess(self.root / name, self.worker_args).start()
        self.started.append(worker)
        return worker


@pytest.fixture(scope="module")
def topology(postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    root = tmp_path_factory.mktemp("scale")
    database = postgres_cluster.create_database("scale")
    url = postgres_cluster.url(database)
    config_path = root / "smsgrid.toml"
    config_path.write_text(CONFIG, encoding="utf-8")
    worker_args = ["--db", url, "--config", str(config_path)]
    apis: list[SmsgridProcess] = []
    with WebhookSink() as sink:
        topology = Topology(postgres_cluster, database, apis, [], sink, worker_args, root)
        try:
            for n in (1, 2):
                apis.append(start_smsgrid(root / f"api{n}", config=CONFIG, args=["--db", url, "--no-dispatch"]))
            topology.workers.extend([topology.add_worker("worker1"), topology.add_worker("worker2")])
            # Subscribed through one API process after the workers started: they learn of it by NOTIFY alone.
            answer = subscribe(apis[0], "receiver", sink.url)
            assert answer["properties"]["provisioningState"] == "Succeeded"
            yield topology
        finally:
            for worker in topology.started:
                worker.stop()
            for api in apis:
                api.stop()


def numbers(phase: int, count: int) -> list[str]:
    return [f"+1425{phase}{n:06d}" for n in range(count)]


class Sender:
    """Sends with the official SmsClient from several threads, round-robin over the API processes."""

    def __init__(self, apis: list[SmsgridProcess]) -> None:
        self.apis = apis
        self._local = threading.local()
        self._clients: list[Any] = []
        self._lock = threading.Lock()
        self.accepted: dict[str, str] = {}  # message id -> recipient
        self.retried_after_error = 0

    def _client(self, index: int) -> Any:
        from azure.communication.sms import SmsClient

        clients: dict[int, Any] = self._local.__dict__.setdefault("clients", {})
        if index not in clients:
            api = self.apis[index]
            clients[index] = SmsClient.from_connection_string(
                api.connection_string, connection_verify=str(api.cert_path)
            )
            with self._lock:
                self._clients.append(clients[index])
        return clients[index]

    def _send(self, index: int, recipients: list[str], tag: str) -> None:
        for attempt in range(20):
            try:
                results = self._client(index % len(self.apis)).send(
                    from_="+18005550100", to=recipients, message=f"scale {tag}", enable_delivery_report=True, tag=tag
                )
                break
            except (HttpResponseError, ServiceRequestError, ServiceResponseError):
                # The SDK already retried 503s by itself (Retry-After); a client also tries again later.
                with self._lock:
                    self.retried_after_error += 1
                time.sleep(0.5 * (attempt + 1))
        else:
            raise AssertionError(f"{recipients} could not be sent")
        with self._lock:
            for r in results:
                assert r.successful, r
                assert r.http_status_code == 202, r
                self.accepted[r.message_id] = r.to

    def send(self, recipients: list[str], tag: str) -> None:
        chunks = [recipients[i : i + RECIPIENTS_PER_SEND] for i in range(0, len(recipients), RECIPIENTS_PER_SEND)]
        with ThreadPoolExecutor(SENDER_THREADS) as pool:
            for future in [pool.submit(self._send, n, chunk, tag) for n, chunk in enumerate(chunks)]:
                future.result()

    def close(self) -> None:
        for client in self._clients:
            client._sms_service_client.close()


def reports(sink: WebhookSink, tag: str) -> Counter[str]:
    """How many times each message's delivery report (of this phase) reached the receiver."""
    seen: Counter[str] = Counter()
    for item in sink.iter_items():
        if item.get("eventType") == REPORT and item["data"].get("tag") == tag:
            seen[item["data"]["messageId"]] += 1
    return seen


def wait_for_reports(topology: Topology, ids: set[str], tag: str, timeout: float) -> Counter[str]:
    found: list[Counter[str]] = []

    def all_arrived(sink: WebhookSink) -> bool:
        seen = reports(sink, tag)
        found[:] = [seen]
        return ids <= set(seen)

    try:
        topology.sink.wait_for(all_arrived, timeout=timeout)
    except TimeoutError:
        missing = ids - set(found[0]) if found else ids
        logs = "\n".join(w.log()[-3000:] for w in topology.started)
        raise AssertionError(f"{len(missing)} of {len(ids)} reports never arrived; workers said:\n{logs}") from None
    return found[0]


def test_every_report_arrives_exactly_once_through_two_apis_and_two_workers(topology: Topology) -> None:
    sender = Sender(topology.apis)
    try:
        sender.send(numbers(1, SENDS), tag="steady")
    finally:
        sender.close()
    assert len(sender.accepted) == SENDS
    seen = wait_for_reports(topology, set(sender.accepted), "steady", timeout=60 + SENDS / 20)
    assert set(seen) == set(sender.accepted)
    assert [n for n in seen.values() if n > 1] == []  # nothing crashed: no report twice
    # Both workers delivered a share: the work is spread by SKIP LOCKED claims, not pinned to one process.
    deliverers = topology.sql(
        "SELECT count(DISTINCT split_part(claimed_by, '#', 1)) FROM deliveries WHERE state = 'delivered'"
    )
    assert deliverers == "2"
    assert all(w.proc is not None and w.proc.poll() is None for w in topology.workers)


def _slowly_ok(request: ReceivedRequest) -> int:
    time.sleep(0.05)
    return 200


def test_a_killed_worker_loses_nothing_and_repeats_at_most_its_leased_deliveries(topology: Topology) -> None:
    count = max(SENDS // 2, 100)
    sender = Sender(topology.apis)
    victim = topology.workers[1]
    in_flight: list[int] = []

    leased = f"SELECT count(*) FROM deliveries WHERE claimed AND claimed_by LIKE '{victim.worker_id}#%'"

    def kill_midway() -> None:
        deadline = time.monotonic() + 60
        while len(reports(topology.sink, "crash")) < count // 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        while int(topology.sql(leased)) == 0 and time.monotonic() < deadline:  # strike while it holds work
            time.sleep(0.01)
        victim.stop(signal.SIGKILL)
        # What the dead worker had leased and not finished: at most these can be delivered twice.
        in_flight.append(int(topology.sql(leased)))

    # A receiver that takes 50 ms per request keeps deliveries in flight, so the kill finds leased work.
    topology.sink.responder = _slowly_ok
    killer = threading.Thread(target=kill_midway)
    killer.start()
    try:
        sender.send(numbers(2, count), tag="crash")
    finally:
        sender.close()
        killer.join()
        topology.sink.responder = None
    assert victim.proc is not None
    assert victim.proc.returncode == -signal.SIGKILL
    seen = wait_for_reports(topology, set(sender.accepted), "crash", timeout=DELIVERY_LEASE_SECONDS + 60 + count / 20)
    assert set(seen) == set(sender.accepted)  # none lost: the survivor took the dead worker's leases over
    duplicates = sum(n - 1 for n in seen.values())
    assert in_flight[0] > 0  # the kill did catch the worker with work leased
    assert duplicates <= in_flight[0], (duplicates, in_flight)
    # A replacement joins for what follows.
    topology.workers[1] = topology.add_worker("worker3")


def test_a_postgres_restart_mid_run_loses_nothing(topology: Topology) -> None:
    count = max(SENDS // 2, 100)
    sender = Sender(topology.apis)
    restarted = threading.Event()

    def restart_midway() -> None:
        deadline = time.monotonic() + 60
        while len(sender.accepted) < count // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        topology.cluster.restart()
        restarted.set()

    bouncer = threading.Thread(target=restart_midway)
    bouncer.start()
    try:
        sender.send(numbers(3, count), tag="restart")
    finally:
        sender.close()
        bouncer.join()
    assert restarted.is_set()
    assert len(sender.accepted) == count
    seen = wait_for_reports(topology, set(sender.accepted), "restart", timeout=DELIVERY_LEASE_SECONDS + 60 + count / 20)
    assert set(seen) == set(sender.accepted)
    assert all(w.proc is not None and w.proc.poll() is None for w in topology.workers)
    assert all(api.proc is not None and api.proc.poll() is None for api in topology.apis)


def test_a_worker_stops_cleanly_on_sigterm(topology: Topology) -> None:
    worker = topology.workers[0]
    assert worker.stop(signal.SIGTERM) == 0
    assert "smsgrid worker stopped" in worker.log()
