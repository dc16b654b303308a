"""`smsgrid config check FILE`: every problem in a configuration file, before the server refuses to start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from smsgrid.cli.options import EXIT_USAGE, JsonOption, out, print_json
from smsgrid.config import Settings
from smsgrid.errors import ConfigError, Problem
from smsgrid.settings import load_settings

config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True)


def check_config(path: Path) -> tuple[Settings | None, list[Problem]]:
    """The settings (None when unusable) and every problem, found by the loader `serve` and `worker` use."""
    try:
        return load_settings(path), []
    except ConfigError as exc:
        return None, list(exc.problems)


@config_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The TOML configuration file (see docs/configuration.md).")],
    as_json: JsonOption = False,
) -> None:
    """Validate FILE as `smsgrid serve --config FILE` does, subscriptions included; print every problem."""
    settings, problems = check_config(file)
    if as_json:
        print_json(
            {
                "file": str(file),
                "ok": not problems,
                "problems": [{"path": p.path, "reason": p.reason} for p in problems],
            }
        )
    elif problems:
        out.print(f"[red]{escape(str(file))}: {len(problems)} problem(s)[/red]")
        for problem in problems:
            out.print(f"  {escape(str(problem))}")
    elif settings is not None:
        resource = settings.resource
        numbers = ", ".join((*resource.phone_numbers, *resource.short_codes, *resource.alphanumeric_sender_ids))
        out.print(
            f"[green]{escape(str(file))} is valid[/green]: resource {escape(settings.resource.name)} ({numbers}), "
            f"{len(settings.carrier.rules)} carrier rule(s), {_smpp_summary(settings)}, "
            f"{len(settings.subscriptions)} subscription(s)."
        )
    if problems:
        raise typer.Exit(EXIT_USAGE)


def _smpp_summary(settings: Settings) -> str:
    """The SMPP connections by name and address; never their passwords (only where one comes from)."""
    connections = settings.carrier.smpp
    if not connections:
        return "no SMPP connection (the simulator carries everything)"
    described = ", ".join(
        f"{escape(c.name)} {escape(c.host)}:{c.port}"
        + (f" password from ${c.password_env.variable}" if c.password_env else "")
        for c in connections
    )
    return f"{len(connections)} SMPP connection(s) ({described})"
