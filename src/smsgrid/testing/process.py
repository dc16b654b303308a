"""Run a real `smsgrid serve` (or `worker`) subprocess on free loopback ports with its own data dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from smsgrid.config import WELL_KNOWN_ACCESS_KEY

READY_TIMEOUT_SECONDS = 20.0
READY_BANNER = "smsgrid is ready"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmsgridProcess:
    data_dir: Path
    port: int
    tls_port: int
    access_key: str = WELL_KNOWN_ACCESS_KEY
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _log_offset: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    @property
    def connection_string(self) -> str:
        return f"endpoint=https://127.0.0.1:{self.tls_port}/;accesskey={self.access_key}"

    @property
    def cert_path(self) -> Path:
        return self.data_dir / "tls" / "cert.pem"

    def admin(self, timeout: float = 35.0) -> httpx.Client:
        """An httpx client for the admin API, authorised with the access key."""
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {self.access_key}"}, timeout=timeout
        )

    def start(self) -> SmsgridProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "server.log"
        self._log_offset = len(self.log())
        command = [
            sys.executable,
            "-m",
            "smsgrid",
            "serve",
            "--port",
            str(self.port),
            "--tls-port",
            str(self.tls_port),
            "--data-dir",
            str(self.data_dir),
            *self.args,
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"smsgrid exited with {self.proc.returncode}:\n{self.log()}")
            try:
                # Ready = answering and done announcing itself (the banner is printed just after listening).
                healthy = httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200
                if healthy and READY_BANNER in self.log()[self._log_offset :]:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"smsgrid was not ready within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as a crash would be."""
        self.stop(signal.SIGKILL)

    def restart(self) -> SmsgridProcess:
        self.stop()
        return self.start()

    def __enter__(self) -> SmsgridProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_smsgrid(
    data_dir: Path,
    *,
    config: str | None = None,
    time_scale: float | None = None,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    throttling: bool | None = None,
) -> SmsgridProcess:
    """Start `smsgrid serve` on free ports; `config` is TOML text written into the data dir.

    `throttling` False turns ACS's send-rate limits off (SMSGRID_THROTTLING=off) for a harness that sends far
    more than a real number may; True turns them on whatever the environment says; None leaves it to the
    config and environment (on by default, as on Azure).
    """
    extra = list(args)
    env = dict(env or {})
    if throttling is not None:
        env["SMSGRID_THROTTLING"] = "on" if throttling else "off"
    if config is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / "smsgrid.toml"
        path.write_text(config, encoding="utf-8")
        extra += ["--config", str(path)]
    if time_scale is not None:
        extra += ["--time-scale", str(time_scale)]
    process = SmsgridProcess(data_dir=data_dir, port=free_port(), tls_port=free_port(), args=tuple(extra), env=env)
    return process.start()
