"""A full disk is logged as an outage, not as a flood (SECURITY.md, 'Availability').

Before, every refused send logged a WARNING and every carrier retry an ERROR with a whole traceback: a line or
more per request and per second, written to the disk that is full. Now each source (the API, the carrier) logs
the outage once when it starts and once when it ends, without a traceback (smsgrid/store/outage_log.py).
Needs root (it mounts a small tmpfs, as tests/reliability/test_disk_full.py); skipped elsewhere.
"""

from __future__ import annotations

import errno
import time
from pathlib import Path

import pytest
from reliability.clients import SignedClient, accepted_ids, admin_get, handset
from reliability.disk_full import DiskFaultUnavailable, can_mount, small_filesystem

from smsgrid.testing import start_smsgrid

SLOW = "+1206555*"
CONFIG = f"""
[carrier]
delay_ms = 20

[[carrier.rules]]
to = "{SLOW}"
delay_ms = 300
"""
LONG_MESSAGE = "outage " + "x" * 2000  # long rows use up the WAL's slack quickly
REFUSALS_WANTED = 20


def _fill(path: Path) -> None:
    """Write zeros to `path` until ENOSPC. Unbuffered: a buffered file would retry its last partial chunk on
    close and raise ENOSPC there (as reliability.disk_full.fill sometimes does)."""
    chunk = b"\0" * (64 * 1024)
    with path.open("wb", buffering=0) as filler:
        try:
            for _ in range(100_000):  # bounded: 6 GB, far more than the 8 MB filesystem
                filler.write(chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise


def _lines(log: str, logger: str, text: str) -> list[str]:
    return [line for line in log.splitlines() if f" {logger}: " in line and text in line]


@pytest.mark.skipif(not can_mount(), reason="mounting a tmpfs needs root")
def test_a_full_disk_is_logged_once_as_it_starts_and_once_as_it_ends(tmp_path: Path) -> None:
    mount_point = tmp_path / "db-filesystem"
    try:
        with small_filesystem(mount_point, size_mb=8):
            database = mount_point / "smsgrid.db"
            server = start_smsgrid(tmp_path / "data", config=CONFIG, args=("--db", f"sqlite:///{database}"))
            try:
                with SignedClient(server) as client:
                    # Carrier work that comes due while the disk is full: the carrier retries it every second.
                    due_while_full = accepted_ids(client.send([f"+1206555{n:04d}" for n in range(10)], "due"))
                    assert len(due_while_full) == 10
                    filler = mount_point / "filler"
                    _fill(filler)
                    refused = 0
                    started = time.monotonic()
                    for n in range(2000):  # bounded in count and in time; the carrier fails meanwhile
                        refused += client.send([handset(830_000 + n)], LONG_MESSAGE).status_code == 503
                        if refused >= REFUSALS_WANTED and time.monotonic() - started > 2.5:
                            break
                        if time.monotonic() - started > 20:
                            break
                        time.sleep(0.02)
                    assert refused >= REFUSALS_WANTED, f"only {refused} sends were refused; the disk never filled"
                    filler.unlink()
                    for n in range(300):  # bounded: 30 s at most
                        if client.send([handset(831_000 + n)], "after").status_code == 202:
                            break
                        time.sleep(0.1)
                    else:
                        pytest.fail("no send was accepted after the space came back")
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    messages = admin_get(server, "/admin/messages", limit=1000)["value"]
                    finished = {m["messageId"] for m in messages if m["status"] in ("delivered", "failed")}
                    if set(due_while_full) <= finished:
                        break
                    time.sleep(0.2)
                else:
                    pytest.fail("the carrier did not finish the work that came due while the disk was full")
            finally:
                server.stop()
    except DiskFaultUnavailable as exc:
        pytest.skip(str(exc))
    log = server.log()
    assert "Traceback" not in log
    assert " ERROR " not in log
    for logger in ("smsgrid.api", "smsgrid.carrier"):
        assert len(_lines(log, logger, "the store is unavailable")) == 1, (logger, log[-3000:])
        assert len(_lines(log, logger, "the store is available again")) == 1, (logger, log[-3000:])
    # The refusals are counted, not listed: far fewer lines than refused sends.
    assert len(_lines(log, "smsgrid.api", "store")) == 2
