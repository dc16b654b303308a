"""SMPP benchmark (issue 14): submits/s and receipts/s through one and four binds to a local SMSC.

    .venv/bin/python -m benchmarks.run --only smpp      # in the table with the others, JSON in benchmarks/results/
    .venv/bin/python -m benchmarks.smpp [--quick]        # this benchmark alone

The SMSC is Debian's Net::SMPP (tests/smsc/net_smpp_smsc.pl): a receipt for every submit_sm, on the bind that
submitted it. Three senders go through it, each with one bind and with four, a window of 10 outstanding submit_sm
per bind, and a fresh SMSC process per run:

- **SMSC ceiling**: a bare pipelined client (tests/smsc/raw_esme.py: smpp34's codec, no smsgrid code) pushing
  submit_sm and counting receipts — what the SMSC can take on this machine, measured in the same run;
- **Kannel 1.4.5** (`smsc = smpp`, `instances = 4` for four binds — Kannel's own way of several binds to one
  SMSC): sendsms over HTTP with `dlr-mask=1` and a `dlr-url` to the webhook receiver; receipts = dlr-url hits
  (type 1, delivered: the only type that mask asks for);
- **smsgrid**: `smsgrid serve` with one or four `[[carrier.smpp]]` connections to the SMSC, sends through the ACS
  API (benchmarks/loadgen.py, ACS throttling off), receipts = SMSDeliveryReportReceived at the webhook receiver.

Figures: submits/s = submit_sm seen by the SMSC ÷ (its last − its first submit_sm); receipts/s = receipts at the
sender's end ÷ (the last one − the SMSC's first submit_sm), all times time.time() on this machine. CPU seconds per
second of the run (/proc) for the SMSC (its perl processes) and for the sender (the bare client; bearerbox +
smsbox; the smsgrid serve process) say who was the bottleneck: near 1.0 for a single-threaded process (the bare
client, smsgrid's event loop, one perl child per bind) means that one was.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import smpp34
import uvloop
from tests.smsc.launch import SmscProcess, net_smpp_missing, start_net_smpp_smsc
from tests.smsc.raw_esme import RawEsme

from benchmarks import loadgen
from benchmarks.run import Receiver, receiver, server, subscribe
from smsgrid.config import WELL_KNOWN_ACCESS_KEY

PY = sys.executable
ROOT = Path(__file__).resolve().parent
WINDOW = 10
SENDER = "447700900456"
BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
STOP_TIMEOUT = 10.0
CONCURRENCY = 32


@dataclass
class LegResult:
    """One sender through one or four binds."""

    sender: str  # "ceiling", "kannel", "smsgrid"
    binds: int
    messages: int
    submits: int  # submit_sm the SMSC received
    receipts: int  # receipts the sender's end counted
    submits_per_s: float
    receipts_per_s: float
    smsc_cpu_per_s: float  # CPU seconds the SMSC used per second of the run (1.0 = one core busy)
    submits_per_bind: list[int]  # how the submit_sm spread over the binds
    load_requests_per_s: float | None = None  # the HTTP side (sendsms / ACS send) that fed the binds
    sender_cpu_per_s: float | None = None  # the sender's processes (bare client; bearerbox + smsbox; smsgrid serve)
    note: str = ""


class Skipped(Exception):
    """A leg that cannot run here (a tool missing, the SMPP adapter not there yet); the message says which."""


# ---- the SMSC ------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def smsc(folder: Path) -> Iterator[SmscProcess]:
    missing = net_smpp_missing()
    if missing:
        raise Skipped(missing)
    with start_net_smpp_smsc(folder / "smsc") as running:
        yield running


def _cpu_seconds(pid: int) -> float:
    """utime + stime (+ reaped children's) of a process, 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    # fields[11:15] = utime, stime, cutime, cstime (proc(5) fields 14-17, counted after the ")")
    return sum(int(x) for x in fields[11:15]) / ticks


class CpuMeter:
    """CPU seconds some processes use per second of wall time, from now until `per_second()`."""

    def __init__(self, pids: list[int]) -> None:
        self._pids = pids
        self._cpu = self._now()
        self._wall = time.monotonic()

    def _now(self) -> float:
        return sum(_cpu_seconds(pid) for pid in self._pids)

    def per_second(self) -> float:
        return (self._now() - self._cpu) / max(1e-9, time.monotonic() - self._wall)


def smsc_cpu(running: SmscProcess) -> float:
    """The SMSC's CPU seconds so far: the parent with the children it reaped, plus its live children."""
    pids = {int(p["pid"]) for p in running.pdus(None, "in")} - {running.proc.pid}
    return _cpu_seconds(running.proc.pid) + sum(_cpu_seconds(pid) for pid in pids)


def wait_binds(running: SmscProcess, binds: int, timeout: float = 20.0) -> None:
    bound = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bound = sum(1 for p in running.pdus(None, "in") if p["command"].startswith("bind_"))
        if bound >= binds:
            return
        time.sleep(0.05)
    raise RuntimeError(f"only {bound} of {binds} binds reached the SMSC in {timeout} s")


def leg_result(
    sender: str, binds: int, messages: int, running: SmscProcess, receipts: int, last_receipt_at: float, cpu: float
) -> LegResult:
    pdus = running.pdus("submit_sm")
    submits = [p["t"] for p in pdus]
    per_bind: dict[int, int] = {}
    for pdu in pdus:
        per_bind[pdu["conn"]] = per_bind.get(pdu["conn"], 0) + 1
    first, last = (min(submits), max(submits)) if submits else (0.0, 0.0)
    span = max(1e-9, last - first)
    receipt_span = max(1e-9, last_receipt_at - first)
    return LegResult(
        sender=sender,
        binds=binds,
        messages=messages,
        submits=len(submits),
        receipts=receipts,
        submits_per_s=len(submits) / span,
        receipts_per_s=receipts / receipt_span if receipts else 0.0,
        smsc_cpu_per_s=cpu / max(span, receipt_span),
        submits_per_bind=sorted(per_bind.values(), reverse=True),
    )


# ---- (a) the SMSC's ceiling: a bare pipelined client ---------------------------------------------------------------


async def _bare(port: int, binds: int, total: int, window: int, timeout: float) -> dict[str, Any]:
    esmes = [await RawEsme.bind("127.0.0.1", port, system_id=f"bare{i}") for i in range(binds)]
    cpu_at_start, wall_at_start = time.process_time(), time.monotonic()

    async def push(esme: RawEsme, count: int, first_number: int) -> int:
        """`count` submit_sm with at most `window` unanswered; waits for their receipts; returns how many refused."""
        room = asyncio.Semaphore(window)
        answers: list[asyncio.Future[tuple[int, int, bytes]]] = []
        for n in range(count):
            await room.acquire()
            answer = esme.submit(
                smpp34.SubmitSm(
                    SENDER,
                    f"44770{first_number + n:07d}",
                    b"Benchmark message",
                    source_addr_ton=1,
                    source_addr_npi=1,
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    registered_delivery=1,
                )
            )
            answer.add_done_callback(lambda _: room.release())
            answers.append(answer)
        await asyncio.wait(answers, timeout=timeout)
        refused = sum(1 for a in answers if not a.done() or a.exception() is not None or a.result()[0] != 0)
        await esme.wait_delivered(count - refused, timeout)
        return refused

    share = [total // binds + (1 if i < total % binds else 0) for i in range(binds)]
    refused = await asyncio.gather(*(push(e, share[i], i * total) for i, e in enumerate(esmes)))
    result = {
        "receipts": sum(e.receipts for e in esmes),
        "refused": sum(refused),
        "last_receipt_at": max(e.last_delivered_at for e in esmes),
        "cpu_seconds": time.process_time() - cpu_at_start,
        "wall_seconds": time.monotonic() - wall_at_start,
    }
    for esme in esmes:
        await esme.unbind()
    return result


def _json_from(*args: str) -> dict[str, Any]:
    """Run `python -m benchmarks.smpp ARGS` (a load generator in its own process) and read its JSON."""
    out = subprocess.run(
        [PY, "-m", "benchmarks.smpp", *args], cwd=ROOT.parent, capture_output=True, check=True, timeout=300
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def bench_ceiling(folder: Path, binds: int, total: int) -> LegResult:
    with smsc(folder) as running:
        bare = _json_from(
            "bare", "--port", str(running.port), "--binds", str(binds), "--total", str(total), "--window", str(WINDOW)
        )
        cpu = smsc_cpu(running)
        result = leg_result("ceiling", binds, total, running, bare["receipts"], bare["last_receipt_at"], cpu)
    result.sender_cpu_per_s = bare["cpu_seconds"] / bare["wall_seconds"]
    return result


# ---- (b) Kannel 1.4.5 ----------------------------------------------------------------------------------------------


def kannel_config(folder: Path, smsc_port: int, binds: int, ports: dict[str, int], log_level: int = 2) -> str:
    # system-type is required by Kannel's smpp driver (it panics without it); "" is enough.
    return f"""
group = core
admin-port = {ports["admin"]}
admin-password = bench
admin-interface = 127.0.0.1
smsbox-port = {ports["smsbox"]}
box-allow-ip = 127.0.0.1
log-file = "{folder}/bearerbox.log"
log-level = {log_level}
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = bench
instances = {binds}
host = 127.0.0.1
port = {smsc_port}
smsc-username = kannel
smsc-password = pw
system-type = ""
transceiver-mode = true
enquire-link-interval = 30
max-pending-submits = {WINDOW}

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports["smsbox"]}
sendsms-port = {ports["sendsms"]}
sendsms-interface = 127.0.0.1
log-file = "{folder}/smsbox.log"
log-level = {log_level}

group = sendsms-user
username = bench
password = bench
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port} after {timeout} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to our own process, a bounded wait, then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)


@contextlib.contextmanager
def kannel(folder: Path, smsc_port: int, binds: int) -> Iterator[tuple[int, list[int]]]:
    """bearerbox + smsbox bound to the SMSC; yields the sendsms port and their pids."""
    if not (BEARERBOX.exists() and SMSBOX.exists()):
        raise Skipped("Kannel is not installed (apt-get install kannel)")
    ports = {name: _free_port() for name in ("admin", "smsbox", "sendsms")}
    conf = folder / "kannel.conf"
    conf.write_text(kannel_config(folder, smsc_port, binds, ports))
    started: list[subprocess.Popen[bytes]] = []
    try:
        with (folder / "kannel-console.log").open("ab") as console:
            # -v 4: console logging off (the log files keep warnings); Kannel logs every PDU at debug level.
            bearerbox = subprocess.Popen([BEARERBOX, "-v", "4", conf], stdout=console, stderr=console)
            started.append(bearerbox)
            _wait_port(ports["smsbox"], bearerbox)
            smsbox = subprocess.Popen([SMSBOX, "-v", "4", conf], stdout=console, stderr=console)
            started.append(smsbox)
            _wait_port(ports["sendsms"], smsbox)
        yield ports["sendsms"], [p.pid for p in started]
    finally:
        # smsbox first: bearerbox lingers a few seconds after its smsbox dies, but not when told to stop.
        for proc in reversed(started):
            _stop(proc)


async def _kannel_load(url: str, total: int, concurrency: int, dlr_url: str) -> dict[str, Any]:
    import aiohttp

    errors = 0
    remaining = total
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                query = {
                    "username": "bench",
                    "password": "bench",
                    "from": SENDER,
                    "to": f"44770{remaining:07d}",
                    "text": "Benchmark message",
                    "dlr-mask": "1",
                    "dlr-url": f"{dlr_url}?id={uuid.uuid4().hex}&type=%d",
                }
                async with session.get(f"{url}?{urlencode(query)}") as response:
                    await response.read()
                    errors += response.status != 202

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"requests": total, "errors": errors, "seconds": time.perf_counter() - started}


def bench_kannel(folder: Path, rx: Receiver, binds: int, total: int) -> LegResult:
    rx.control(reset=True, status=200)
    with smsc(folder) as running, kannel(folder, running.port, binds) as (sendsms_port, pids):
        wait_binds(running, binds)
        meter = CpuMeter(pids)
        sent = _json_from(
            "kannel-load",
            "--url",
            f"http://127.0.0.1:{sendsms_port}/cgi-bin/sendsms",
            "--total",
            str(total),
            "--concurrency",
            str(CONCURRENCY),
            "--dlr-url",
            rx.url.replace("/events", "/dlr"),
        )
        errors = int(sent["errors"])
        stats = _wait(rx.stats, lambda s: s["events"] >= total - errors, timeout=120)
        cpu = smsc_cpu(running)
        result = leg_result("kannel", binds, total, running, stats["events"], stats["last_at"], cpu)
        result.load_requests_per_s = total / sent["seconds"]
        result.sender_cpu_per_s = meter.per_second()
    if errors:
        result.note = f"{errors} sendsms refused"
    return result


# ---- (c) smsgrid ---------------------------------------------------------------------------------------------------


def smsgrid_config(smsc_port: int, binds: int) -> str:
    connections = "".join(
        f"""
[[carrier.smpp]]
name = "bench-{n}"
host = "127.0.0.1"
port = {smsc_port}
system_id = "smsgrid{n}"
password = "pw"
bind = "transceiver"
window = {WINDOW}
tps = 100000
"""
        for n in range(1, binds + 1)
    )
    # ACS's send throttle off: the benchmark measures the carrier path, far over 200 messages a minute.
    return f"[throttling]\nenabled = false\n{connections}"


def bench_smsgrid(folder: Path, rx: Receiver, binds: int, total: int) -> LegResult:
    rx.control(reset=True, status=200)
    with smsc(folder) as running, contextlib.ExitStack() as stack:
        try:
            process = stack.enter_context(server(smsgrid_config(running.port, binds), data_dir=folder / "smsgrid"))
        except (RuntimeError, TimeoutError) as error:
            raise Skipped(f"smsgrid did not start with [[carrier.smpp]] ({_first_error(str(error))})") from error
        try:
            wait_binds(running, binds)
        except RuntimeError as error:
            raise Skipped(f"smsgrid started but did not bind to the SMSC: {error}") from error
        subscribe(process, "smpp-bench", rx.url)
        assert process.proc is not None
        meter = CpuMeter([process.proc.pid])
        sent = _json_from("acs-load", "--url", process.base_url, "--total", str(total))
        errors = int(sent["errors"])
        stats = _wait(rx.stats, lambda s: s["events"] >= total - errors, timeout=120)
        cpu = smsc_cpu(running)
        result = leg_result("smsgrid", binds, total, running, stats["events"], stats["last_at"], cpu)
        result.load_requests_per_s = float(sent["requests_per_s"])
        result.sender_cpu_per_s = meter.per_second()
    if errors:
        result.note = f"{errors} sends refused"
    return result


def _first_error(log: str) -> str:
    lines = [line for line in log.splitlines() if "smpp" in line.lower() or "error" in line.lower()]
    return (lines[0] if lines else log.splitlines()[0] if log else "no output")[:200]


def _wait(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


# ---- the whole benchmark -------------------------------------------------------------------------------------------


def run(rx: Receiver, quick: bool) -> dict[str, Any]:
    """Every leg with one and four binds; figures, ratios and the legs that were skipped (with why)."""
    total = 2000 if quick else 5000
    legs: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for binds in (1, 4):
        senders: list[tuple[str, Callable[[Path], LegResult]]] = [
            ("ceiling", partial(bench_ceiling, binds=binds, total=total)),
            ("kannel", partial(bench_kannel, rx=rx, binds=binds, total=total)),
            ("smsgrid", partial(bench_smsgrid, rx=rx, binds=binds, total=total)),
        ]
        for sender, bench in senders:
            key = f"{sender}_{binds}"
            folder = Path(tempfile.mkdtemp(prefix=f"smsgrid-smpp-{key}-"))
            try:
                legs[key] = asdict(bench(folder))
            except Skipped as why:
                skipped[key] = str(why)
            except (subprocess.SubprocessError, RuntimeError, OSError, ValueError) as error:
                # A benchmark prints figures and never fails: a leg that broke is reported with why.
                skipped[key] = f"failed: {type(error).__name__}: {error}"[:300]
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    return {"messages_per_leg": total, "window": WINDOW, "legs": legs, "skipped": skipped, "ratios": ratios(legs)}


def ratios(legs: dict[str, dict[str, Any]]) -> dict[str, float]:
    """smsgrid ÷ Kannel and each ÷ the SMSC ceiling, per bind count, for submits/s and receipts/s."""
    found: dict[str, float] = {}
    for binds in (1, 4):
        for figure in ("submits_per_s", "receipts_per_s"):
            ceiling, kannel_leg, ours = (legs.get(f"{s}_{binds}") for s in ("ceiling", "kannel", "smsgrid"))
            if ours and kannel_leg and kannel_leg[figure]:
                found[f"smsgrid_to_kannel_{binds}_{figure}"] = ours[figure] / kannel_leg[figure]
            for name, leg in (("kannel", kannel_leg), ("smsgrid", ours)):
                if leg and ceiling and ceiling[figure]:
                    found[f"{name}_to_ceiling_{binds}_{figure}"] = leg[figure] / ceiling[figure]
    return found


def table_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, figure, ratio) rows for benchmarks.run's table."""
    rows = []
    legs, found = result["legs"], result["ratios"]
    names = {"ceiling": "SMSC ceiling (bare client)", "kannel": "Kannel 1.4.5", "smsgrid": "smsgrid"}
    for binds in (1, 4):
        for sender in ("ceiling", "kannel", "smsgrid"):
            key = f"{sender}_{binds}"
            if key in result["skipped"]:
                rows.append((f"SMPP {names[sender]}, {binds} bind(s)", "skipped", result["skipped"][key][:60]))
                continue
            leg = legs[key]
            ratio = ""
            if sender == "smsgrid" and f"smsgrid_to_kannel_{binds}_submits_per_s" in found:
                ratio = (
                    f"{found[f'smsgrid_to_kannel_{binds}_submits_per_s']:.2f} / "
                    f"{found[f'smsgrid_to_kannel_{binds}_receipts_per_s']:.2f} × Kannel"
                )
            elif sender == "kannel" and f"kannel_to_ceiling_{binds}_submits_per_s" in found:
                ratio = f"{found[f'kannel_to_ceiling_{binds}_submits_per_s']:.2f} × ceiling"
            rows.append(
                (
                    f"SMPP {names[sender]}, {binds} bind(s)",
                    f"{leg['submits_per_s']:,.0f} submits/s, {leg['receipts_per_s']:,.0f} receipts/s "
                    f"(CPU/s: SMSC {leg['smsc_cpu_per_s']:.2f}, sender {leg['sender_cpu_per_s'] or 0:.2f})",
                    ratio,
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode")
    bare = sub.add_parser("bare", help="(internal) the bare pipelined client; prints JSON")
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--binds", type=int, default=1)
    bare.add_argument("--total", type=int, default=5000)
    bare.add_argument("--window", type=int, default=WINDOW)
    load = sub.add_parser("kannel-load", help="(internal) sendsms requests to Kannel; prints JSON")
    load.add_argument("--url", required=True)
    load.add_argument("--total", type=int, default=5000)
    load.add_argument("--concurrency", type=int, default=CONCURRENCY)
    load.add_argument("--dlr-url", required=True)
    acs = sub.add_parser("acs-load", help="(internal) benchmarks/loadgen.py's signed ACS sends; prints a summary")
    acs.add_argument("--url", required=True)
    acs.add_argument("--total", type=int, default=5000)
    acs.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.mode == "bare":
        print(json.dumps(uvloop.run(_bare(args.port, args.binds, args.total, args.window, timeout=240))))
    elif args.mode == "kannel-load":
        print(json.dumps(uvloop.run(_kannel_load(args.url, args.total, args.concurrency, args.dlr_url))))
    elif args.mode == "acs-load":
        key = base64.b64decode(WELL_KNOWN_ACCESS_KEY)
        sent = uvloop.run(loadgen.send(args.url, args.concurrency, args.total, 1, None, key))
        # The summary only: every message id (sent_ids) would be hundreds of kB on a pipe uvloop may have made
        # non-blocking, and a short write there garbled the JSON once.
        print(json.dumps({k: v for k, v in sent.items() if k not in ("sent", "sent_ids")}))
    else:
        with receiver() as rx:
            result = run(rx, args.quick)
        print(json.dumps(result, indent=2))
        for what, figure, ratio in table_rows(result):
            print(f"{what:45} {figure:60} {ratio}")


if __name__ == "__main__":
    main()
