"""Scale-out benchmark (not a test): delivery throughput of 1 and 2 worker processes on PostgreSQL, and of one
SQLite process, in one run on this machine. Prints a table with ratios; writes JSON to benchmarks/results/.

    .venv/bin/python -m benchmarks.scale_out                 # 3 rounds of 4,000 messages per setup
    .venv/bin/python -m benchmarks.scale_out --sends 10000 --rounds 5

Method (the same for every setup): an API-only process (`serve --no-dispatch`) accepts N messages with delivery
reports (signed POST /sms from benchmarks/loadgen.py, 32 in flight, 10 recipients each: the ingest rate), with the
receiver (benchmarks/receiver.py, a separate process) subscribed. Nothing is delivered yet: the backlog is N carrier
jobs. Then the dispatching processes start — for SQLite the one `smsgrid serve` on that file, for PostgreSQL 1 or 2
`smsgrid worker`s — and drain it: carrier → delivery report event → webhook POST (one event per request, Event
Grid's default). The delivery rate is N / (last report − first report) as the receiver saw them. A fresh
PostgreSQL 15 cluster (tests/postgres_support.py) is made for the run; every setup and round gets its own database.
The setups run in interleaved rounds and the table shows medians: on a shared machine single runs vary a lot.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.run import Receiver, receiver
from smsgrid.testing.plugin import subscribe
from smsgrid.testing.process import SmsgridProcess, free_port

ROOT = Path(__file__).resolve().parent
PY = sys.executable
CONFIG = "[carrier]\ndelay_ms = 0\n"
RECIPIENTS_PER_REQUEST = 10
CONCURRENCY = 32
READY_SECONDS = 60.0


def start_process(command: str, data_dir: Path, args: list[str]) -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "bench.toml").write_text(CONFIG)
    log = (data_dir / f"{command}.log").open("ab")
    return subprocess.Popen(
        [PY, "-m", "smsgrid", command, "--data-dir", str(data_dir), "--config", str(data_dir / "bench.toml"), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "SMSGRID_THROTTLING": "off"},
    )


def wait_worker_ready(proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while "smsgrid worker is ready" not in log_path.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.05)


def api(data_dir: Path, args: list[str]) -> SmsgridProcess:
    (data_dir / "bench.toml").parent.mkdir(parents=True, exist_ok=True)
    (data_dir / "bench.toml").write_text(CONFIG)
    # Throttling off: the benchmark measures the engine, far over ACS's 200 messages a minute per number.
    process = SmsgridProcess(
        data_dir=data_dir,
        port=free_port(),
        tls_port=0,
        args=("--config", str(data_dir / "bench.toml"), *args),
        env={"SMSGRID_THROTTLING": "off"},
    )
    return process.start()


def ingest(process: SmsgridProcess, sends: int) -> dict[str, Any]:
    requests = max(1, sends // RECIPIENTS_PER_REQUEST)
    out = subprocess.run(
        [PY, "-m", "benchmarks.loadgen", "send", "--url", process.base_url, "--concurrency", str(CONCURRENCY),
         "--total", str(requests), "--recipients", str(RECIPIENTS_PER_REQUEST)],
        cwd=ROOT.parent, capture_output=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout)
    return {"messages": result["recipients"], "errors": result["errors"], "per_s": result["recipients_per_s"]}


def drain(rx: Receiver, expected: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    stats = rx.stats()
    while stats["events"] < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        stats = rx.stats()
    span = max(1e-9, stats["last_at"] - stats["first_at"])
    return {"reports": stats["events"], "seconds": span, "per_s": stats["events"] / span}


def run_setup(name: str, rx: Receiver, sends: int, db_url: str | None, workers: int, root: Path) -> dict[str, Any]:
    """Accept `sends` messages through an API-only process, then time how fast the dispatchers drain them."""
    folder = root / name
    rx.control(reset=True, status=200)
    db_args = ["--db", db_url] if db_url else []
    front = api(folder / "api", [*db_args, "--no-dispatch"])
    try:
        subscribe(front, "bench", rx.url)
        accepted = ingest(front, sends)
    finally:
        if db_url is None:
            front.stop()  # SQLite: the single dispatching `serve` takes over the file
    dispatchers: list[subprocess.Popen[bytes]] = []
    try:
        if db_url is None:
            dispatcher = api(folder / "api", [])  # the same data dir, so the same SQLite file
            started = time.time()
            result = drain(rx, accepted["messages"], timeout=600)
            dispatcher.stop()
        else:
            for n in range(workers):
                dispatchers.append(start_process("worker", folder / f"worker{n + 1}", ["--db", db_url]))
            for n, proc in enumerate(dispatchers):
                wait_worker_ready(proc, folder / f"worker{n + 1}" / "worker.log")
            started = time.time()
            result = drain(rx, accepted["messages"], timeout=600)
    finally:
        for proc in dispatchers:
            proc.terminate()
            proc.wait(30)
        front.stop()
    row = {"setup": name, "workers": workers, "ingest": accepted, "delivery": result, "ready_at": started}
    print(f"  {name:<22} ingest {accepted['per_s']:8.0f} msg/s   delivery {result['per_s']:8.0f} reports/s", flush=True)
    return row


SETUPS = (("sqlite, 1 process", 0), ("postgresql, 1 worker", 1), ("postgresql, 2 workers", 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=4000, help="messages per setup and round (default 4000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all setups, interleaved (default 3)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT.parent))
    from tests.postgres_support import remove_cluster, start_cluster

    root = Path(tempfile.mkdtemp(prefix="smsgrid-scale-"))
    cluster = start_cluster()
    rows: list[dict[str, Any]] = []
    try:
        with receiver() as rx:
            print(f"scale-out benchmark: {args.sends} messages per setup, {args.rounds} rounds, {os.cpu_count()} CPUs")
            # Rounds interleave the setups, so a neighbour's load on a shared machine hits them all alike.
            for round_no in range(1, args.rounds + 1):
                for name, workers in SETUPS:
                    url = cluster.url(cluster.create_database(f"bench{workers}")) if workers else None
                    row = run_setup(f"{name} #{round_no}", rx, args.sends, url, max(workers, 1), root)
                    rows.append({**row, "setup": name, "round": round_no})
    finally:
        remove_cluster(cluster)
        shutil.rmtree(root, ignore_errors=True)
    summary = {
        name: {
            "delivery_per_s": statistics.median(r["delivery"]["per_s"] for r in rows if r["setup"] == name),
            "delivery_range": [f(r["delivery"]["per_s"] for r in rows if r["setup"] == name) for f in (min, max)],
            "ingest_per_s": statistics.median(r["ingest"]["per_s"] for r in rows if r["setup"] == name),
        }
        for name, _ in SETUPS
    }
    sqlite, pg1, pg2 = (summary[name]["delivery_per_s"] for name, _ in SETUPS)
    ratios = {
        "postgresql_1_worker_vs_sqlite": pg1 / sqlite,
        "postgresql_2_workers_vs_1": pg2 / pg1,
        "postgresql_2_workers_vs_sqlite": pg2 / sqlite,
    }
    print()
    print("| setup                 | ingest msg/s | delivery reports/s (median) | min – max   | vs SQLite |")
    print("|-----------------------|-------------:|----------------------------:|-------------|----------:|")
    for name, _ in SETUPS:
        item = summary[name]
        low, high = item["delivery_range"]
        rate = item["delivery_per_s"]
        print(
            f"| {name:<21} | {item['ingest_per_s']:12.0f} | {rate:27.0f} | {f'{low:.0f} – {high:.0f}':<11} "
            f"| {rate / sqlite:8.2f}x |"
        )
    print()
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}")
    results = ROOT / "results"
    results.mkdir(exist_ok=True)
    path = results / f"scale_out-{time.strftime('%Y%m%d-%H%M%S')}.json"
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}
    document = {"benchmark": "scale_out", "sends": args.sends, "rounds": args.rounds, "machine": machine,
                "summary": summary, "ratios": ratios, "rows": rows}  # fmt: skip
    path.write_text(json.dumps(document, indent=2))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
