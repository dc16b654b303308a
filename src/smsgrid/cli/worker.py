"""`smsgrid worker`: the carrier and the delivery engine, no HTTP listeners (SPEC §4, scale-out).

The carrier runs where the dispatcher runs: here (and in `serve` without --no-dispatch). With `[[carrier.smpp]]`
configured each worker binds its own SMPP connections (the simulator otherwise); a worker has no HTTP listener,
so `/admin/carriers`, `/metrics` and the UI of a `serve --no-dispatch` process do not show them.

Run any number of these beside `smsgrid serve --no-dispatch` processes on one PostgreSQL database: they share the
work through leases (FOR UPDATE SKIP LOCKED) and wake on LISTEN/NOTIFY. SIGTERM or Ctrl+C stops one cleanly: work it
already finished is committed before it exits; work it had claimed but not finished is taken over when the lease
runs out.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from smsgrid.cli.startup import start_up
from smsgrid.config import Settings
from smsgrid.errors import StoreError
from smsgrid.heap import freeze_start_up_objects
from smsgrid.runtime import Runtime, private_data_dir, stop_on_signals

err = Console(stderr=True, highlight=False, soft_wrap=True)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None, freeze_heap: bool = False) -> None:
    """Start the carrier and the delivery engine; run until SIGINT/SIGTERM (or `stop` is set); stop cleanly.

    *freeze_heap*: keep what start-up built out of full garbage collections (smsgrid.heap), as `serve` does; only
    for a process of its own, not for a test that runs the worker inside pytest."""
    private_data_dir(settings)  # dead-letter files are written there
    runtime = Runtime.build(settings, dispatch=True)
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    try:
        await runtime.start()
    except BaseException:
        await runtime.stop()
        raise
    if freeze_heap:
        freeze_start_up_objects()
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
    """Run the carrier (simulator or SMPP) and delivery engine only (no HTTP), beside `serve --no-dispatch`."""
    settings, _ = start_up(config=config, data_dir=data_dir, db=db, time_scale=time_scale, log_format=log_format)
    if not settings.database_url.startswith(("postgresql://", "postgres://")):
        # Workers of one SQLite file could not see each other's commits nor share claims safely.
        err.print(
            "[red]error:[/red] `smsgrid worker` needs a shared PostgreSQL database: pass --db postgresql://… "
            "(or set SMSGRID_DB). With SQLite run one `smsgrid serve`, which delivers by itself."
        )
        raise typer.Exit(2)
    import uvloop

    try:
        uvloop.run(run_worker(settings, freeze_heap=True))
    except StoreError as exc:
        err.print(f"[red]error:[/red] cannot start the worker: {exc}. Check --db and that PostgreSQL is running.")
        raise typer.Exit(1) from None
    sys.stdout.flush()
