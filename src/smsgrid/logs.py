"""Process logging for `smsgrid serve`: human text or one JSON object per line, secrets never written.

`--log-format json` is for log shippers (Docker, systemd, Loki…): each record is one line with `time` (UTC,
ISO 8601), `level`, `logger`, `message`, any `extra={...}` fields, and `exception` when there is one.

Secrets: the access key itself (and its URL-encoded form) and anything shaped like a credential — `accesskey=…`
in a connection string, `key=…` in the UI's one-click URL, `Bearer …`, an HMAC `Signature=…`, a Standard
Webhooks `whsec_…` secret — are replaced by `***` in the message and in tracebacks, in both formats.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO
from urllib.parse import quote

import orjson

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
REDACTED = "***"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Credential-shaped text, whatever the key: the name and separator stay so a reader sees what was hidden.
_CREDENTIAL_PATTERNS = (
    re.compile(r"(?i)(accesskey=)[^;\s\"']+"),
    re.compile(r"(?i)([?&]key=)[^&\s\"']+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9+/=._~-]+"),
    re.compile(r"(Signature=)[A-Za-z0-9+/=]+"),
    re.compile(r"()whsec_[A-Za-z0-9+/=]+"),
    re.compile(r"(?i)(aeg-sas-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+"),
)

# The attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class Redactor:
    """Replaces known secrets and credential-shaped text with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        literal = {s for s in secrets if s} | {quote(s, safe="") for s in secrets if s}
        # Longest first, so a secret containing another is hidden whole.
        self.secrets = tuple(sorted(literal, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _CREDENTIAL_PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text


class TextFormatter(logging.Formatter):
    """The classic one-line text format, redacted."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped by JSON itself)."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and not name.startswith("_"):
                entry[name] = self._field(value)
        if record.exc_info:
            entry["exception"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = self.redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = self.redact(self.formatStack(record.stack_info))
        return orjson.dumps(entry, default=str).decode()

    def _field(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, list | tuple | dict):
            # Round-trip through JSON text so nested strings are redacted too.
            return orjson.loads(self.redact(orjson.dumps(value, default=str).decode()))
        return self.redact(str(value))


def make_formatter(log_format: LogFormat, secrets: Iterable[str] = ()) -> logging.Formatter:
    redactor = Redactor(secrets)
    return JsonFormatter(redactor) if log_format == "json" else TextFormatter(redactor)


def configure_logging(
    log_format: LogFormat,
    *,
    secrets: Iterable[str] = (),
    level: int = logging.INFO,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Route every log record (smsgrid's and uvicorn's) through one redacting formatter on `stream` (stderr)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    secrets = tuple(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(log_format, secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    _route_uvicorn(log_format, secrets)
    return handler


def _route_uvicorn(log_format: LogFormat, secrets: tuple[str, ...]) -> None:
    """uvicorn installs its own formatters when the server is built (uvicorn.config.LOGGING_CONFIG, the default
    `log_config`); point them at ours so its lines are redacted and, in JSON mode, JSON too."""
    try:
        from uvicorn.config import LOGGING_CONFIG
    except ImportError:  # pragma: no cover - uvicorn is a dependency
        return
    factory = {"()": lambda: make_formatter(log_format, secrets)}
    formatters = LOGGING_CONFIG.setdefault("formatters", {})
    formatters["default"] = factory
    formatters["access"] = dict(factory)


__all__ = [
    "LOG_FORMATS",
    "REDACTED",
    "JsonFormatter",
    "LogFormat",
    "Redactor",
    "TextFormatter",
    "configure_logging",
    "make_formatter",
]
