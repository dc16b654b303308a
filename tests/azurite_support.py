"""Azurite, Microsoft's Azure Storage emulator, for the destination tests: installed from npm at test time into
a gitignored cache (`test-artifacts/npm-azurite`, pinned), run on free loopback ports in memory.

Without node/npm the tests skip, and FAIL under CI=true (house rules: a missing tool is a broken environment).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from smsgrid.testing.process import free_port

AZURITE_VERSION = "3.35.0"
CACHE = Path(__file__).resolve().parent.parent / "test-artifacts" / "npm-azurite"
# Azurite's documented development account and key (public, like smsgrid's well-known key).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def azurite_bin_dir() -> Path:
    """`node_modules/.bin` holding azurite-queue and azurite-blob; npm-installed once per checkout."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _missing("node and npm are needed to run Azurite (apt-get install nodejs npm)")
    bin_dir = CACHE / "node_modules" / ".bin"
    installed = CACHE / "node_modules" / "azurite" / "package.json"
    if not installed.exists() or f'"version": "{AZURITE_VERSION}"' not in installed.read_text(encoding="utf-8"):
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", f"azurite@{AZURITE_VERSION}"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            _missing(f"npm could not install azurite@{AZURITE_VERSION}: {done.stderr[-2000:]}")
    return bin_dir


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Azurite exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"Azurite did not listen on {port} within {timeout} s")


@dataclass
class Azurite:
    queue_port: int
    blob_port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def queue_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.queue_port}/{ACCOUNT}"

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.blob_port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"QueueEndpoint={self.queue_endpoint};BlobEndpoint={self.blob_endpoint};"
        )

    def toml(self, *, key: str = KEY) -> str:
        """The `[storage_accounts]` section that points smsgrid at this Azurite."""
        return (
            f"[storage_accounts.{ACCOUNT}]\n"
            f'queue_endpoint = "{self.queue_endpoint}"\n'
            f'blob_endpoint = "{self.blob_endpoint}"\n'
            f'key = "{key}"\n'
        )

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """azurite-queue and azurite-blob on free loopback ports, in memory, for the whole session."""
    bin_dir = azurite_bin_dir()
    server = Azurite(queue_port=free_port(), blob_port=free_port())
    with tempfile.TemporaryDirectory(prefix="azurite-") as workdir:
        try:
            for command, host_flag, port_flag, port in (
                ("azurite-queue", "--queueHost", "--queuePort", server.queue_port),
                ("azurite-blob", "--blobHost", "--blobPort", server.blob_port),
            ):
                process = subprocess.Popen(
                    [
                        str(bin_dir / command),
                        host_flag,
                        "127.0.0.1",
                        port_flag,
                        str(port),
                        "--inMemoryPersistence",
                        "--skipApiVersionCheck",
                        "--silent",
                    ],
                    cwd=workdir,  # where Azurite would put a debug log; nothing is persisted in memory mode
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                server.processes.append(process)
                _wait_listening(port, process)
            yield server
        finally:
            server.stop()
