"""The `smsgrid` command. Options are read here, once, into Settings; everything below gets frozen values."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from smsgrid.cli.commands_carriers import carriers
from smsgrid.cli.commands_config import config_app
from smsgrid.cli.commands_events import deadletters_app, events_app
from smsgrid.cli.commands_messaging import messages_app, receive, send
from smsgrid.cli.commands_subscriptions import subscriptions_app
from smsgrid.cli.options import (
    DEFAULT_CLIENT,
    ClientOptions,
    client_command,
)
from smsgrid.cli.startup import settings_of, start_up
from smsgrid.cli.worker import worker
from smsgrid.config import WELL_KNOWN_ACCESS_KEY, Settings

if TYPE_CHECKING:
    # The server stack (uvicorn, TLS) loads only for `serve`: client commands start faster without it.
    from smsgrid.runtime import Runtime
    from smsgrid.server import Listen, ReadyHook
    from smsgrid.tls import TlsFiles

app = typer.Typer(
    name="smsgrid",
    help="Azure Communication Services SMS and its Event Grid events, self-hosted.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML configuration file.", exists=False)]
# Default None, so load_settings falls back to SMSGRID_DATA_DIR and then ./.smsgrid (docs/configuration.md).
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the database, certificate and dead letters live [default: $SMSGRID_DATA_DIR or .smsgrid].",
        show_default=False,
    ),
]
DbOption = Annotated[
    str | None, typer.Option("--db", help="sqlite:///file.db (default in the data dir) or postgresql://…")
]
TimeScaleOption = Annotated[
    float,
    typer.Option("--time-scale", help="Multiplies retry delays, TTL, validation window, carrier delay."),
]


SNIPPET = """\
from azure.communication.sms import SmsClient
client = SmsClient.from_connection_string(
    "{conn}",
    connection_verify="{cert}")
print(client.send(from_="{sender}", to="+14255550123", message="Hello from smsgrid",
                  enable_delivery_report=True)[0])"""


def _announce(settings: Settings, listen: Listen) -> ReadyHook:
    from smsgrid.server import connection_string

    def on_ready(runtime: Runtime, tls: TlsFiles | None, port: int, tls_port: int, login_token: str) -> None:
        key = settings.resource.access_key
        conn = connection_string(listen.host, tls_port, port, key)
        ui = f"http://{'127.0.0.1' if listen.host in ('0.0.0.0', '') else listen.host}:{port}/"
        console.print(
            f"[bold green]smsgrid is ready[/bold green] ({runtime.store.dialect}, data in {settings.data_dir})"
        )
        console.print(f"  connection string  {conn}")
        if tls is not None:
            console.print(f"  TLS certificate    {tls.cert.resolve()}")
        console.print(f"  plain HTTP         http://{listen.host}:{port}/  (SmsClient(url, AzureKeyCredential(key)))")
        console.print(f"  web UI             {ui}login?token={login_token}  (works once, for 15 min;")
        console.print("                     `smsgrid login-url` makes another)")
        resource = settings.resource
        console.print(f"  owned numbers      {', '.join(resource.phone_numbers)}")
        if resource.short_codes:
            console.print(f"  short codes        {', '.join(resource.short_codes)}")
        if resource.alphanumeric_sender_ids:
            ids = ", ".join(resource.alphanumeric_sender_ids)
            console.print(f"  sender IDs         {ids}  (one-way)", highlight=False)
        throttling = "ACS send-rate limits (429 + Retry-After)" if settings.throttling.enabled else "off"
        console.print(f"  throttling         {throttling}")
        console.print(f"  carrier            {carrier_summary(settings)}", markup=False)
        cert = tls.cert.resolve() if tls else ""
        console.print("\nSend a message with the official SDK (pip install azure-communication-sms):\n")
        console.print(SNIPPET.format(conn=conn, cert=cert, sender=settings.resource.phone_numbers[0]), markup=False)
        console.print("\nPress Ctrl+C to stop.")
        sys.stdout.flush()

    return on_ready


def carrier_summary(settings: Settings) -> str:
    """What carries the messages, for the ready banner: never a password."""
    connections = settings.carrier.smpp
    if not connections:
        return "simulator (no [[carrier.smpp]] connection; `smsgrid carriers` shows them when there are)"
    named = ", ".join(f"{c.name} ({c.host}:{c.port}, {c.bind})" for c in connections)
    return f"SMPP: {named}; `smsgrid carriers` shows their state"


def _log_ready(settings: Settings, listen: Listen) -> ReadyHook:
    """In JSON mode the ready banner is one log record; the access key stays out of it (docs/cli.md)."""

    def on_ready(runtime: Runtime, tls: TlsFiles | None, port: int, tls_port: int, login_token: str) -> None:
        # No login token either: log files are kept and read by more people than a terminal.
        logging.getLogger("smsgrid").info(
            "smsgrid is ready",
            extra={
                "dialect": runtime.store.dialect,
                "data_dir": str(settings.data_dir),
                "http_url": f"http://{listen.host}:{port}/",
                "https_url": f"https://{listen.host}:{tls_port}/" if tls_port else None,
                "tls_certificate": str(tls.cert.resolve()) if tls else None,
                "phone_numbers": list(settings.resource.phone_numbers),
                "short_codes": list(settings.resource.short_codes),
                "alphanumeric_sender_ids": list(settings.resource.alphanumeric_sender_ids),
                "throttling": settings.throttling.enabled,
                "carrier": "smpp" if settings.carrier.smpp else "simulator",
                "smpp_connections": [c.name for c in settings.carrier.smpp],
                "well_known_key": settings.resource.access_key == WELL_KNOWN_ACCESS_KEY,
            },
        )

    return on_ready


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Plain HTTP port.")] = 8080,
    tls_port: Annotated[int, typer.Option("--tls-port", help="HTTPS port (self-signed); 0 = off.")] = 8443,
    data_dir: DataDirOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    time_scale: TimeScaleOption = 1.0,
    no_dispatch: Annotated[
        bool,
        typer.Option("--no-dispatch", help="API only: no carrier, no delivery (run `smsgrid worker` beside)."),
    ] = False,
    log_format: Annotated[
        str,
        typer.Option("--log-format", help="text, or json: one JSON object per line on stderr (secrets redacted)."),
    ] = "text",
) -> None:
    """Run the data plane, admin API, web UI, carrier (simulator or SMPP) and delivery engine in one process."""
    from smsgrid.server import Listen, run

    settings, chosen = start_up(config=config, data_dir=data_dir, db=db, time_scale=time_scale, log_format=log_format)
    listen = Listen(host, port, tls_port)
    announce = _log_ready(settings, listen) if chosen == "json" else _announce(settings, listen)
    try:
        run(settings, listen, dispatch=not no_dispatch, on_ready=announce)
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot listen on {host}: {exc}. Choose other ports with --port/--tls-port.")
        raise typer.Exit(1) from None


@app.command("connection-string")
def connection_string_command(
    host: Annotated[str, typer.Option(help="Address the server listens on.")] = "127.0.0.1",
    tls_port: Annotated[int, typer.Option("--tls-port")] = 8443,
    port: Annotated[int, typer.Option()] = 8080,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print the connection string for the official SDK."""
    from smsgrid.server import connection_string

    settings = settings_of(config, data_dir, None, 1.0)
    typer.echo(connection_string(host, tls_port, port, settings.resource.access_key))


@app.command("login-url")
@client_command(json=False)
def login_url_command(opts: ClientOptions = DEFAULT_CLIENT) -> None:
    """Print a one-time web UI login URL (valid once, for 15 minutes) from the running server."""
    with opts.connect() as client:
        typer.echo(client.login_url())


app.command()(send)
app.command()(receive)
app.command()(carriers)
app.add_typer(subscriptions_app, name="subscriptions")
app.add_typer(events_app, name="events")
app.add_typer(messages_app, name="messages")
app.add_typer(deadletters_app, name="deadletters")
app.add_typer(config_app, name="config")
app.command("worker")(worker)


def main() -> None:
    app()
