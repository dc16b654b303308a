"""Fixtures of the reliability and security tests: one real smsgrid per module where the tests do not change it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smsgrid.testing import SmsgridProcess, start_smsgrid


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsgridProcess]:
    """A real `smsgrid serve` shared by the tests of one module (they only read, or write what they own)."""
    process = start_smsgrid(tmp_path_factory.mktemp("smsgrid"), config="[carrier]\ndelay_ms = 10\n")
    try:
        yield process
    finally:
        process.stop()
