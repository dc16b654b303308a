"""The CLI's shared pieces in-process: one client option set (`client_command`) and one start-up path."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from smsgrid.cli.options import DEFAULT_CLIENT, DEFAULT_URL, WELL_KNOWN_ACCESS_KEY, ClientOptions, client_command
from smsgrid.cli.startup import log_format_of, secrets_of, settings_of
from smsgrid.settings import load_settings


def _app(seen: list[tuple[str, ClientOptions]], *, json: bool = True) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @client_command(json=json)
    def probe(name: str, opts: ClientOptions = DEFAULT_CLIENT) -> None:
        seen.append((name, opts))

    return app


def test_a_client_command_gets_url_key_and_json_as_one_value() -> None:
    seen: list[tuple[str, ClientOptions]] = []
    result = CliRunner().invoke(_app(seen), ["alice", "--url", "http://h:1", "--key", "k", "--json"])
    assert result.exit_code == 0, result.output
    assert seen == [("alice", ClientOptions("http://h:1", "k", as_json=True))]


def test_the_options_keep_their_defaults_and_environment_variables() -> None:
    seen: list[tuple[str, ClientOptions]] = []
    result = CliRunner().invoke(_app(seen), ["bob"], env={"SMSGRID_URL": "http://env:2"})
    assert result.exit_code == 0, result.output
    assert seen == [("bob", ClientOptions("http://env:2", WELL_KNOWN_ACCESS_KEY, as_json=False))]
    seen.clear()
    CliRunner().invoke(_app(seen), ["bob"], env={"SMSGRID_URL": None})
    assert seen[0][1].url == DEFAULT_URL


def test_a_command_without_json_has_no_json_option() -> None:
    seen: list[tuple[str, ClientOptions]] = []
    result = CliRunner().invoke(_app(seen, json=False), ["carol", "--json"])
    assert result.exit_code == 2
    assert seen == []


def test_secrets_cover_the_key_and_the_database_password(tmp_path: Path) -> None:
    """`serve` and `worker` redact the same secrets: before, only the worker hid the database password."""
    settings = load_settings(None, data_dir=tmp_path, db_url="postgresql://user:s3cret@db/smsgrid", env={})
    secrets = secrets_of(settings)
    assert settings.resource.access_key in secrets
    assert "s3cret" in secrets


def test_bad_start_up_input_exits_2(tmp_path: Path) -> None:
    with pytest.raises(typer.Exit) as bad_format:
        log_format_of("yaml")
    assert bad_format.value.exit_code == 2
    assert log_format_of("JSON") == "json"
    broken = tmp_path / "broken.toml"
    broken.write_text("[resource\n")
    with pytest.raises(typer.Exit) as bad_config:
        settings_of(broken, tmp_path, None, 1.0)
    assert bad_config.value.exit_code == 2
