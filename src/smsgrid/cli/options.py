"""Options every client command shares, and the one place that turns failures into messages and exit codes.

Exit codes (docs/cli.md): 0 ok · 1 the server said no or found nothing · 2 usage or configuration error ·
3 cannot connect.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """`--url`, `--key` and `--json`, the options of every command that talks to a running server."""

    url: str = DEFAULT_URL
    key: str = WELL_KNOWN_ACCESS_KEY
    as_json: bool = False

    def connect(self) -> AbstractContextManager[SmsgridClient]:
        return connect(self.url, self.key)


# The default of a command's `opts`; client_command always passes the real one.
DEFAULT_CLIENT = ClientOptions()

_CLIENT_PARAMETERS = (
    inspect.Parameter("url", inspect.Parameter.KEYWORD_ONLY, default=DEFAULT_URL, annotation=UrlOption),
    inspect.Parameter("key", inspect.Parameter.KEYWORD_ONLY, default=WELL_KNOWN_ACCESS_KEY, annotation=KeyOption),
)
_JSON_PARAMETER = inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOption)


def client_command(*, json: bool = True) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Declares `--url`, `--key` (and `--json`) once for a command that takes `opts: ClientOptions`: Typer reads
    the wrapper's signature, which has those three options in place of `opts`."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "opts"]
        added = [*_CLIENT_PARAMETERS, *([_JSON_PARAMETER] if json else [])]
        # Typer passes every option by keyword; the command's own may be positional-or-keyword, ours keyword-only.
        parameters = [*own, *added]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> None:
            opts = ClientOptions(kwargs.pop("url"), kwargs.pop("key"), bool(kwargs.pop("as_json", False)))
            command(**kwargs, opts=opts)

        wrapper.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
        return wrapper

    return decorate


__all__ = [
    "DEFAULT_CLIENT",
    "DEFAULT_URL",
    "EXIT_CANNOT_CONNECT",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "WELL_KNOWN_ACCESS_KEY",
    "ClientOptions",
    "JsonOption",
    "KeyOption",
    "UrlOption",
    "client_command",
    "connect",
    "err",
    "fail",
    "out",
    "print_json",
    "print_json_line",
    "when",
]
