"""Fixtures of the reliability and security tests: one real smsgrid per module where the tests do not change it,
on each store (the attacks of issue 12 ran on SQLite only; PostgreSQL must hold the same promises)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smsgrid.testing import SmsgridProcess, start_smsgrid
from tests.postgres_support import STORES, store_args


@pytest.fixture(scope="module", params=STORES)
def shared_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    """A real `smsgrid serve` shared by the tests of one module (they only read, or write what they own)."""
    args = store_args(request, "reliability")
    process = start_smsgrid(tmp_path_factory.mktemp("smsgrid"), config="[carrier]\ndelay_ms = 10\n", args=args)
    try:
        yield process
    finally:
        process.stop()
