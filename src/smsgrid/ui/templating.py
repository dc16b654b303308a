"""Jinja2 templates (package data in `smsgrid/ui/templates`) and the filters the pages use."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2
import orjson
import phonenumbers
from pydantic import BaseModel

from smsgrid.events.timestamps import Timestamp
from smsgrid.store.views import iso, wire
from smsgrid.ui import stats
from smsgrid.ui.timeline import attempt_outcome_class, delivery_state_class, message_state_class


@lru_cache(maxsize=4096)
def pretty_phone(e164: str) -> str:
    """`+18005550100` as people read it, `+1 800-555-0100`; anything unparsable as given."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return text if isinstance(text, str) else e164


def iso_time(moment: float | Timestamp | None) -> str | None:
    """What the page shows of a time: ISO 8601 UTC, as the admin API writes it (the store keeps epoch seconds)."""
    if moment is None:
        return None
    return moment.format() if isinstance(moment, Timestamp) else iso(moment)


def clock_time(iso: str | None) -> str:
    """`HH:MM:SS` of an ISO 8601 UTC time (the page's script shows it in the browser's zone)."""
    if not iso or "T" not in iso:
        return "—"
    return iso.split("T", 1)[1][:8]


def short_event_type(event_type: str | None) -> str:
    return (event_type or "").rsplit(".", 1)[-1]


def pretty_json(value: Any) -> str:
    """A document as the admin API writes it (a read model in its wire form), indented, keys sorted."""
    document = wire(value) if isinstance(value, BaseModel) else value
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def initials(e164: str) -> str:
    """The avatar text of a contact: the last two digits, as a phone shows for an unknown number."""
    return e164[-2:] if e164 else "?"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("smsgrid.ui", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        phone=pretty_phone,
        clock=clock_time,
        iso=iso_time,
        seconds=stats.format_seconds,
        percent=stats.format_percent,
        short_type=short_event_type,
        pretty_json=pretty_json,
        initials=initials,
        message_state=message_state_class,
        delivery_state=delivery_state_class,
        attempt_outcome=attempt_outcome_class,
    )
    return env
