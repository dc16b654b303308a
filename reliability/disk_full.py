"""Disk trouble: the filesystem holding the SQLite database (and its -wal) fills up, then gets space back.

Running as root, `chmod` stops nothing, and a filesystem cannot be remounted read-only while SQLite holds the
database open for writing (the kernel answers EBUSY); `chattr +i` only stops new opens, not writes through the
descriptors SQLite already has. What really happens to a server is ENOSPC, and that is what is played here: the
database lives on a small tmpfs mounted for the run (`mount -t tmpfs -o size=...`), a filler file takes the
rest of its space, and deleting the filler gives the space back.

Checked: while full, sends are answered 503 in Azure's error shape (SPEC §2; `StoreUnavailableError`), reads still
work; nothing is half-written (a send answered 503 left no message behind); once space returns the server
recovers by itself, and every send answered 202 (before, during or after) gets its delivery report.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reliability.clients import (
    REPORT_EVENT,
    SignedClient,
    accepted_ids,
    admin_get,
    arrivals,
    handset,
    subscribe,
    tally,
    wait_until,
)
from smsgrid.testing import SmsgridProcess, WebhookSink, start_smsgrid

SLOW_HANDSETS = "+1206555*"  # their reports come due while the disk is full: the carrier must retry them
CONFIG = f"""
[carrier]
delay_ms = 20

[[carrier.rules]]
to = "{SLOW_HANDSETS}"
delay_ms = 400
"""
LOAD_THREADS = 4
LONG_MESSAGE = "disk-full " + "x" * 2000  # long rows fill the WAL's slack quickly
FILLER_CHUNK = b"\0" * (64 * 1024)


class DiskFaultUnavailable(RuntimeError):
    """This machine cannot mount a filesystem for the test (not root, or no tmpfs)."""


@contextlib.contextmanager
def small_filesystem(mount_point: Path, size_mb: int) -> Iterator[Path]:
    mount_point.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DiskFaultUnavailable(f"cannot mount a tmpfs at {mount_point}: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)


def fill(path: Path) -> int:
    """Write zeros to `path` until the filesystem says ENOSPC; returns the bytes written."""
    written = 0
    # Unbuffered: a buffered file retries its last partial chunk on close and raises ENOSPC there.
    with path.open("wb", buffering=0) as filler:
        try:
            while True:
                written += filler.write(FILLER_CHUNK)
                filler.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    # A tmpfs may still take a last partial page: top it up byte by byte is not needed, SQLite writes pages.
    return written


@dataclass
class DiskFullFigures:
    acknowledged_before: int = 0
    sends_while_full: int = 0
    refused_503: int = 0
    refused_in_azure_shape: int = 0
    accepted_while_full: int = 0  # the WAL still had room for these
    other_statuses: dict[int, int] = field(default_factory=dict)
    reads_while_full_ok: bool = False
    half_written: int = 0  # answered 503, yet the message exists
    recovery_seconds: float = -1.0  # from freeing space to the first 202
    acknowledged_total: int = 0
    lost: int = 0
    integrity: str = ""
    server_errors_logged: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.refused_503 > 0
            and self.refused_in_azure_shape == self.refused_503
            and not self.other_statuses
            and self.half_written == 0
            and self.recovery_seconds >= 0
            and self.lost == 0
            and self.integrity == "ok"
        )

    def lines(self) -> list[str]:
        return [
            f"sends while the disk was full     {self.sends_while_full} ({self.accepted_while_full} still fit)",
            f"answered 503 (Azure error shape)  {self.refused_503} ({self.refused_in_azure_shape})",
            f"other answers while full          {self.other_statuses or 'none'}",
            f"reads while full                  {'ok' if self.reads_while_full_ok else 'FAILED'}",
            f"half-written (503 but stored)     {self.half_written}",
            f"recovered after space returned    {self.recovery_seconds:.2f} s",
            f"acknowledged sends / lost reports {self.acknowledged_total} / {self.lost}",
            f"SQLite integrity_check            {self.integrity}",
            f"server ERROR lines / tracebacks   {self.server_errors_logged}",
        ]


def run_disk_full(work_dir: Path, *, size_mb: int = 8, full_seconds: float = 1.5) -> DiskFullFigures:
    """Fill the database's filesystem under load for `full_seconds`, free it, and account for every send."""
    from reliability.crash_loop import count_server_errors

    figures = DiskFullFigures()
    mount_point = work_dir / "db-filesystem"
    with small_filesystem(mount_point, size_mb), WebhookSink() as sink:
        database = mount_point / "smsgrid.db"
        server = start_smsgrid(
            work_dir / "disk-full", config=CONFIG, args=("--db", f"sqlite:///{database}"), throttling=False
        )
        ledger = _FullLedger()
        try:
            subscribe(server, "disk-full", sink.url)
            with SignedClient(server) as client:
                for n in range(5):
                    ledger.acked.update(accepted_ids(client.send([handset(n)], "before")))
                figures.acknowledged_before = len(ledger.acked)
                wait_until(lambda: ledger.acked <= set(tally(arrivals(sink), REPORT_EVENT)), 30)
                # Carrier work that comes due while the disk is full.
                slow = [f"+1206555{n:04d}" for n in range(20)]
                ledger.acked.update(accepted_ids(client.send(slow, "due while full")))
                filler = mount_point / "filler"
                fill(filler)
                threads = [
                    threading.Thread(target=_load, args=(server, ledger, t, full_seconds), daemon=True)
                    for t in range(LOAD_THREADS)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=full_seconds + 30)
                figures.reads_while_full_ok = _reads_work(server)
                freed_at = time.monotonic()
                filler.unlink()
                for n in range(600):  # bounded: 60 s at most
                    response = client.send([handset(900_000 + n)], "after")
                    if response.status_code == 202:
                        figures.recovery_seconds = time.monotonic() - freed_at
                        ledger.acked.update(accepted_ids(response))
                        break
                    time.sleep(0.1)
            ledger.fold_into(figures)
            acked = ledger.acked
            wait_until(lambda: acked <= set(tally(arrivals(sink), REPORT_EVENT)), 60)
            figures.acknowledged_total = len(acked)
            figures.lost = len(acked - set(tally(arrivals(sink), REPORT_EVENT)))
            stored = {m["to"] for m in admin_get(server, "/admin/messages", limit=1000)["value"]}
            figures.half_written = len(stored & set(ledger.refused_numbers))
            figures.server_errors_logged = count_server_errors(server.log())
        finally:
            server.stop()
        figures.integrity = _integrity(database)
    return figures


class _FullLedger:
    """What the load threads saw while the disk was full."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: set[str] = set()
        self.refused_numbers: list[str] = []
        self.sends = self.accepted = self.refused = self.azure_shaped = 0
        self.other: dict[int, int] = {}
        self.problems: list[str] = []

    def record(self, number: str, response: httpx.Response) -> None:
        with self.lock:
            self.sends += 1
            if response.status_code == 202:
                self.accepted += 1
                self.acked.update(accepted_ids(response))
            elif response.status_code == 503:
                self.refused += 1
                self.refused_numbers.append(number)
                self.azure_shaped += _is_azure_error(response)
            else:
                self.other[response.status_code] = self.other.get(response.status_code, 0) + 1
                self.problems.append(f"{response.status_code}: {response.text[:300]}")

    def fold_into(self, figures: DiskFullFigures) -> None:
        figures.sends_while_full = self.sends
        figures.accepted_while_full = self.accepted
        figures.refused_503 = self.refused
        figures.refused_in_azure_shape = self.azure_shaped
        figures.other_statuses = dict(self.other)
        figures.problems.extend(self.problems)


def _load(server: SmsgridProcess, ledger: _FullLedger, thread: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    with SignedClient(server) as client:
        for n in range(5000):  # bounded in count as well as in time
            if time.monotonic() >= deadline:
                return
            number = handset(100_000 * (thread + 1) + n)
            try:
                ledger.record(number, client.send([number], LONG_MESSAGE))
            except httpx.HTTPError as exc:
                with ledger.lock:
                    ledger.problems.append(f"transport error while full: {exc!r}")
            time.sleep(0.01)


def _is_azure_error(response: httpx.Response) -> bool:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error.get("code"), str) and isinstance(error.get("message"), str)


def _reads_work(server: SmsgridProcess) -> bool:
    try:
        admin_get(server, "/admin/messages", limit=10)
        admin_get(server, "/admin/events", limit=10)
    except httpx.HTTPError:
        return False
    return True


def _integrity(database: Path) -> str:
    conn = sqlite3.connect(database)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def can_mount() -> bool:
    """True when this process may mount a tmpfs (root, or CAP_SYS_ADMIN)."""
    return os.geteuid() == 0
