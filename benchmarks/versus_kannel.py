"""smsgrid against Kannel 1.4.5 on the whole path (issue 16): accept a send over HTTP, hand it to a carrier that
answers at once, deliver its delivery report to a webhook. Both in one run, on this machine, with one load
generator (wrk) and one sink; BENCHMARKS.md ("Issue 16: smsgrid vs Kannel") explains the method.

    .venv/bin/python -m benchmarks.versus_kannel            # full run, about 5 minutes
    .venv/bin/python -m benchmarks.versus_kannel --quick    # under 2 minutes
    .venv/bin/python -m benchmarks.run --only kannel        # the same, from the main harness

Needs Debian's `kannel` + `kannel-extras` (bearerbox, smsbox, fakesmsc) and `wrk`. Prints a table with the ratios
smsgrid / Kannel and / the raw HTTP ceiling; writes every figure as JSON to benchmarks/results/. It asserts nothing.
The helper subcommands `sink` and `pace` are the processes it starts.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.loadgen import _send_body, _signed
from benchmarks.receiver import Handler, Stats
from smsgrid.api.hmac_auth import authorization_header
from smsgrid.config import WELL_KNOWN_ACCESS_KEY
from smsgrid.testing.process import SmsgridProcess, free_port

ROOT = Path(__file__).resolve().parent
PY = sys.executable
BATCH_SCRIPT = ROOT / "wrk" / "batch.lua"
BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
# The load: wrk, 128 connections; two threads, one per core of this machine.
CONNECTIONS = 128
WRK_THREADS = 2
# Kannel's DLR type of a final "delivered" report (its dlr-mask bit 1); type 8 is the SMSC's acknowledgement.
KANNEL_DELIVERED = "1"
SEND_PATH = "/sms?api-version=2021-03-07"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the sink: one process for both systems (benchmarks/receiver.py plus Kannel's dlr-url GETs) ---------------


class SinkHandler(Handler):
    """Counts smsgrid's SMSDeliveryReportReceived POSTs (as the receiver does) and Kannel's final dlr-url GETs;
    `GET /ping` is the raw ceiling's request and is not counted."""

    def respond(self, request_line: list[str], event_type: str, body: bytes) -> None:
        method, path = request_line[0], request_line[1]
        if method == "GET" and path.startswith("/ping"):
            return self.send(200, b"")
        if method == "GET" and path.startswith("/dlr"):
            query = parse_qs(urlsplit(path).query)
            if query.get("type") == [KANNEL_DELIVERED]:
                stats = self.stats
                now = time.time()
                stats.requests += 1
                stats.events += 1
                stats.first_at = stats.first_at or now
                stats.last_at = now
                if stats.track:
                    stats.arrivals.setdefault(query.get("id", [""])[0], now)
            return self.send(200, b"")
        return super().respond(request_line, event_type, body)


async def serve_sink(port: int) -> None:
    stats = Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkHandler(stats), "127.0.0.1", port, backlog=4096)
    await server.serve_forever()


@dataclass
class Sink:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def stats(self, extra: str = "") -> dict[str, Any]:
        return httpx.get(f"http://127.0.0.1:{self.port}/stats{extra}", timeout=30).json()  # type: ignore[no-any-return]

    def reset(self, track: bool = False) -> None:
        httpx.post(f"http://127.0.0.1:{self.port}/control", json={"reset": True, "track": track}, timeout=10)

    def wait_events(self, expected: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        stats = self.stats()
        while stats["events"] < expected and time.monotonic() < deadline:
            time.sleep(0.05)
            stats = self.stats()
        return stats


@contextmanager
def sink() -> Iterator[Sink]:
    port = free_port()
    proc = subprocess.Popen([PY, "-m", "benchmarks.versus_kannel", "sink", "--port", str(port)], cwd=ROOT.parent)
    try:
        _wait_http(f"http://127.0.0.1:{port}/stats", 10)
        yield Sink(port, proc)
    finally:
        _stop(proc)


# --- processes ----------------------------------------------------------------------------------------------


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answered at {url} within {timeout} s")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stop one process we started, by its pid, with a bounded wait (then SIGKILL)."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (/proc/<pid>/stat fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def _peak_rss_mb(pid: int) -> float:
    """The kernel's high-water mark of the process's resident memory (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Kannel:
    sendsms_port: int
    admin_port: int
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)  # bearerbox, smsbox, fakesmsc

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs[:2]]  # the gateway itself; fakesmsc plays the carrier


KANNEL_CONF = """group = core
admin-port = {admin}
admin-password = bench
admin-interface = 127.0.0.1
smsbox-port = {smsbox}
box-allow-ip = 127.0.0.1
log-file = "{dir}/bearerbox.log"
log-level = 4
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
host = 127.0.0.1
port = {fake}

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{dir}/smsbox.log"
log-level = 4

group = sendsms-user
username = bench
password = bench
"""


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {port} within {timeout} s")


@contextmanager
def kannel() -> Iterator[Kannel]:
    """bearerbox + smsbox with `smsc = fake` and an in-memory DLR store; fakesmsc connected, acknowledging every
    message (`-m 0`: it sends none). Console logging at error level only (-v 4), so logging costs nothing."""
    folder = Path(tempfile.mkdtemp(prefix="kannel-bench-"))
    ports = {"admin": free_port(), "smsbox": free_port(), "fake": free_port(), "sendsms": free_port()}
    conf = folder / "kannel.conf"
    conf.write_text(KANNEL_CONF.format(dir=folder, **ports))
    k = Kannel(ports["sendsms"], ports["admin"])
    out = (folder / "console.log").open("ab")
    try:
        k.procs.append(subprocess.Popen([BEARERBOX, "-v", "4", str(conf)], stdout=out, stderr=out))
        _wait_port(ports["smsbox"], 15)
        k.procs.append(subprocess.Popen([SMSBOX, "-v", "4", str(conf)], stdout=out, stderr=out))
        _wait_port(ports["sendsms"], 15)
        fake = [FAKESMSC, "-v", "4", "-H", "127.0.0.1", "-r", str(ports["fake"]), "-m", "0", "1 2 text unused"]
        k.procs.append(subprocess.Popen(fake, stdout=subprocess.DEVNULL, stderr=out))
        yield k
    finally:
        # smsbox first (bearerbox waits for its boxes), then bearerbox, then fakesmsc (the carrier).
        for proc in [*k.procs[1:2], *k.procs[:1], *k.procs[2:]]:
            _stop(proc)
        out.close()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def smsgrid() -> Iterator[SmsgridProcess]:
    """`smsgrid serve` on its durable defaults (SQLite, synchronous=FULL), the carrier simulator answering at once;
    only ACS's send-rate throttle is off (the engine is measured, not Azure's quota)."""
    folder = Path(tempfile.mkdtemp(prefix="smsgrid-vs-kannel-"))
    (folder / "bench.toml").write_text("[carrier]\ndelay_ms = 0\n")
    process = SmsgridProcess(
        data_dir=folder,
        port=free_port(),
        tls_port=0,
        args=("--config", str(folder / "bench.toml")),
        env={"SMSGRID_THROTTLING": "off"},
    )
    try:
        process.start()
        yield process
    finally:
        process.stop()
        shutil.rmtree(folder, ignore_errors=True)


# --- the two systems behind one interface ----------------------------------------------------------------------


def kannel_send_url(k: Kannel, sink_port: int, tag: str) -> str:
    """Kannel's sendsms GET for one message whose final report goes to the sink's /dlr with `tag` as its id.
    dlr-mask 3 = delivered + undelivered: the final report only, as ACS sends one report per message."""
    dlr = f"http://127.0.0.1:{sink_port}/dlr?id={tag}&type=%d"
    return (
        f"http://127.0.0.1:{k.sendsms_port}/cgi-bin/sendsms?username=bench&password=bench"
        f"&from=18005550100&to=14255550123&text=Benchmark+message&dlr-mask=3&dlr-url={quote(dlr, safe='')}"
    )


def _signed_pool(base_url: str, folder: Path, per_thread: int) -> None:
    """Distinct signed POST /sms requests for wrk, one file per thread, generated just before the batch (x-ms-date
    must be within smsgrid's allowed skew and a signature is accepted once)."""
    key = base64.b64decode(WELL_KNOWN_ACCESS_KEY)
    host = urlsplit(base_url).netloc
    date = formatdate(usegmt=True)
    for thread in range(WRK_THREADS):
        lines = []
        for _ in range(per_thread):
            body = _send_body(1, True)
            h = authorization_header(key, "POST", SEND_PATH, date, host, body)
            lines.append(f"{date}\t{h['x-ms-content-sha256']}\t{h['Authorization']}\t{body.decode()}")
        (folder / f"requests-{thread}.tsv").write_text("\n".join(lines) + "\n")


@dataclass
class Batch:
    accepted: int
    answered: int
    statuses: dict[str, int]
    seconds: float
    accepts_per_s: float
    wrk_cpu_cores: float  # CPU seconds of wrk per second of the batch (2.0 = both cores)
    server_cpu_cores: float


def wrk_batch(url: str, mode: str, total: int, server_pids: list[int], extra: tuple[str, ...] = ()) -> Batch:
    """`total` requests through wrk (128 connections), each thread its share once; rate over the batch's span."""
    folder = Path(tempfile.mkdtemp(prefix="wrk-batch-"))
    share = total // WRK_THREADS
    host = urlsplit(url).netloc
    try:
        if mode == "signed":
            _signed_pool(url.removesuffix(SEND_PATH), folder, share + CONNECTIONS // WRK_THREADS + 8)
        command = ["wrk", "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", "300s", "--timeout", "30s"]
        command += ["-s", str(BATCH_SCRIPT), url, "--", mode, str(folder), str(share), host, *extra]
        server_cpu = sum(_cpu_seconds(p) for p in server_pids)
        started = time.monotonic()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            done: list[Path] = []
            while len(done) < WRK_THREADS and time.monotonic() < started + 280 and proc.poll() is None:
                time.sleep(0.02)
                done = list(folder.glob("done-*.json"))
            wall = time.monotonic() - started
            wrk_cpu = _cpu_seconds(proc.pid)
            server_cpu = sum(_cpu_seconds(p) for p in server_pids) - server_cpu
        finally:
            _stop(proc, signal.SIGINT)
        threads = [json.loads(p.read_text()) for p in done]
        if len(threads) < WRK_THREADS:
            raise RuntimeError(f"wrk did not finish its batch: {proc.stderr.read().decode() if proc.stderr else ''}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    span = max(t["last_at"] for t in threads) - min(t["first_at"] for t in threads)
    statuses: dict[str, int] = {}
    for t in threads:
        for code, count in t["statuses"].items():
            statuses[code] = statuses.get(code, 0) + count
    accepted = sum(t["ok"] for t in threads)
    return Batch(
        accepted=accepted,
        answered=sum(t["answered"] for t in threads),
        statuses=statuses,
        seconds=span,
        accepts_per_s=accepted / span,
        wrk_cpu_cores=wrk_cpu / wall,
        server_cpu_cores=server_cpu / wall,
    )


def pace(target: str, url: str, rate: float, total: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            PY,
            "-m",
            "benchmarks.versus_kannel",
            "pace",
            target,
            "--url",
            url,
            "--rate",
            str(rate),
            "--total",
            str(total),
        ],
        cwd=ROOT.parent,
        capture_output=True,
        check=True,
        timeout=total / rate + 120,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


async def _pace(target: str, url: str, rate: float, total: int, key: bytes) -> dict[str, Any]:
    """Sends at a fixed rate (open loop) and notes each message's send time; the sink notes its report's arrival."""
    sent: dict[str, float] = {}
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(i: int) -> None:
            nonlocal errors
            at = time.time()
            if target == "kannel":
                tag = f"p{i}"
                async with session.get(url.replace("TAG", tag)) as response:
                    await response.read()
                    ok = response.status in (200, 202)
            else:
                body = _send_body(1, True)
                async with session.post(url, data=body, headers=_signed(url, key, body)) as response:
                    payload = await response.read()
                    ok = response.status == 202
                tag = orjson.loads(payload)["value"][0].get("messageId", "") if ok else ""
            if ok and tag:
                sent[tag] = at
            else:
                errors += 1

        started = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return {"sent": sent, "errors": errors}


# --- measurements ---------------------------------------------------------------------------------------------


def _quantiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if len(values) < 3:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    q = statistics.quantiles(values, n=100)
    return {"p50_ms": q[49], "p99_ms": q[98], "max_ms": values[-1]}


def latency(rx: Sink, target: str, url: str, rate: float, total: int) -> dict[str, Any]:
    rx.reset(track=True)
    sent = pace(target, url, rate, total)
    rx.wait_events(len(sent["sent"]), timeout=60)
    arrivals = rx.stats("?arrivals")["arrivals"]
    rx.reset(track=False)
    ms = [(arrivals[m] - t) * 1000 for m, t in sent["sent"].items() if m in arrivals]
    counts = {"rate": rate, "samples": len(ms), "lost": len(sent["sent"]) - len(ms), "errors": sent["errors"]}
    return counts | _quantiles(ms)


def _lag_reading(process: SmsgridProcess) -> dict[str, float]:
    """smsgrid's event-loop lag histogram (cumulative buckets, count) and its recent maximum, from /metrics."""
    text = httpx.get(f"{process.base_url}/metrics", timeout=30).text
    reading: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "smsgrid_event_loop_lag_seconds_bucket":
                reading[s.labels["le"]] = s.value
            elif s.name == "smsgrid_event_loop_lag_seconds_count":
                reading["count"] = s.value
            elif s.name == "smsgrid_event_loop_lag_max_seconds":
                reading["max"] = s.value
    return reading


def lag_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """p99 of the samples taken between two readings (the upper bound of its histogram bucket, so an over-estimate
    by at most one bucket) and the largest lag of the last 10 s at the second reading."""
    count = after.get("count", 0) - before.get("count", 0)
    p99 = float("nan")
    if count > 0:
        bounds = sorted((float(le), after[le] - before.get(le, 0)) for le in after if le not in ("count", "max"))
        p99 = next(bound for bound, n in bounds if n >= 0.99 * count) * 1000
    return {"samples": count, "p99_le_ms": p99, "max_last_10s_ms": after.get("max", float("nan")) * 1000}


@dataclass
class Sizes:
    batch: int
    trials: int
    slow_sends: int  # at 50/s
    fast_sends: int  # at 200/s


def measure_system(name: str, rx: Sink, sizes: Sizes, profile: Path | None = None) -> dict[str, Any]:
    """Fresh start → latency at 50/s and 200/s → saturation (the accept and report batches) → latency again.
    `profile`: py-spy records smsgrid during the batches, into that file (collapsed stacks)."""
    context = kannel() if name == "kannel" else smsgrid()
    with context as system:
        if isinstance(system, Kannel):
            pids = system.pids
            pace_url = kannel_send_url(system, rx.port, "TAG")
            batch_url = f"http://127.0.0.1:{system.sendsms_port}/"
            prefix, _, suffix = kannel_send_url(system, rx.port, "TAG").partition("TAG")
            batch_args: tuple[str, ...] = (urlsplit(prefix).path + "?" + urlsplit(prefix).query, suffix)
            mode = "kannel"
        else:
            assert system.proc is not None
            pids = [system.proc.pid]
            with system.admin() as admin:
                sink_sub = {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": rx.events_url}}}
                admin.put("/admin/subscriptions/bench", json=sink_sub).raise_for_status()
            pace_url = batch_url = f"{system.base_url}{SEND_PATH}"
            batch_args = ()
            mode = "signed"
        # One message through the whole path first: it proves the chain works before anything is timed.
        warm = latency(rx, name, pace_url, 10, 5)
        if warm["samples"] < 5:
            raise RuntimeError(f"{name}: the warm-up reports did not arrive: {warm}")
        result: dict[str, Any] = {}

        def latencies(when: str) -> None:
            lag_before = _lag_reading(system) if isinstance(system, SmsgridProcess) else {}
            result[f"{when}_50"] = latency(rx, name, pace_url, 50, sizes.slow_sends)
            lag_mid = _lag_reading(system) if isinstance(system, SmsgridProcess) else {}
            result[f"{when}_200"] = latency(rx, name, pace_url, 200, sizes.fast_sends)
            if isinstance(system, SmsgridProcess):
                result[f"{when}_50"]["event_loop_lag"] = lag_between(lag_before, lag_mid)
                result[f"{when}_200"]["event_loop_lag"] = lag_between(lag_mid, _lag_reading(system))

        latencies("fresh")
        profiler = _py_spy(pids[0], profile) if profile and isinstance(system, SmsgridProcess) else None
        trials = []
        for _ in range(sizes.trials):
            rx.reset()
            lag_before = _lag_reading(system) if isinstance(system, SmsgridProcess) else {}
            cpu_before = sum(_cpu_seconds(p) for p in pids)
            batch = wrk_batch(batch_url, mode, sizes.batch, pids, batch_args)
            stats = rx.wait_events(batch.accepted, timeout=300)
            # The whole job's CPU (accept, carrier, report delivery) per message: steadier than a rate on a shared
            # machine, since the other processes' load changes how long it takes, not how much work it is.
            cpu_total = sum(_cpu_seconds(p) for p in pids) - cpu_before
            trial: dict[str, Any] = {**batch.__dict__, "reports": stats["events"]}
            trial["server_cpu_us_per_message"] = cpu_total / max(1, stats["events"]) * 1e6
            trial["reports_per_s"] = stats["events"] / max(1e-9, stats["last_at"] - stats["first_at"])
            if isinstance(system, SmsgridProcess):
                trial["event_loop_lag"] = lag_between(lag_before, _lag_reading(system))
            trials.append(trial)
        if profiler is not None:
            _stop(profiler, signal.SIGINT, timeout=60)  # py-spy writes its file on SIGINT
        result["trials"] = trials
        result["accepts_per_s"] = statistics.median(t["accepts_per_s"] for t in trials)
        result["reports_per_s"] = statistics.median(t["reports_per_s"] for t in trials)
        result["server_cpu_us_per_message"] = statistics.median(t["server_cpu_us_per_message"] for t in trials)
        latencies("saturated")
        result["peak_rss_mb"] = sum(_peak_rss_mb(p) for p in pids)
    return result


def _py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy (pip install py-spy into the venv) sampling every thread of `pid` 100 times a second until SIGINT;
    --nonblocking so the sampled process is never paused (the figures of a profiled run still drop a little)."""
    spy = Path(PY).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(pid), "--rate", "100", "--format", "raw", "--nonblocking"]
    proc = subprocess.Popen([*command, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # attached before the first request
    return proc


def profile_summary(path: Path, top: int = 15) -> dict[str, list[tuple[str, float]]]:
    """From py-spy's collapsed stacks ("thread;frame;… count" per line), shares of all samples: per thread (the
    event loop vs the SQLite writer), per function at the top of the stack (self), and per smsgrid function on the
    stack (inclusive; the entry chain — __main__, cli, server.run — left out, it is on every event-loop stack)."""
    threads: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_frame_name(f) for f in stack.split(";")]
        # uvloop runs callbacks from C: event-loop stacks often start at the callback, not at the thread's root.
        kind = "SQLite writer thread" if any("executor.py" in f for f in frames) else "event loop (and others)"
        threads[kind] = threads.get(kind, 0) + count
        for name in set(frames):
            if "smsgrid/" in name and not any(entry in name for entry in _ENTRY_CHAIN):
                inclusive[name] = inclusive.get(name, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count

    def ranked(counts: dict[str, int]) -> list[tuple[str, float]]:
        return [(n, c / max(1, total)) for n, c in sorted(counts.items(), key=lambda kv: -kv[1])[:top]]

    return {"threads": ranked(threads), "self": ranked(own), "inclusive": ranked(inclusive)}


_ENTRY_CHAIN = ("smsgrid/__main__.py", "smsgrid/cli/", "smsgrid/server.py")


def _frame_name(frame: str) -> str:
    """ "send (smsgrid/api/data_plane.py:120)" → "send (smsgrid/api/data_plane.py)": lines differ between samples."""
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rstrip(")").split("site-packages/")[-1]
    return f"{name} ({file})" if file else name


def raw_ceiling(rx: Sink, total: int, trials: int) -> dict[str, Any]:
    runs = [wrk_batch(f"http://127.0.0.1:{rx.port}/ping", "ping", total, [rx.proc.pid]) for _ in range(trials)]
    return {
        "requests_per_s": statistics.median(r.accepts_per_s for r in runs),
        "trials": [r.__dict__ for r in runs],
    }


def startup(runs: int) -> dict[str, Any]:
    """Process start → /healthz answering and the ready banner printed (SmsgridProcess.start), median of `runs`."""
    times = []
    for _ in range(runs):
        folder = Path(tempfile.mkdtemp(prefix="smsgrid-start-"))
        process = SmsgridProcess(data_dir=folder, port=free_port(), tls_port=0)
        started = time.perf_counter()
        try:
            process.start()
            times.append(time.perf_counter() - started)
        finally:
            process.stop()
            shutil.rmtree(folder, ignore_errors=True)
    return {"runs": runs, "median_s": statistics.median(times), "max_s": max(times)}


def run(quick: bool, profile: Path | None = None, smsgrid_only: bool = False) -> dict[str, Any]:
    sizes = Sizes(batch=4000, trials=1, slow_sends=250, fast_sends=1000) if quick else Sizes(10000, 3, 500, 3000)
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "quick": quick,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_before": os.getloadavg()},
        "sizes": sizes.__dict__,
        "load": f"wrk, {CONNECTIONS} connections, {WRK_THREADS} threads; paced sends by an aiohttp client",
    }
    startup_time = startup(3)  # first, before the load heats the machine up
    with sink() as rx:
        if not smsgrid_only:
            results["ceiling"] = raw_ceiling(rx, sizes.batch * 3, sizes.trials)
            results["kannel"] = measure_system("kannel", rx, sizes)
        results["smsgrid"] = measure_system("smsgrid", rx, sizes, profile)
    results["smsgrid"]["startup"] = startup_time
    if profile is not None:
        results["profiled"] = str(profile)
        results["smsgrid"]["profile"] = profile_summary(profile)
    results["machine"]["load_after"] = os.getloadavg()
    return results


# --- output ---------------------------------------------------------------------------------------------------


def print_table(r: dict[str, Any]) -> None:
    if "kannel" not in r:
        print_smsgrid_only(r["smsgrid"])
        return
    from rich.console import Console
    from rich.table import Table

    ceiling = r["ceiling"]["requests_per_s"]
    k, s = r["kannel"], r["smsgrid"]
    note = "quick run" if r["quick"] else f"medians of {r['sizes']['trials']} trials"
    table = Table(title=f"smsgrid vs Kannel 1.4.5, whole path ({note}; {r['when']}; machine shared)")
    for column in ("", "accept/s", "reports/s", "@50/s p50/p99", "@200/s p50/p99", "peak RSS"):
        table.add_column(column)

    def lat(x: dict[str, Any], when: str, rate: int) -> str:
        d = x[f"{when}_{rate}"]
        return f"{d['p50_ms']:.1f} / {d['p99_ms']:.1f} ms"

    table.add_row("raw HTTP ceiling (wrk → sink)", f"{ceiling:,.0f}", "—", "", "", "")
    for label, x in (("Kannel (fresh)", k), ("smsgrid (fresh)", s)):
        table.add_row(
            label,
            f"{x['accepts_per_s']:,.0f}",
            f"{x['reports_per_s']:,.0f}",
            lat(x, "fresh", 50),
            lat(x, "fresh", 200),
            f"{x['peak_rss_mb']:.0f} MB",
        )
        table.add_row("  … after saturation", "", "", lat(x, "saturated", 50), lat(x, "saturated", 200), "")
    table.add_row(
        "smsgrid / Kannel",
        f"{s['accepts_per_s'] / k['accepts_per_s']:.2f} ×",
        f"{s['reports_per_s'] / k['reports_per_s']:.2f} ×",
        f"p99 {s['fresh_50']['p99_ms'] / k['fresh_50']['p99_ms']:.2f} ×",
        f"p99 {s['fresh_200']['p99_ms'] / k['fresh_200']['p99_ms']:.2f} ×",
        f"{s['peak_rss_mb'] / k['peak_rss_mb']:.2f} ×",
    )
    table.add_row(
        "smsgrid / ceiling",
        f"{s['accepts_per_s'] / ceiling:.3f} ×",
        f"{s['reports_per_s'] / ceiling:.3f} ×",
        "",
        "",
        "",
    )
    Console().print(table)
    lag = [(w, s[f"{w}_200"]["event_loop_lag"]) for w in ("fresh", "saturated")]
    for when, x in lag:
        print(
            f"smsgrid event-loop lag at 200 sends/s ({when}): p99 ≤ {x['p99_le_ms']:.1f} ms, "
            f"max in the last 10 s {x['max_last_10s_ms']:.1f} ms ({x['samples']:.0f} samples)"
        )
    sat = [t["event_loop_lag"]["max_last_10s_ms"] for t in s["trials"]]
    print(f"smsgrid event-loop lag under the accept batch: max {max(sat):.1f} ms")
    print(f"smsgrid start-up to ready: {s['startup']['median_s'] * 1000:.0f} ms median of {s['startup']['runs']}")
    for label, x in (("Kannel", k), ("smsgrid", s)):
        cpu = ", ".join(f"wrk {t['wrk_cpu_cores']:.2f} / server {t['server_cpu_cores']:.2f}" for t in x["trials"])
        print(f"{label} batches, CPU cores used: {cpu}; statuses {[t['statuses'] for t in x['trials']]}")
        print(f"{label}: server CPU per message, send to report delivered: {x['server_cpu_us_per_message']:,.0f} µs")
    if "profile" in s:
        print("profile of smsgrid under the accept batches (share of samples; self = at the top of the stack):")
        for kind in ("threads", "self", "inclusive"):
            for name, share in s["profile"][kind][:10]:
                print(f"  {kind:9} {share * 100:5.1f} %  {name}")
    print(f"load average before/after: {r['machine']['load_before']} / {r['machine']['load_after']} (shared machine)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")
    sink_cmd = sub.add_parser("sink", help="(internal) the counting HTTP sink")
    sink_cmd.add_argument("--port", type=int, required=True)
    pace_cmd = sub.add_parser("pace", help="(internal) paced sends, printing each message's send time")
    pace_cmd.add_argument("target", choices=["kannel", "smsgrid"])
    pace_cmd.add_argument("--url", required=True)
    pace_cmd.add_argument("--rate", type=float, required=True)
    pace_cmd.add_argument("--total", type=int, required=True)
    parser.add_argument("--quick", action="store_true", help="smaller batches, one trial (under 2 minutes)")
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        metavar="FILE",
        help="profile smsgrid during its batches with py-spy into FILE (collapsed stacks); a profiled run's figures "
        "are a little lower",
    )
    parser.add_argument(
        "--smsgrid-only",
        action="store_true",
        help="measure smsgrid alone (no Kannel, no ceiling, no ratios): to compare two versions of smsgrid",
    )
    args = parser.parse_args()
    import uvloop

    if args.command == "sink":
        uvloop.run(serve_sink(args.port))
    elif args.command == "pace":
        key = base64.b64decode(WELL_KNOWN_ACCESS_KEY)
        print(json.dumps(uvloop.run(_pace(args.target, args.url, args.rate, args.total, key))))
    else:
        write(run(args.quick, args.py_spy, args.smsgrid_only))


def print_smsgrid_only(s: dict[str, Any]) -> None:
    """--smsgrid-only: smsgrid's own figures, for comparing two of its versions run minutes apart (no ratios)."""
    print(f"smsgrid accept/s {s['accepts_per_s']:,.0f}, reports/s {s['reports_per_s']:,.0f}")
    for when in ("fresh", "saturated"):
        for rate in (50, 200):
            d = s[f"{when}_{rate}"]
            worst = d.get("max_ms", float("nan"))
            print(f"  {when:9} @{rate}/s: p50 {d['p50_ms']:.1f} / p99 {d['p99_ms']:.1f} / max {worst:.1f} ms")
    print(f"  server CPU per message, send to report delivered: {s['server_cpu_us_per_message']:,.0f} µs")
    cores = ", ".join(f"{t['server_cpu_cores']:.2f}" for t in s["trials"])
    print(f"  server CPU cores during the accept batches: {cores}; peak RSS {s['peak_rss_mb']:.0f} MB")
    print(f"  start-up to ready: {s['startup']['median_s'] * 1000:.0f} ms median of {s['startup']['runs']}")


def write(results: dict[str, Any]) -> Path:
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    path = out / f"versus-kannel-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"\nresults written to {path}")
    return path


if __name__ == "__main__":
    main()
