"""`[server]` (docs/configuration.md): the header and body timeouts, the connection cap and allowed Host names;
and the minimum access key length."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from smsgrid.errors import ConfigError
from smsgrid.settings import load_settings


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


def test_the_other_server_limits_default_and_read_the_section(tmp_path: Path) -> None:
    server = load_settings(None, env={}).server
    assert (server.body_timeout_seconds, server.max_connections, server.allowed_hosts) == (30.0, 900, ())
    config = tmp_path / "smsgrid.toml"
    config.write_text('[server]\nbody_timeout_seconds = 5\nmax_connections = 64\nallowed_hosts = ["smsgrid.lan"]\n')
    server = load_settings(config, env={}).server
    assert (server.body_timeout_seconds, server.max_connections, server.allowed_hosts) == (5.0, 64, ("smsgrid.lan",))


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("body_timeout_seconds = 0", "body_timeout_seconds"),
        ("max_connections = 3", "max_connections"),
        ('max_connections = "many"', "max_connections"),
        ('allowed_hosts = "smsgrid.lan"', "allowed_hosts"),
        ('allowed_hosts = ["a b"]', "allowed_hosts"),
        ("allowed_hosts = [1]", "allowed_hosts"),
    ],
)
def test_bad_server_limits_name_their_key(tmp_path: Path, line: str, key: str) -> None:
    config = tmp_path / "smsgrid.toml"
    config.write_text(f"[server]\n{line}\n")
    with pytest.raises(ConfigError, match=rf"server\.{key}"):
        load_settings(config, env={})


def test_an_access_key_under_32_bytes_is_refused_and_the_error_says_so() -> None:
    with pytest.raises(ConfigError, match=r"decodes to 31 bytes; at least 32"):
        load_settings(None, env={"SMSGRID_ACCESS_KEY": base64.b64encode(b"k" * 31).decode()})
    assert load_settings(None, env={"SMSGRID_ACCESS_KEY": base64.b64encode(b"k" * 32).decode()})
