"""The `e=` of a SAS token: every form publishers write is read, anything else is unreadable (never an error)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgrid.api.topic_publishing import parse_sas_expiry


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01 00:00:00+00:00", datetime(2026, 1, 1, tzinfo=UTC)),  # azure.eventgrid.generate_sas
        ("1/1/2026 12:00:00 AM", datetime(2026, 1, 1, tzinfo=UTC)),  # Microsoft's .NET sample
        ("1767225600", datetime(2026, 1, 1, tzinfo=UTC)),  # Unix seconds
    ],
)
def test_known_forms_are_read(text: str, expected: datetime) -> None:
    assert parse_sas_expiry(text) == expected


@pytest.mark.parametrize("text", ["9" * 400, "²", "1e999", "tomorrow", ""])
def test_unreadable_expiries_are_none(text: str) -> None:
    assert parse_sas_expiry(text) is None


@given(st.text())
def test_any_text_is_read_or_none(text: str) -> None:
    result = parse_sas_expiry(text)
    assert result is None or result.tzinfo is not None
