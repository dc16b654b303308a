"""The carrier's connections where people look: `GET /admin/carriers`, `/metrics`, `smsgrid carriers` and the web
UI's Carriers page, against a real server in this process (uvicorn on loopback) whose carrier is a fake of our
own port (`InMemoryCarrier(links=…)`), so each connection's state is what the test says."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from typer.testing import CliRunner, Result

from smsgrid.api.app import create_app
from smsgrid.carrier.memory import InMemoryCarrier
from smsgrid.carrier.port import Carrier, ConnectionStatus
from smsgrid.cli.main import app
from smsgrid.config import WELL_KNOWN_ACCESS_KEY, Settings
from smsgrid.runtime import Runtime
from smsgrid.ui.routes import routes as ui_routes

PASSWORD = "pw-acme1"
START_SECONDS = 30.0

BOUND = ConnectionStatus(
    name="acme-1",
    kind="smpp",
    state="bound",
    bind="transceiver",
    sending=True,
    receiving=True,
    window_in_use=3,
    window_size=10,
    tps_limit=25.0,
    tps_configured=50.0,
    submitted_total=120,
    throttled_total=4,
    unknown_outcomes_total=1,
    receipts_total=110,
    inbound_total=7,
    reconnects_total=2,
    last_error="ESME_RTHROTTLED <after 120 submits>",
    since=1_800_000_000.0,
)
BACKING_OFF = dataclasses.replace(
    BOUND,
    name="acme-2",
    state="backing_off",
    bind="transmitter_receiver",
    sending=False,
    receiving=False,
    window_in_use=0,
    tps_limit=12.5,
    tps_configured=12.5,
    submitted_total=0,
    throttled_total=0,
    unknown_outcomes_total=0,
    last_error="bind refused: ESME_RINVPASWD",
    next_attempt_at=1_800_000_060.0,
)


@dataclasses.dataclass(frozen=True)
class Served:
    url: str


class _AnnouncingServer(uvicorn.Server):
    """Sets `started` once it listens, so the test thread waits on an event rather than polling."""

    def __init__(self, config: uvicorn.Config, started: threading.Event) -> None:
        super().__init__(config)
        self._started = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._started.set()


@contextmanager
def served(data_dir: Path, carrier: Carrier | None, *, dispatch: bool = True, config: str = "") -> Iterator[Served]:
    """`smsgrid serve`'s app and runtime in a thread of this process, on a loopback socket bound to port 0."""
    settings = Settings(data_dir=data_dir)
    if config:
        from smsgrid.settings import load_settings

        path = data_dir.parent / f"{data_dir.name}.toml"
        path.write_text(config, encoding="utf-8")
        settings = load_settings(path, data_dir=data_dir, env={})
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    started = threading.Event()
    failure: list[BaseException] = []
    holder: dict[str, Any] = {}

    async def main() -> None:
        runtime = Runtime.build(settings, dispatch=dispatch, carrier=carrier, base_url=f"http://127.0.0.1:{port}")
        await runtime.start()
        context = runtime.app_context()
        server = _AnnouncingServer(
            uvicorn.Config(create_app(context, ui_routes(context)), lifespan="off", log_level="warning"), started
        )
        holder["server"] = server
        try:
            await server.serve(sockets=[sock])
        finally:
            await runtime.stop()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the test below, not lost in the thread
            failure.append(exc)
            started.set()

    thread = threading.Thread(target=run, name="smsgrid-in-process", daemon=True)
    thread.start()
    assert started.wait(START_SECONDS), "the in-process server did not start"
    assert not failure, failure
    try:
        yield Served(f"http://127.0.0.1:{port}")
    finally:
        holder["server"].should_exit = True
        thread.join(START_SECONDS)
        sock.close()
        assert not thread.is_alive()


@pytest.fixture(scope="module")
def smpp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("carriers") / "smsgrid", InMemoryCarrier(links=(BOUND, BACKING_OFF))) as s:
        yield s


def admin_get(served: Served, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {WELL_KNOWN_ACCESS_KEY}"}
    return httpx.get(f"{served.url}{path}", headers=headers, timeout=10)


def cli(served: Served, *args: str) -> Result:
    return CliRunner().invoke(app, ["carriers", *args, "--url", served.url], env={"NO_COLOR": "1"})


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


# -- admin API --------------------------------------------------------------------------------------------------


def test_the_admin_api_lists_each_connection_in_camel_case(smpp: Served) -> None:
    answer = admin_get(smpp, "/admin/carriers")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["carrier"], body["dispatching"]) == ("smpp", True)
    first, second = body["value"]
    assert first == {
        "name": "acme-1",
        "kind": "smpp",
        "state": "bound",
        "bind": "transceiver",
        "sending": True,
        "receiving": True,
        "windowInUse": 3,
        "windowSize": 10,
        "tpsLimit": 25.0,
        "tpsConfigured": 50.0,
        "submittedTotal": 120,
        "throttledTotal": 4,
        "unknownOutcomesTotal": 1,
        "receiptsTotal": 110,
        "inboundTotal": 7,
        "reconnectsTotal": 2,
        "lastError": "ESME_RTHROTTLED <after 120 submits>",
        "nextAttemptAt": None,
        "since": "2027-01-15T08:00:00Z",
    }
    assert (second["state"], second["nextAttemptAt"]) == ("backing_off", "2027-01-15T08:01:00Z")


def test_the_admin_api_wants_the_key(smpp: Served) -> None:
    answer = httpx.get(f"{smpp.url}/admin/carriers", timeout=10)
    assert answer.status_code == 401


def test_the_connections_are_in_the_metrics(smpp: Served) -> None:
    text = httpx.get(f"{smpp.url}/metrics", timeout=10).text
    assert 'smsgrid_carrier_connection_up{connection="acme-1",kind="smpp"} 1.0' in text
    assert 'smsgrid_carrier_connection_up{connection="acme-2",kind="smpp"} 0.0' in text
    assert 'smsgrid_carrier_connection_window_in_use{connection="acme-1",kind="smpp"} 3.0' in text
    assert 'smsgrid_carrier_connection_throttled_total{connection="acme-1",kind="smpp"} 4.0' in text
    assert 'smsgrid_carrier_connection_tps_limit{connection="acme-2",kind="smpp"} 12.5' in text


def test_the_new_route_is_in_the_openapi_document(smpp: Served) -> None:
    document = httpx.get(f"{smpp.url}/openapi.json", timeout=10).json()
    operation = document["paths"]["/admin/carriers"]["get"]
    assert operation["operationId"] == "listCarriers"


# -- CLI --------------------------------------------------------------------------------------------------------


def test_the_cli_shows_a_table_of_the_connections(smpp: Served) -> None:
    shown = ok(cli(smpp)).stdout
    for text in ("acme-1", "bound", "transceiver", "3/10", "25/50", "120", "ESME_RTHROTTLED <after 120 submits>"):
        assert text in shown, text
    assert re.search(r"backing_off \(next 2027-01-15\s+08:01:00\)", shown), shown
    assert "transmitter_receiver" in shown
    assert "12.5/12.5" in shown
    assert "bind refused: ESME_RINVPASWD" in shown


def test_the_cli_prints_json_for_scripts(smpp: Served) -> None:
    body = orjson.loads(ok(cli(smpp, "--json")).stdout)
    assert body["carrier"] == "smpp"
    assert [c["name"] for c in body["value"]] == ["acme-1", "acme-2"]
    assert body["value"][0]["unknownOutcomesTotal"] == 1


def test_the_cli_says_so_when_the_server_is_not_there() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = CliRunner().invoke(app, ["carriers", "--url", url], env={"NO_COLOR": "1"})
    assert result.exit_code == 3


# -- web UI -----------------------------------------------------------------------------------------------------


def test_the_carriers_page_needs_a_login(smpp: Served) -> None:
    answer = httpx.get(f"{smpp.url}/carriers", timeout=10)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fcarriers"


def test_the_carriers_page_shows_each_connection_and_the_nav_links_to_it(smpp: Served) -> None:
    with httpx.Client(base_url=smpp.url, timeout=10) as browser:
        assert browser.post("/login", data={"key": WELL_KNOWN_ACCESS_KEY}).status_code == 303
        page = browser.get("/carriers")
        dashboard = browser.get("/")
    assert page.status_code == 200
    html = page.text
    assert 'id="carriers-table"' in html
    for text in ("acme-1", "acme-2", "transceiver", "transmitter_receiver", "3/10", "25/50", "12.5/12.5"):
        assert text in html, text
    assert "bind refused: ESME_RINVPASWD" in html
    assert "ESME_RTHROTTLED &lt;after 120 submits&gt;" in html  # escaped, never markup
    assert 'class="nav-item active" href="/carriers"' in html
    assert 'href="/carriers"' in dashboard.text


# -- with the simulator, and where the carrier runs elsewhere ------------------------------------------------


def test_with_the_simulator_everything_says_it_carries_everything(tmp_path: Path) -> None:
    with served(tmp_path / "smsgrid", None, config="[carrier]\ndelay_ms = 0\n") as simulator:
        body = admin_get(simulator, "/admin/carriers").json()
        shown = ok(cli(simulator)).stdout
        metrics = httpx.get(f"{simulator.url}/metrics", timeout=10).text
        with httpx.Client(base_url=simulator.url, timeout=10) as browser:
            browser.post("/login", data={"key": WELL_KNOWN_ACCESS_KEY})
            page = browser.get("/carriers").text
    assert body == {"carrier": "simulator", "dispatching": True, "value": []}
    assert "the simulator carries everything" in shown
    assert 'id="carriers-simulator"' in page
    assert "smsgrid_carrier_connection_up{" not in metrics


def test_a_server_that_does_not_run_the_carrier_points_at_the_workers(tmp_path: Path) -> None:
    links = InMemoryCarrier(links=(BOUND,))
    with served(tmp_path / "smsgrid", links, dispatch=False) as api_only:
        body = admin_get(api_only, "/admin/carriers").json()
        shown = ok(cli(api_only)).stdout
        metrics = httpx.get(f"{api_only.url}/metrics", timeout=10).text
    assert body == {"carrier": "smpp", "dispatching": False, "value": []}
    assert "smsgrid worker" in shown
    assert "smsgrid_carrier_connection" not in metrics


def test_the_configured_password_is_never_in_an_answer(tmp_path: Path) -> None:
    config = (
        "[[carrier.smpp]]\n"
        f'name = "acme-1"\nhost = "127.0.0.1"\nport = 9\nsystem_id = "smsgrid"\npassword = "{PASSWORD}"\n'
    )
    # The SMPP adapter is not this helper's: the configured connections are checked through a fake carrier that
    # answers what the runtime would show, so only what the HTTP layer adds could leak the password.
    with served(tmp_path / "smsgrid", InMemoryCarrier(links=(BOUND,)), config=config) as configured:
        answers = [
            admin_get(configured, "/admin/carriers").text,
            httpx.get(f"{configured.url}/metrics", timeout=10).text,
            ok(cli(configured, "--json")).stdout,
            ok(cli(configured)).stdout,
        ]
        with httpx.Client(base_url=configured.url, timeout=10) as browser:
            browser.post("/login", data={"key": WELL_KNOWN_ACCESS_KEY})
            answers.append(browser.get("/carriers").text)
            answers.append(browser.get("/").text)
    for answer in answers:
        assert PASSWORD not in answer
