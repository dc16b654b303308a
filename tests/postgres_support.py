"""A real PostgreSQL server for the tests: one throwaway cluster per test session, a fresh database per user.

The Debian `postgresql` package puts initdb, pg_ctl and postgres in /usr/lib/postgresql/<version>/bin (not on PATH).
PostgreSQL refuses to run as root, so when the tests run as root (CI does) the cluster belongs to the `postgres` user
the package creates (or `nobody`), and every server command runs through `runuser`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from smsgrid.testing.process import free_port

PG_BIN_ENV = "SMSGRID_PG_BIN"
CLUSTER_USER = "postgres"  # the superuser role's name inside the cluster


def find_pg_bin() -> Path | None:
    """The newest installed server binaries, or the folder named by $SMSGRID_PG_BIN."""
    if os.environ.get(PG_BIN_ENV):
        return Path(os.environ[PG_BIN_ENV])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _os_user_for_server() -> str | None:
    """Who runs the server: ourselves unless we are root, which PostgreSQL refuses."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(["useradd", "--system", "--no-create-home", "smsgrid-pg"], check=True)
    return "smsgrid-pg"


@dataclass
class PostgresCluster:
    """initdb + pg_ctl on a free loopback port; `url(db)` for clients, `restart()` to bounce the server."""

    bin_dir: Path
    root: Path
    port: int
    os_user: str | None
    databases: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{CLUSTER_USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / program), *args]
        if self.os_user is not None:
            command = ["runuser", "-u", self.os_user, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.os_user is not None:
            entry = pwd.getpwnam(self.os_user)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", CLUSTER_USER, "-A", "trust", "-E", "UTF8", "--locale=C",
            "--no-sync", "--no-instructions",
        )  # fmt: skip

    def start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                "-h 127.0.0.1",
                f"-k {self.socket_dir}",
                "-c max_connections=200",
                "-c shared_buffers=64MB",
                # Keep the default fsync/synchronous_commit: a 202 is only answered after a durable commit.
            ]
        )
        result = self._run(
            "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "-o", options,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {result.stdout}{result.stderr}\n{self.log()}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", check=False)

    def restart(self) -> None:
        """Stop (disconnecting every client, as a crash or failover would) and start again on the same port."""
        self.stop("fast")
        self.start()

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
                self.url(database),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout.strip()

    def run_client(self, program: str, *args: str) -> str:
        """A client program of the same installation (pg_dump, psql), run as ourselves."""
        result = subprocess.run(
            [str(self.bin_dir / program), *args], check=True, capture_output=True, text=True, timeout=60
        )
        return result.stdout

    def create_database(self, prefix: str = "smsgrid") -> str:
        """A new empty database; the store migrates it on first connect."""
        name = f"{prefix}_{len(self.databases) + 1}_{os.getpid()}"
        self.psql(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return name

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


def start_cluster(bin_dir: Path | None = None) -> PostgresCluster:
    bin_dir = bin_dir or find_pg_bin()
    if bin_dir is None:
        raise FileNotFoundError(
            "PostgreSQL server binaries not found; apt-get install postgresql or set SMSGRID_PG_BIN"
        )
    root = Path(tempfile.mkdtemp(prefix="smsgrid-pg-"))
    cluster = PostgresCluster(bin_dir=bin_dir, root=root, port=free_port(), os_user=_os_user_for_server())
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


def remove_cluster(cluster: PostgresCluster) -> None:
    cluster.stop("immediate")
    shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL 15 server for the whole session (skips the test where the binaries are not installed)."""
    if find_pg_bin() is None:
        missing = "PostgreSQL server binaries are not installed (apt-get install postgresql)"
        # In CI a missing tool is a broken environment, not a reason to pass quietly (house rules).
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        remove_cluster(cluster)


def tables_of(cluster: PostgresCluster, database: str) -> Sequence[str]:
    return cluster.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", database).split()


STORES = ("sqlite", "postgresql")


def store_args(request: pytest.FixtureRequest, database: str) -> tuple[str, ...]:
    """For a fixture parametrised over STORES: `--db` for the PostgreSQL run (a fresh database on the session's
    cluster; `postgres_cluster` skips, or fails under CI=true, without PostgreSQL), nothing for SQLite."""
    if request.param != "postgresql":
        return ()
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return ("--db", cluster.url(cluster.create_database(database)))
