"""`smsgrid worker`: the carrier simulator and the delivery engine, no HTTP listeners (SPEC §4, scale-out).

Run any number of these beside `smsgrid serve --no-dispatch` processes on one PostgreSQL database: they share the
work through leases (FOR UPDATE SKIP LOCKED) and wake on LISTEN/NOTIFY. SIGTERM or Ctrl+C stops one cleanly: work it
already finished is committed before it exits; work it had claimed but not finished is taken over when the lease
runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.console import Console

from smsgrid.config import Settings, load_settings
from smsgrid.errors import ConfigError, StoreError
from smsgrid.logs import LOG_FORMATS, LogFormat, configure_logging
from smsgrid.runtime import Runtime

err = Console(stderr=True, highlight=False, soft_wrap=True)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Start the carrier and the delivery engine; run until SIGINT/SIGTERM (or `stop` is set); stop cleanly."""
    # Dead-letter files are written here: private, as `serve` makes it (SECURITY.md). An existing dir keeps its mode.
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    runtime = Runtime.build(settings, dispatch=True)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await runtime.start()
    except BaseException:
        await runtime.stop()
        raise
    worker_id = getattr(runtime.store, "worker_id", "")
    print(f"smsgrid worker is ready ({runtime.store.dialect}, {worker_id}, data in {settings.data_dir})", flush=True)
    await stop.wait()
    await runtime.stop()
    print("smsgrid worker stopped", flush=True)


def worker(
    db: Annotated[
        str | None,
        typer.Option("--db", help="postgresql://user@host/database (the same database as the API processes)."),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML configuration file.")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where dead-letter files are written [default: $SMSGRID_DATA_DIR or .smsgrid].",
            show_default=False,
        ),
    ] = None,
    time_scale: Annotated[
        float, typer.Option("--time-scale", help="Multiplies retry delays, TTL, validation window, carrier delay.")
    ] = 1.0,
    log_format: Annotated[
        str, typer.Option("--log-format", help="text, or json: one JSON object per line on stderr.")
    ] = "text",
) -> None:
    """Run the carrier simulator and delivery engine only (no HTTP), beside `serve --no-dispatch` processes."""
    chosen: LogFormat | None = next((f for f in LOG_FORMATS if f == log_format.lower()), None)
    if chosen is None:
        err.print(f"[red]error:[/red] --log-format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}.")
        raise typer.Exit(2)
    try:
        settings = load_settings(config, data_dir=data_dir, db_url=db, time_scale=time_scale)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    url = settings.database_url
    if not url.startswith(("postgresql://", "postgres://")):
        # Workers of one SQLite file could not see each other's commits nor share claims safely.
        err.print(
            "[red]error:[/red] `smsgrid worker` needs a shared PostgreSQL database: pass --db postgresql://… "
            "(or set SMSGRID_DB). With SQLite run one `smsgrid serve`, which delivers by itself."
        )
        raise typer.Exit(2)
    password = urlsplit(url).password
    configure_logging(chosen, secrets=[settings.resource.access_key, *([password] if password else [])])
    import uvloop

    try:
        uvloop.run(run_worker(settings))
    except StoreError as exc:
        err.print(f"[red]error:[/red] cannot start the worker: {exc}. Check --db and that PostgreSQL is running.")
        raise typer.Exit(1) from None
    sys.stdout.flush()
