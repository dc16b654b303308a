"""`[resource]` senders and data casing, `[throttling]` and SMSGRID_THROTTLING (docs/configuration.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsgrid.config import Settings
from smsgrid.errors import ConfigError
from smsgrid.settings import load_settings


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    config = tmp_path / "smsgrid.toml"
    config.write_text(text)
    return load_settings(config, env=env or {})


def test_defaults_camel_case_no_short_codes_or_sender_ids_and_throttling_on() -> None:
    settings = load_settings(None, env={})
    assert settings.resource.data_casing == "camel"
    assert settings.resource.short_codes == ()
    assert settings.resource.alphanumeric_sender_ids == ()
    assert settings.throttling.enabled


def test_reads_short_codes_and_alphanumeric_sender_ids_as_written(tmp_path: Path) -> None:
    config = tmp_path / "smsgrid.toml"
    config.write_text(
        '[resource]\nshort_codes = ["12345", "654321"]\nalphanumeric_sender_ids = ["CONTOSO", "My Shop"]\n'
    )
    resource = load_settings(config, env={}).resource
    assert resource.short_codes == ("12345", "654321")
    assert resource.alphanumeric_sender_ids == ("CONTOSO", "My Shop")


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('short_codes = ["1234"]', r"resource\.short_codes\[0\]: must be 5 or 6 digits"),
        ("short_codes = [12345]", r"resource\.short_codes\[0\]"),
        ('short_codes = "12345"', r"resource\.short_codes: must be a list"),
        ('alphanumeric_sender_ids = ["CONTOSO LIMITED"]', r"alphanumeric_sender_ids\[0\]: has 15 characters"),
        ('alphanumeric_sender_ids = ["12345"]', r"alphanumeric_sender_ids\[0\]: must contain at least one letter"),
        ('alphanumeric_sender_ids = ["C&A"]', r"alphanumeric_sender_ids\[0\]: may hold only"),
        ('phone_numbers = ["+4402079460000"]', r"phone_numbers\[0\]: .*not a phone number as written"),
    ],
)
def test_refuses_senders_acs_would_not_accept(tmp_path: Path, line: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        _load(tmp_path, f"[resource]\n{line}\n")


def test_reads_throttling_rates(tmp_path: Path) -> None:
    text = "[throttling]\nenabled = false\ntoll_free_per_minute = 100\nalphanumeric_per_minute = 1000\n"
    settings = _load(tmp_path, text)
    throttling = settings.throttling
    assert not throttling.enabled
    assert throttling.toll_free_per_minute == 100
    assert throttling.alphanumeric_per_minute == 1000
    assert throttling.short_code_per_minute == 6000


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('enabled = "no"', r"throttling\.enabled: must be true or false"),
        ("toll_free_per_minute = 99", r"throttling\.toll_free_per_minute: must be an integer from 100"),
        ("short_code_per_minute = 1.5", r"throttling\.short_code_per_minute"),
        ("per_second = 5", r"throttling\.per_second: unknown key"),
    ],
)
def test_refuses_bad_throttling_values(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        _load(tmp_path, f"[throttling]\n{text}\n")


@pytest.mark.parametrize(("switch", "enabled"), [("off", False), ("OFF", False), ("on", True)])
def test_the_environment_switch_wins_over_the_file(tmp_path: Path, switch: str, enabled: bool) -> None:
    settings = _load(tmp_path, f"[throttling]\nenabled = {str(not enabled).lower()}\n", {"SMSGRID_THROTTLING": switch})
    assert settings.throttling.enabled is enabled


def test_the_environment_switch_is_on_or_off(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SMSGRID_THROTTLING"):
        _load(tmp_path, "", {"SMSGRID_THROTTLING": "maybe"})
