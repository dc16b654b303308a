"""Typed reads from decoded JSON that record every problem instead of stopping at the first.

The parser reports all that is wrong with a body in one :class:`~smsgrid.errors.EventParseError`, as the
cloudevents SDK does (STYLE.md). A failed read records a :class:`~smsgrid.errors.Problem` and returns a
placeholder of the right type; callers compare :attr:`FieldReader.problem_count` before and after and discard
what they built when it grew.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smsgrid.errors import Problem
from smsgrid.events.timestamps import Timestamp

_PLACEHOLDER_TIME = Timestamp(0)


def child_path(path: str, key: str) -> str:
    """``[0]`` + ``data`` → ``[0].data``; the root path is empty."""
    return f"{path}.{key}" if path else key


def index_path(path: str, index: int) -> str:
    """``[0].data.DeliveryAttempts`` + 1 → ``[0].data.DeliveryAttempts[1]``."""
    return f"{path}[{index}]"


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


class FieldReader:
    """Collects problems while reading fields from one body."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    @property
    def problem_count(self) -> int:
        return len(self.problems)

    def add(self, path: str, reason: str) -> None:
        self.problems.append(Problem(path, reason))

    def mapping(self, value: object, path: str) -> Mapping[str, Any] | None:
        if isinstance(value, Mapping):
            return value
        self.add(path, f"must be a JSON object, got {json_type(value)}")
        return None

    def present(self, obj: Mapping[str, Any], key: str, path: str) -> bool:
        if key in obj:
            return True
        self.add(child_path(path, key), "required")
        return False

    def string(self, obj: Mapping[str, Any], key: str, path: str, *, non_empty: bool = False) -> str:
        if not self.present(obj, key, path):
            return ""
        value = obj[key]
        if non_empty and value == "":
            self.add(child_path(path, key), "must be a non-empty string")
            return ""
        return self._string_value(value, child_path(path, key))

    def optional_string(self, obj: Mapping[str, Any], key: str, path: str) -> str | None:
        """Absent and null both mean "none" (SPEC §1: Tag is "omitted or null when none")."""
        value = obj.get(key)
        return None if value is None else self._string_value(value, child_path(path, key))

    def count(self, obj: Mapping[str, Any], key: str, path: str) -> int:
        if not self.present(obj, key, path):
            return 0
        return self._count_value(obj[key], child_path(path, key))

    def optional_count(self, obj: Mapping[str, Any], key: str, path: str) -> int | None:
        value = obj.get(key)
        return None if value is None else self._count_value(value, child_path(path, key))

    def timestamp(self, obj: Mapping[str, Any], key: str, path: str) -> Timestamp:
        if not self.present(obj, key, path):
            return _PLACEHOLDER_TIME
        value = obj[key]
        if not isinstance(value, str):
            self.add(child_path(path, key), f"must be an ISO 8601 string, got {json_type(value)}")
            return _PLACEHOLDER_TIME
        try:
            return Timestamp.parse(value)
        except ValueError as exc:
            self.add(child_path(path, key), str(exc))
            return _PLACEHOLDER_TIME

    def array(self, obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
        if not self.present(obj, key, path):
            return []
        value = obj[key]
        if isinstance(value, list):
            return value
        self.add(child_path(path, key), f"must be a JSON array, got {json_type(value)}")
        return []

    def _string_value(self, value: object, path: str) -> str:
        if isinstance(value, str):
            return value
        self.add(path, f"must be a string, got {json_type(value)}")
        return ""

    def _count_value(self, value: object, path: str) -> int:
        # bool is an int in Python but not in JSON; counts of segments are never negative.
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"must be a non-negative integer, got {json_type(value)}")
            return 0
        if value < 0:
            self.add(path, f"must be a non-negative integer, got {value}")
            return 0
        return value
