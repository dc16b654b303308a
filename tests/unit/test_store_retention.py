"""Retention: the `[store] retention_days` setting, the cutoff it gives, and the batch loop that purges."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smsgrid.errors import ConfigError
from smsgrid.settings import load_settings
from smsgrid.store.retention import purge_expired, retention_cutoff


def test_retention_defaults_to_seven_days_and_reads_the_store_section(tmp_path: Path) -> None:
    assert load_settings(None, env={}).store.retention_days == 7.0
    config = tmp_path / "smsgrid.toml"
    config.write_text("[store]\nretention_days = 0.5\n")
    assert load_settings(config, env={}).store.retention_days == 0.5


@pytest.mark.parametrize("value", ["0", "-1", '"seven"', "true"])
def test_retention_days_must_be_a_positive_number(tmp_path: Path, value: str) -> None:
    config = tmp_path / "smsgrid.toml"
    config.write_text(f"[store]\nretention_days = {value}\n")
    with pytest.raises(ConfigError, match=r"store\.retention_days"):
        load_settings(config, env={})


def test_cutoff_is_wall_clock_days_before_now() -> None:
    assert retention_cutoff(1_000_000.0, 7) == 1_000_000.0 - 7 * 86_400
    assert retention_cutoff(1_000_000.0, 0.5) == 1_000_000.0 - 43_200


class _Batches:
    """A store stand-in that has `rows` finished rows and deletes at most `limit` per call."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.calls: list[tuple[float, int]] = []

    async def purge_finished(self, before: float, limit: int) -> int:
        self.calls.append((before, limit))
        removed = min(limit, self.rows)
        self.rows -= removed
        return removed


def test_purge_goes_batch_by_batch_until_nothing_is_left() -> None:
    store = _Batches(1_050)
    removed = asyncio.run(purge_expired(store, 123.0, batch=500, pause=0))  # type: ignore[arg-type]
    assert removed == 1_050
    assert store.calls == [(123.0, 500)] * 4  # 500, 500, 50, then 0 says done
