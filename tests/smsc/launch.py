"""Start a test SMSC as its own process, read its PDU log, inject handset messages, stop it by its pid.

    with start_net_smpp_smsc(tmp_path, "--ids", "hex") as smsc:      # Debian's Net::SMPP
        ...  # an ESME binds to 127.0.0.1:smsc.port
        smsc.inject_mo(SpoolMo(source_addr="447700900123", destination_addr="447700900456", short_message_hex=...))
        smsc.wait_spool_empty()
        assert smsc.count("submit_sm") == 1

    with start_fault_smsc(tmp_path, "withhold_responses=true") as smsc:   # tests/smsc/fault_smsc.py
        ...

Fixtures `net_smpp_smsc` and `fault_smsc_process` give the same with default options. Where perl or Net::SMPP is
missing the test is skipped, except under CI=true, where it fails: a missing tool there is a broken machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.smsc.wire import SpoolMo, write_spool_file

HERE = Path(__file__).resolve().parent
NET_SMPP_SCRIPT = HERE / "net_smpp_smsc.pl"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def net_smpp_missing() -> str | None:
    """Why the Net::SMPP SMSC cannot run here, or None."""
    perl = shutil.which("perl")
    if perl is None:
        return "perl is not installed"
    probe = subprocess.run([perl, "-MNet::SMPP", "-e1"], capture_output=True, timeout=30, check=False)
    if probe.returncode != 0:
        return "Net::SMPP is not installed (apt-get install libnet-smpp-perl)"
    return None


def require_net_smpp() -> None:
    missing = net_smpp_missing()
    if missing is None:
        return
    # In CI a missing tool is a broken environment, not a reason to pass quietly (as tests/postgres_support.py).
    if os.environ.get("CI") == "true":
        pytest.fail(missing)
    pytest.skip(missing)


@dataclass
class SmscProcess:
    """A running SMSC process: where it listens, its PDU log and its MO spool."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    spool: Path
    stderr_path: Path

    def pdus(self, command: str | None = None, direction: str = "in") -> list[dict[str, Any]]:
        """The logged PDUs in one direction ("in": sent by ESMEs), optionally of one command, in order."""
        if not self.log_path.exists():
            return []
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        # A line still being written (a read can see part of a write) is left for the next call.
        lines = text[: text.rfind("\n") + 1].splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        return [r for r in records if r["dir"] == direction and (command is None or r["command"] == command)]

    def count(self, command: str, direction: str = "in") -> int:
        return len(self.pdus(command, direction))

    def wait_count(self, command: str, count: int, timeout: float = 10.0, direction: str = "in") -> int:
        """Wait (bounded) until at least *count* such PDUs are logged; returns how many there are."""
        _wait_until(lambda: self.count(command, direction) >= count, timeout)
        return self.count(command, direction)

    def inject_mo(self, mo: SpoolMo, name: str | None = None) -> Path:
        """Queue a handset message; the SMSC sends it to a receiving bind and deletes the file once acknowledged."""
        return write_spool_file(self.spool, name or f"mo-{time.time_ns()}-{uuid.uuid4().hex[:6]}", mo)

    def wait_mo_back(self, name: str, timeout: float = 10.0) -> bool:
        """True once spool file *name* (without ".json") is back, unclaimed: its MO went out and was not taken."""
        return _wait_until((self.spool / f"{name}.json").exists, timeout)

    def wait_spool_empty(self, timeout: float = 10.0) -> bool:
        """True once every injected MO was acknowledged with status 0 (nothing left, claimed or not)."""
        return _wait_until(
            lambda: not any(p for p in self.spool.iterdir() if ".json" in p.name and not p.name.endswith(".writing")),
            timeout,
        )

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM to our own process (it stops its children), bounded wait, then SIGKILL."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _start(command: list[str], folder: Path) -> SmscProcess:
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "pdus.jsonl"
    spool = folder / "spool"
    spool.mkdir(exist_ok=True)
    stderr_path = folder / "stderr.txt"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [*command, "--log", str(log_path), "--spool", str(spool)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=HERE.parent.parent,
        )
    try:
        port = _read_port(proc, stderr_path)
    except BaseException:
        proc.kill()
        proc.wait(STOP_TIMEOUT)
        raise
    return SmscProcess(proc, port, log_path, spool, stderr_path)


def _read_port(proc: subprocess.Popen[bytes], stderr_path: Path) -> int:
    """The port from the first stdout line ("listening on PORT"), waiting at most START_TIMEOUT."""
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    while time.monotonic() < deadline:
        chunk = proc.stdout.read(256) or b""
        line += chunk
        if b"\n" in line:
            first = line.split(b"\n", 1)[0].decode()
            if first.startswith("listening on "):
                return int(first.rsplit(" ", 1)[1])
            raise RuntimeError(f"SMSC said {first!r}")
        if proc.poll() is not None:
            raise RuntimeError(f"SMSC exited with {proc.returncode}: {stderr_path.read_text(errors='replace')}")
        time.sleep(0.02)
    raise TimeoutError(f"SMSC did not listen within {START_TIMEOUT} s")


@contextlib.contextmanager
def start_net_smpp_smsc(folder: Path, *options: str) -> Iterator[SmscProcess]:
    """Debian's Net::SMPP SMSC (net_smpp_smsc.pl) with the given command-line options; see its header."""
    require_net_smpp()
    smsc = _start(["perl", str(NET_SMPP_SCRIPT), "--port", "0", *options], folder)
    try:
        yield smsc
    finally:
        smsc.stop()


@contextlib.contextmanager
def start_fault_smsc(folder: Path, *scenario: str) -> Iterator[SmscProcess]:
    """The fault SMSC as a process; each *scenario* item is "name=value" (fault_smsc.Scenario's fields)."""
    options = [option for item in scenario for option in ("--scenario", item)]
    smsc = _start([sys.executable, "-m", "tests.smsc.fault_smsc", "--port", "0", *options], folder)
    try:
        yield smsc
    finally:
        smsc.stop()


@pytest.fixture
def net_smpp_smsc(tmp_path: Path) -> Iterator[SmscProcess]:
    with start_net_smpp_smsc(tmp_path / "net-smpp-smsc") as smsc:
        yield smsc


@pytest.fixture
def fault_smsc_process(tmp_path: Path) -> Iterator[SmscProcess]:
    with start_fault_smsc(tmp_path / "fault-smsc") as smsc:
        yield smsc
