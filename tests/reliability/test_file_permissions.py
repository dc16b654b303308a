"""Private files: the data dir smsgrid creates is 0700, the SQLite database and its -wal and -shm are 0600
(SECURITY.md: they hold every message text and phone number; the TLS key is 0600 too).

The server runs with the common umask 022, under which SQLite alone would create 0644 files and `mkdir` 0755.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability.clients import SignedClient, handset

from smsgrid.testing import SmsgridProcess, free_port, start_smsgrid

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
