"""Event timestamps with the 7 fractional digits .NET writes.

ACS stamps ``ReceivedTimestamp`` and ``DeliveryAttempts[].Timestamp`` with 100 ns precision
(``2020-09-18T00:22:20.2855749Z`` — SPEC §1 [seed]), while :class:`datetime.datetime` stops at
microseconds. A :class:`Timestamp` keeps .NET "ticks" (100 ns units) counted from the Unix epoch, so a
parsed value renders back to the very same text.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TICKS_PER_SECOND = 10_000_000
_TICKS_PER_MICROSECOND = 10
_FRACTION_DIGITS = 7
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The range datetime can represent; keeping inside it lets format() and to_datetime() never fail.
_MIN_TICKS = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1) * _TICKS_PER_MICROSECOND
_MAX_TICKS = (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - _EPOCH) // timedelta(
    microseconds=1
) * _TICKS_PER_MICROSECOND + (TICKS_PER_SECOND - 1)

_ISO_8601 = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"[Tt](?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:?\d{2})",
    re.ASCII,
)


@dataclass(frozen=True, slots=True, order=True)
class Timestamp:
    """An instant in UTC, as 100 ns ticks since 1970-01-01T00:00:00Z."""

    ticks: int

    def __post_init__(self) -> None:
        if type(self.ticks) is not int:
            raise TypeError(f"Timestamp ticks must be an int, got {type(self.ticks).__name__}")
        if not _MIN_TICKS <= self.ticks <= _MAX_TICKS:
            raise ValueError(f"Timestamp ticks {self.ticks} fall outside years 0001..9999")

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Read ISO 8601 with a ``Z`` or ``±hh:mm`` offset; digits beyond the 7th are truncated."""
        match = _ISO_8601.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(
                f"{text!r} is not an ISO 8601 date-time with an offset; write it like 2020-09-18T00:22:20.2855749Z"
            )
        fraction = (match["fraction"] or "")[:_FRACTION_DIGITS].ljust(_FRACTION_DIGITS, "0")
        offset_minutes = _offset_minutes(match["offset"])
        try:
            local = datetime(
                int(match["year"]),
                int(match["month"]),
                int(match["day"]),
                int(match["hour"]),
                int(match["minute"]),
                int(match["second"]),
                tzinfo=UTC,
            )
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a real date-time: {exc}") from exc
        whole_seconds = (local - _EPOCH) // timedelta(seconds=1) - offset_minutes * 60
        ticks = whole_seconds * TICKS_PER_SECOND + int(fraction)
        if not _MIN_TICKS <= ticks <= _MAX_TICKS:
            raise ValueError(f"{text!r} falls outside years 0001..9999 once converted to UTC")
        return cls(ticks)

    def format(self) -> str:
        """``YYYY-MM-DDTHH:MM:SS[.fffffff]Z``.

        Trailing zeros of the fraction are trimmed and a zero fraction has no dot, as the seed's
        ``00:27:45.32Z`` and ``00:22:20Z`` show (SPEC §1).
        """
        seconds, fraction = divmod(self.ticks, TICKS_PER_SECOND)
        moment = _EPOCH + timedelta(seconds=seconds)
        text = (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
        )
        if fraction:
            text += "." + f"{fraction:07d}".rstrip("0")
        return text + "Z"

    def __str__(self) -> str:
        return self.format()

    @classmethod
    def from_datetime(cls, moment: datetime) -> Timestamp:
        """Convert an aware datetime (any zone) to UTC ticks; naive datetimes are refused as ambiguous."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("datetime has no time zone; pass an aware datetime, e.g. tzinfo=datetime.UTC")
        return cls((moment - _EPOCH) // timedelta(microseconds=1) * _TICKS_PER_MICROSECOND)

    def to_datetime(self) -> datetime:
        """An aware UTC datetime; the 7th fractional digit is truncated (datetime holds microseconds)."""
        return _EPOCH + timedelta(microseconds=self.ticks // _TICKS_PER_MICROSECOND)

    @classmethod
    def from_epoch_seconds(cls, seconds: float) -> Timestamp:
        """From Unix seconds (as ``time.time()`` returns), rounded to the nearest tick."""
        if not math.isfinite(seconds):
            raise ValueError(f"epoch seconds must be finite, got {seconds!r}")
        return cls(round(seconds * TICKS_PER_SECOND))

    @property
    def epoch_seconds(self) -> float:
        """Unix seconds; a float, so precision below a microsecond may be lost for present-day dates."""
        return self.ticks / TICKS_PER_SECOND

    @classmethod
    def now(cls) -> Timestamp:
        """The current instant from the system clock, at 100 ns resolution."""
        return cls(time.time_ns() // 100)


def _offset_minutes(offset: str) -> int:
    """Minutes east of UTC for ``Z``, ``+hh:mm``, ``-hhmm``."""
    if offset in ("Z", "z"):
        return 0
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(f"UTC offset {offset!r} is out of range; use -23:59..+23:59")
    total = hours * 60 + minutes
    return -total if offset[0] == "-" else total
