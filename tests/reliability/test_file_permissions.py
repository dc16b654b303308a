"""Private files: the data dir smsgrid creates is 0700, the SQLite database and its -wal and -shm are 0600
(SECURITY.md: they hold every message text and phone number; the TLS key is 0600 too).

The server runs with the common umask 022, under which SQLite alone would create 0644 files and `mkdir` 0755.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability.clients import SignedClient, handset

from smsgrid.testing import SmsgridProcess, free_port, start_smsgrid
from tests.postgres_support import PostgresCluster

DATABASE_FILES = ("smsgrid.db", "smsgrid.db-wal", "smsgrid.db-shm")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[SmsgridProcess]:
    """`smsgrid serve` on a data dir that does not exist yet (start_smsgrid would create it first)."""
    data_dir = tmp_path / "not-yet" / "data"
    process = SmsgridProcess(data_dir=data_dir, port=free_port(), tls_port=free_port())
    command = [sys.executable, "-m", "smsgrid", "serve", "--port", str(process.port),
               "--tls-port", str(process.tls_port), "--data-dir", str(data_dir)]  # fmt: skip
    process.log_path = tmp_path / "server.log"
    with process.log_path.open("ab") as log:
        process.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, umask=0o022)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def test_a_data_dir_smsgrid_creates_is_private_and_so_is_the_database(fresh_server: SmsgridProcess) -> None:
    with SignedClient(fresh_server) as client:
        assert client.send([handset(820_000)], "private").status_code == 202  # something in the -wal
    data_dir = fresh_server.data_dir
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir.parent) & 0o077 != 0, "parents are the user's own business (only the leaf is ours)"
    for name in DATABASE_FILES:
        assert _mode(data_dir / name) == 0o600, name
    assert _mode(data_dir / "tls" / "key.pem") == 0o600


def test_a_database_elsewhere_is_private_too(tmp_path: Path) -> None:
    """`--db sqlite:///…` in a folder that does not exist: the folder is 0700, the files 0600."""
    folder = tmp_path / "db-folder"
    server = start_smsgrid(tmp_path / "data", args=("--db", f"sqlite:///{folder / 'smsgrid.db'}"))
    try:
        with SignedClient(server) as client:
            assert client.send([handset(820_001)], "private").status_code == 202
        assert _mode(folder) == 0o700
        for name in DATABASE_FILES:
            assert _mode(folder / name) == 0o600, name
    finally:
        server.stop()


# The key is born private: an audit hook (PEP 578) looks at the key's file at every chmod and rename of it, so
# a key written with the umask's mode and chmod-ed afterwards (a window in which others may open it) is caught.
KEY_BIRTH_PROBE = """
import os, stat, sys
from pathlib import Path
seen = []
def hook(event, args):
    if event in ("os.chmod", "os.rename") and str(args[0]).endswith(("key.tmp", "key.pem")):
        path = Path(args[0])
        if path.exists():
            seen.append((event, oct(stat.S_IMODE(path.stat().st_mode))))
sys.addaudithook(hook)
os.umask(0o022)
from smsgrid.tls import ensure_certificate
ensure_certificate(Path(sys.argv[1]))
print(seen)
"""


def test_the_tls_private_key_is_never_readable_by_others(tmp_path: Path) -> None:
    ran = subprocess.run(
        [sys.executable, "-c", KEY_BIRTH_PROBE, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    seen = ran.stdout.strip()
    assert "os.rename" in seen, seen  # the probe saw the key being put in place
    assert "0o644" not in seen, f"the key existed with another mode before it was private: {seen}"
    assert _mode(tmp_path / "data" / "tls" / "key.pem") == 0o600


def test_dead_letter_files_are_private(tmp_path: Path) -> None:
    """They hold message texts and phone numbers, like the database (written 0644 before, under umask 022)."""
    from smsgrid.delivery.deadletter_files import write_blob

    previous = os.umask(0o022)
    try:
        path = tmp_path / "deadletters" / "SUB" / "2026" / "1" / "2" / "3" / "x.json"
        write_blob(path, [{"id": "1", "data": {"message": "private"}}])
    finally:
        os.umask(previous)
    assert _mode(path) == 0o600


def test_smsgrid_worker_makes_its_data_dir_private_and_honours_smsgrid_data_dir(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    url = postgres_cluster.url(postgres_cluster.create_database("workerdir"))
    data_dir = tmp_path / "from-env" / "data"
    log_path = tmp_path / "worker.log"
    with log_path.open("ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "smsgrid", "worker", "--db", url],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env={**os.environ, "SMSGRID_DATA_DIR": str(data_dir)},
            umask=0o022,
        )
    try:
        deadline = time.monotonic() + 30
        while "smsgrid worker is ready" not in log_path.read_text() and time.monotonic() < deadline:
            assert worker.poll() is None, log_path.read_text()
            time.sleep(0.1)
        assert "smsgrid worker is ready" in log_path.read_text(), log_path.read_text()
        assert not (tmp_path / ".smsgrid").exists(), "the worker ignored SMSGRID_DATA_DIR"
        assert _mode(data_dir) == 0o700
    finally:
        worker.terminate()
        worker.wait(timeout=30)
