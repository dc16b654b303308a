"""`[server] header_timeout_seconds` (docs/configuration.md): 10 s by default, a positive number of seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgrid.config import load_settings
from smsgrid.errors import ConfigError


def test_the_header_timeout_defaults_to_ten_seconds_and_reads_the_server_section(tmp_path: Path) -> None:
    assert load_settings(None, env={}).server.header_timeout_seconds == 10.0
    config = tmp_path / "smsgrid.toml"
    config.write_text("[server]\nheader_timeout_seconds = 2\n")
    assert load_settings(config, env={}).server.header_timeout_seconds == 2.0


@pytest.mark.parametrize("value", ["0", "-1", "3601", '"ten"', "true"])
def test_the_header_timeout_must_be_a_positive_number_of_seconds(tmp_path: Path, value: str) -> None:
    config = tmp_path / "smsgrid.toml"
    config.write_text(f"[server]\nheader_timeout_seconds = {value}\n")
    with pytest.raises(ConfigError, match=r"server\.header_timeout_seconds"):
        load_settings(config, env={})


def test_server_must_be_a_table(tmp_path: Path) -> None:
    config = tmp_path / "smsgrid.toml"
    config.write_text('server = "fast"\n')
    with pytest.raises(ConfigError, match=r"server: must be a table"):
        load_settings(config, env={})
