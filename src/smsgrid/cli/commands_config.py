"""`smsgrid config check FILE`: every problem in a configuration file, before the server refuses to start."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from smsgrid.cli.options import EXIT_USAGE, JsonOption, out, print_json
from smsgrid.config import Settings, load_settings
from smsgrid.delivery.destinations.send import destination_config_problem
from smsgrid.delivery.subscription_spec import parse_subscription_spec
from smsgrid.errors import ConfigError, Problem, SubscriptionSpecError

config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True)


def check_config(path: Path) -> tuple[Settings | None, list[Problem]]:
    """The settings (None when unusable) and every problem: the file's own sections, then each subscription."""
    problems: list[Problem] = []
    settings: Settings | None = None
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
    raw = _read_toml(path)
    if raw is None:
        return settings, problems
    subscriptions = raw.get("subscriptions", {})
    if isinstance(subscriptions, dict):
        for name, body in subscriptions.items():
            base = f"subscriptions.{name}"
            if not isinstance(body, dict):
                problems.append(Problem(base, "must be a table: [subscriptions.NAME] with destination = {...}"))
                continue
            try:
                spec = parse_subscription_spec(name, body)
            except SubscriptionSpecError as exc:
                problems.extend(Problem(f"{base}.{p.path}" if p.path else base, p.reason) for p in exc.problems)
                continue
            if settings is not None:
                where = destination_config_problem(spec.destination, settings.storage_accounts, settings.function_apps)
                if where is not None:
                    problems.append(Problem(f"{base}.destination", where))
    return settings, problems


def _read_toml(path: Path) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None  # load_settings has already reported it


@config_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The TOML configuration file (see docs/configuration.md).")],
    as_json: JsonOption = False,
) -> None:
    """Validate FILE as `smsgrid serve --config FILE` would, subscriptions included; print every problem."""
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
            f"{len(settings.carrier.rules)} carrier rule(s), {len(settings.subscriptions)} subscription(s)."
        )
    if problems:
        raise typer.Exit(EXIT_USAGE)
