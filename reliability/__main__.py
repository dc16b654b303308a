"""`python -m reliability [--full] [--only NAME ...]`: run every scenario against real smsgrid processes and print
its figures. Loopback only; every loop is bounded; exits 1 if a scenario broke a promise (lost a 202, answered
5xx, ...). The short run takes a minute or two; `--full` several minutes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class Figures(Protocol):
    @property
    def ok(self) -> bool: ...

    def lines(self) -> list[str]: ...


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    run: Callable[[Path, bool], Figures]


def _crash_loop(work: Path, full: bool) -> Figures:
    from reliability.crash_loop import run_crash_loop

    return run_crash_loop(work, cycles=20 if full else 3, progress=_progress)


def _crash_loop_postgres(work: Path, full: bool) -> Figures:
    from tests.postgres_support import find_pg_bin, remove_cluster, start_cluster

    from reliability.crash_loop import CLAIM_LEASE_SECONDS, run_crash_loop

    if find_pg_bin() is None:
        return _Skipped("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    cluster = start_cluster()
    try:
        url = cluster.url(cluster.create_database("reliability"))
        return run_crash_loop(
            work, cycles=10 if full else 2, settle_timeout=CLAIM_LEASE_SECONDS + 60, db_url=url, progress=_progress
        )
    finally:
        remove_cluster(cluster)


def _receiver_outage(work: Path, full: bool) -> Figures:
    from reliability.receiver_outage import run_receiver_outage

    return run_receiver_outage(work, events=20 if full else 4, dead_letters=5 if full else 2)


def _slow_endpoints(work: Path, full: bool) -> Figures:
    from reliability.slow_endpoints import run_slow_endpoints

    return run_slow_endpoints(work, events=1000 if full else 300, repeats=3 if full else 1)


def _disk_full(work: Path, full: bool) -> Figures:
    from reliability.disk_full import DiskFaultUnavailable, run_disk_full

    try:
        return run_disk_full(work, full_seconds=5.0 if full else 1.5)
    except DiskFaultUnavailable as exc:
        return _Skipped(str(exc))


def _api_fuzz(work: Path, full: bool) -> Figures:
    from reliability.api_fuzz import run_api_fuzz

    return run_api_fuzz(work, examples_per_operation=40 if full else 5)


def _http_abuse(work: Path, full: bool) -> Figures:
    from reliability.http_abuse import run_http_abuse

    return run_http_abuse(work, connections=500 if full else 100, hold_seconds=30.0 if full else 6.0)


SCENARIOS = [
    Scenario("crash-loop", "Crash loop (SIGKILL under load, SQLite)", _crash_loop),
    Scenario("crash-loop-postgres", "Crash loop (SIGKILL under load, PostgreSQL)", _crash_loop_postgres),
    Scenario("receiver-outage", "Receiver outage (503, then down, five retry steps; dead letters)", _receiver_outage),
    Scenario("slow-endpoints", "Hanging and dead endpoints beside a healthy one", _slow_endpoints),
    Scenario("disk-full", "Disk full under the SQLite database", _disk_full),
    Scenario("api-fuzz", "schemathesis against GET /openapi.json", _api_fuzz),
    Scenario("http-abuse", "Oversized bodies and slowloris clients", _http_abuse),
]


@dataclass
class _Skipped:
    reason: str

    @property
    def ok(self) -> bool:
        return True

    def lines(self) -> list[str]:
        return [f"skipped: {self.reason}"]


def _progress(text: str) -> None:
    print(f"    … {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the long run (20 crash cycles, 1,000+ fuzz cases, ...)")
    parser.add_argument("--only", nargs="+", choices=[s.name for s in SCENARIOS], help="run only these scenarios")
    args = parser.parse_args(argv)
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    failed: list[str] = []
    started = time.monotonic()
    print(f"smsgrid reliability suite ({'full' if args.full else 'short'} run)\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="smsgrid-reliability-") as tmp:
        for scenario in chosen:
            print(f"== {scenario.title}", flush=True)
            scenario_started = time.monotonic()
            work = Path(tmp) / scenario.name
            work.mkdir()
            try:
                figures = scenario.run(work, args.full)
            except Exception:
                traceback.print_exc()
                failed.append(scenario.name)
                print(f"   FAILED with an error after {time.monotonic() - scenario_started:.1f} s\n", flush=True)
                continue
            for line in figures.lines():
                print(f"   {line}")
            verdict = "ok" if figures.ok else "BROKEN PROMISE"
            print(f"   -> {verdict} ({time.monotonic() - scenario_started:.1f} s)\n", flush=True)
            if not figures.ok:
                failed.append(scenario.name)
    print(f"{len(chosen) - len(failed)} passed, {len(failed)} failed in {time.monotonic() - started:.0f} s")
    if failed:
        print("broken: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
