"""Options every client command shares, and the one place that turns failures into messages and exit codes.

Exit codes (docs/cli.md): 0 ok · 1 the server said no or found nothing · 2 usage or configuration error ·
3 cannot connect.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from smsgrid.cli.client import CannotConnect, ServerRefused, SmsgridClient
from smsgrid.config import WELL_KNOWN_ACCESS_KEY
from smsgrid.store.views import iso

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_CANNOT_CONNECT = 3

DEFAULT_URL = "http://127.0.0.1:8080"

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="SMSGRID_URL", help="Base URL of smsgrid's plain-HTTP listener.", show_default=True),
]
KeyOption = Annotated[
    str,
    typer.Option(
        "--key",
        envvar="SMSGRID_ACCESS_KEY",
        help="The resource's access key (default: the well-known dev key).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]

# Piped output (grep, files) gets wide lines rather than tables folded to the 80-column fallback.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    """One JSON document on stdout; plain bytes so nothing (colour, wrapping) can alter it."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stdout.flush()


def print_json_line(value: Any) -> None:
    """One JSON object per line (JSON Lines) for streams such as `events tail --json`."""
    sys.stdout.write(orjson.dumps(value).decode() + "\n")
    sys.stdout.flush()


def when(moment: float | None) -> str:
    """A read model's time for tables, `2026-11-27 00:41:46` (UTC); --json keeps the full value."""
    return "" if moment is None else iso(moment)[:19].replace("T", " ")


def fail(message: str, code: int) -> NoReturn:
    """Print `error: message` on stderr and end the command with `code`."""
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def connect(url: str, key: str) -> Iterator[SmsgridClient]:
    """A client for the command's body; a refusal or a dead server ends the command with its exit code."""
    try:
        client = SmsgridClient(url, key)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    with client:
        try:
            yield client
        except CannotConnect as exc:
            fail(str(exc), EXIT_CANNOT_CONNECT)
        except ServerRefused as exc:
            fail(str(exc), EXIT_REFUSED)


__all__ = [
    "DEFAULT_URL",
    "EXIT_CANNOT_CONNECT",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "WELL_KNOWN_ACCESS_KEY",
    "JsonOption",
    "KeyOption",
    "UrlOption",
    "connect",
    "err",
    "fail",
    "out",
    "print_json",
    "print_json_line",
    "when",
]
