"""What `smsgrid serve` and `smsgrid worker` do before they run: one path, so both refuse and redact alike."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import typer
from rich.console import Console

from smsgrid.config import Settings
from smsgrid.errors import ConfigError
from smsgrid.logs import LOG_FORMATS, LogFormat, configure_logging
from smsgrid.settings import load_settings

err = Console(stderr=True, highlight=False, soft_wrap=True)


def log_format_of(value: str) -> LogFormat:
    for choice in LOG_FORMATS:
        if value.lower() == choice:
            return choice
    err.print(f"[red]error:[/red] --log-format must be one of {', '.join(LOG_FORMATS)}, not {value!r}.")
    raise typer.Exit(2)


def settings_of(config: Path | None, data_dir: Path | None, db: str | None, time_scale: float) -> Settings:
    try:
        return load_settings(config, data_dir=data_dir, db_url=db, time_scale=time_scale)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def secrets_of(settings: Settings) -> list[str]:
    """What the logs must never show: the access key, Entra client secrets, the database password, the SMPP
    passwords."""
    password = urlsplit(settings.database_url).password
    client_secrets = [app.client_secret for app in settings.entra.applications]
    smpp = [secret for c in settings.carrier.smpp if (secret := c.secret.get_secret_value())]
    return [settings.resource.access_key, *client_secrets, *([password] if password else []), *smpp]


def start_up(
    *, config: Path | None, data_dir: Path | None, db: str | None, time_scale: float, log_format: str
) -> tuple[Settings, LogFormat]:
    """The settings and log format of a long-running command, with logging configured; exits 2 on bad input."""
    chosen = log_format_of(log_format)
    settings = settings_of(config, data_dir, db, time_scale)
    configure_logging(chosen, secrets=secrets_of(settings))
    return settings, chosen
