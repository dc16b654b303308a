"""One loader for `serve`, `worker` and `config check`: the TOML file, the environment and the command line
into one frozen `Settings`, or one ConfigError listing every problem.

Precedence (docs/configuration.md): a command-line option wins over its environment variable, which wins over
the TOML key, which wins over the model's default. The Event Grid bodies kept raw in the settings
(`[subscriptions.NAME]`, `[namespace_topics.NAME]`) are checked by their own subsystems' parsers, handed in
as `check_bodies` by `smsgrid.settings.load_settings` (the loader the commands call), so config imports no
subsystem and a body that `config check` refuses also stops `serve` and `worker` before they start.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from smsgrid.config.model import ENVIRON_CONTEXT, Settings, refuse
from smsgrid.config.problems import problems_of
from smsgrid.errors import ConfigError, Problem

# Problems in the raw tables a subsystem parses itself, given the settings when those are valid.
BodyCheck = Callable[[Mapping[str, Any], "Settings | None"], list[Problem]]

# The TOML file holds only sections; these Settings fields come from the command line and the environment.
COMMAND_LINE_ONLY = ("data_dir", "db_url", "time_scale")
SECTIONS = tuple(name for name in Settings.model_fields if name not in COMMAND_LINE_ONLY)


def _unset_when_empty(value: object) -> object:
    return value or None  # an exported but empty variable is as good as unset


def _on_or_off(value: object) -> bool | None:
    if not value:
        return None
    if isinstance(value, str) and value.lower() in ("on", "off"):
        return value.lower() == "on"
    raise refuse('must be "on" or "off"')


class Environment(BaseSettings):
    """The environment variables smsgrid reads, each over the setting it overrides (docs/configuration.md)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True)

    # → [resource] access_key; also the default of the client commands' --key.
    access_key: Annotated[str | None, BeforeValidator(_unset_when_empty)] = Field(
        default=None, validation_alias="SMSGRID_ACCESS_KEY", repr=False
    )
    # → [throttling] enabled: test harnesses and benchmarks measure the engine, not ACS's rate limits, and turn
    # throttling off without a config file (docs/configuration.md#throttling).
    throttling: Annotated[bool | None, BeforeValidator(_on_or_off)] = Field(
        default=None, validation_alias="SMSGRID_THROTTLING"
    )
    # → data_dir (--data-dir wins). An empty value is kept: Path("") is the working directory, as it always was.
    data_dir: Path | None = Field(default=None, validation_alias="SMSGRID_DATA_DIR")
    # → db_url (--db wins).
    db: Annotated[str | None, BeforeValidator(_unset_when_empty)] = Field(default=None, validation_alias="SMSGRID_DB")


class _EnvironmentOf(Environment):
    """The same declaration read from a given mapping only (tests, embedding), never the process environment."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


# Where each variable lands in the settings; a problem with its value is named after the variable.
OVERRIDES = {
    "access_key": (("resource", "access_key"), "SMSGRID_ACCESS_KEY"),
    "throttling": (("throttling", "enabled"), "SMSGRID_THROTTLING"),
}


def read_environment(env: Mapping[str, str] | None, problems: list[Problem]) -> Environment:
    """The declared variables from *env*, or from the process environment (pydantic-settings) when None."""
    try:
        return Environment() if env is None else _EnvironmentOf.model_validate(dict(env))
    except ValidationError as exc:
        problems.extend(problems_of(exc, Environment, {}))
        return Environment.model_construct()


def read_settings(
    config_file: Path | None = None,
    *,
    data_dir: Path | None = None,
    db_url: str | None = None,
    time_scale: float | None = None,
    env: Mapping[str, str] | None = None,
    check_bodies: BodyCheck | None = None,
) -> Settings:
    """Read the TOML file (if any), the environment and the CLI options into one frozen Settings."""
    tables = _read_tables(config_file)
    problems = [
        Problem(key, f"unknown section; expected {', '.join(SECTIONS[:-1])} or {SECTIONS[-1]}")
        for key in tables
        if key not in SECTIONS
    ]
    values: dict[str, Any] = {key: value for key, value in tables.items() if key in SECTIONS}
    renamed: dict[str, str] = {}
    environment = read_environment(env, problems)
    for attribute, (path, variable) in OVERRIDES.items():
        value = getattr(environment, attribute)
        if value is not None and _override(values, path, value):
            renamed[".".join(path)] = variable
    chosen_dir = data_dir if data_dir is not None else environment.data_dir
    if chosen_dir is not None:
        values["data_dir"] = chosen_dir
    if db_url or environment.db:
        values["db_url"] = db_url or environment.db
    if time_scale is not None:
        values["time_scale"] = time_scale
        renamed["time_scale"] = "--time-scale"
    settings: Settings | None = None
    try:
        # `[[carrier.smpp]] password_env` is read from the same environment as the variables above.
        settings = Settings.model_validate(values, context={ENVIRON_CONTEXT: env})
    except ValidationError as exc:
        # `from None` below: pydantic's own rendering of the error shows input values, and those may be secrets.
        problems.extend(problems_of(exc, Settings, renamed))
    if check_bodies is not None:
        problems.extend(check_bodies(values, settings))
    if problems or settings is None:
        raise ConfigError("configuration", problems) from None
    return settings


def _read_tables(config_file: Path | None) -> dict[str, Any]:
    if config_file is None:
        return {}
    try:
        return tomllib.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("configuration", [Problem(str(config_file), "file not found")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("configuration", [Problem(str(config_file), f"not valid TOML: {exc}")]) from exc


def _override(values: dict[str, Any], path: tuple[str, str], value: object) -> bool:
    """Put *value* at `section.key`, unless the section is not a table (that problem is reported on its own)."""
    section, key = path
    table = values.get(section, {})
    if not isinstance(table, dict):
        return False
    values[section] = {**table, key: value}
    return True
