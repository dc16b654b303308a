"""pydantic's validation errors as `Problem`s: the TOML path of each (`carrier.rules[0].outcome`) and what to change.

The words come from the model: a `PydanticCustomError("smsgrid", ...)` raised by one of its validators says it
exactly; an unknown key lists the keys its table has; any other error shows the key's `Reason`. pydantic's own
message is the last resort, and no message ever carries the input (it may be a secret).
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from smsgrid.config.model import TABLE_NAME, Reason
from smsgrid.errors import Problem


def problems_of(error: ValidationError, model: type[BaseModel], renamed: Mapping[str, str]) -> list[Problem]:
    """Every error of *error* (raised by *model*), paths as in the TOML file; `renamed` maps a dotted path to
    where its value came from instead (`resource.access_key` → `SMSGRID_ACCESS_KEY`)."""
    details = error.errors(include_url=False, include_input=False)
    problems: list[Problem] = []
    for detail in details:
        if detail["type"] == "too_short" and _has_entry_errors(detail["loc"], details):
            continue  # "too short after validation": its entries' own problems say why
        path, reason = _describe(detail, model)
        problem = Problem(renamed.get(path, path), reason)
        if problem not in problems:
            problems.append(problem)
    return problems


def _has_entry_errors(loc: tuple[int | str, ...], details: list[ErrorDetails]) -> bool:
    return any(len(other["loc"]) > len(loc) and other["loc"][: len(loc)] == loc for other in details)


def _describe(detail: ErrorDetails, model: type[BaseModel]) -> tuple[str, str]:
    loc = detail["loc"]
    context = detail.get("ctx") or {}
    if detail["type"] == "smsgrid":
        return _path(loc) + str(context.get("at", "")), str(context["reason"])
    if detail["type"] == "extra_forbidden":
        owner = _unwrap(_walk(model, loc[:-1]).annotation)
        expected = [field.alias or name for name, field in _fields(owner).items() if TABLE_NAME not in field.metadata]
        return _path(loc), f"unknown key; expected one of {', '.join(expected)}"
    step = _walk(model, loc)
    reason = step.reason
    if reason is None:
        return _path(loc), detail["msg"]
    if detail["type"] == "missing":
        return _path(loc), reason.missing or f"is required: it {reason.text}"
    if step.in_entry and reason.item is not None:
        return _path(loc), reason.item
    return _path(loc), reason.text


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


class _Step:
    """Where a location ends in the model: the nearest key's Reason and whether the location went below it."""

    def __init__(self, annotation: Any, reason: Reason | None, in_entry: bool) -> None:
        self.annotation = annotation
        self.reason = reason
        self.in_entry = in_entry


def _walk(model: type[BaseModel], loc: tuple[int | str, ...]) -> _Step:
    annotation: Any = model
    reason: Reason | None = None
    in_entry = False
    for step in loc:
        inner = _unwrap(annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            field = _field_named(inner, str(step))
            if field is None:
                break
            annotation, reason, in_entry = field.annotation, _reason(field), False
        else:
            annotation, in_entry = _entry_type(inner), True
    return _Step(annotation, reason, in_entry)


def _field_named(model: type[BaseModel], key: str) -> FieldInfo | None:
    """The field a TOML key names: its alias when it has one (`from`, a Python keyword), else its name."""
    for name, field in model.model_fields.items():
        if (field.alias or name) == key:
            return field
    return None


def _fields(annotation: Any) -> dict[str, FieldInfo]:
    return dict(annotation.model_fields) if isinstance(annotation, type) and issubclass(annotation, BaseModel) else {}


def _unwrap(annotation: Any) -> Any:
    """The type below Annotated and `X | None`."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _entry_type(annotation: Any) -> Any:
    """The type of one entry of a tuple or mapping annotation (Any for anything else)."""
    args = get_args(annotation)
    origin = get_origin(annotation)
    if origin is tuple and args:
        return args[0]
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    return Any


def _reason(field: FieldInfo) -> Reason | None:
    for found in _reasons(field.metadata):
        return found
    for found in _annotated_reasons(field.annotation):
        return found
    return None


def _reasons(metadata: list[Any] | tuple[Any, ...]) -> Iterator[Reason]:
    yield from (item for item in metadata if isinstance(item, Reason))


def _annotated_reasons(annotation: Any) -> Iterator[Reason]:
    """Reasons inside `Annotated[...] | None`, which pydantic does not lift into the field's metadata."""
    if get_origin(annotation) is Annotated:
        yield from _reasons(get_args(annotation)[1:])
    elif get_origin(annotation) in (Union, types.UnionType):
        for member in get_args(annotation):
            yield from _annotated_reasons(member)
