"""docs/configuration.md against the settings model, so the documentation cannot drift from the code: the file
with every key at its default loads into exactly `Settings()`, it names every key, and each table's key list is
the model's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from smsgrid.config import (
    SECTIONS,
    CarrierRule,
    CarrierSettings,
    DeliverySettings,
    EntraApplication,
    EntraSettings,
    Environment,
    FunctionApp,
    ResourceSettings,
    ServerSettings,
    Settings,
    SmppConnection,
    SmppRoute,
    StorageAccount,
    StoreSettings,
    ThrottlingSettings,
)
from smsgrid.config.model import TABLE_NAME
from smsgrid.settings import load_settings

DOC = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")


def _defaults_block() -> str:
    after = DOC.split("The whole file, with every key at its default", 1)[1]
    return after.split("```toml\n", 1)[1].split("```", 1)[0]


def _written_keys(model: type[BaseModel]) -> set[str]:
    # A key spelled as its alias where its name is a Python keyword (`from`).
    return {field.alias or name for name, field in model.model_fields.items() if TABLE_NAME not in field.metadata}


def test_the_documented_file_with_every_key_at_its_default_loads_into_the_defaults(tmp_path: Path) -> None:
    config = tmp_path / "defaults.toml"
    config.write_text(_defaults_block(), encoding="utf-8")
    assert load_settings(config, env={}) == Settings()


def test_the_documented_file_names_every_key_of_every_section() -> None:
    # Keys given a value, and those only shown in a comment (no TOML value for "none": ca_file, the NAME tables).
    named: set[str] = set()
    section = ""
    for line in _defaults_block().splitlines():
        text = line.lstrip("# ").split("#", 1)[0].strip()
        if header := re.fullmatch(r"\[\[?([\w.]+?)(?:\.NAME)?\]\]?", text):
            section = header.group(1)
            named.add(section)
        elif key := re.match(r"(\w+)\s*=", text):
            named.add(f"{section}.{key.group(1)}")
    sections: dict[str, type[BaseModel]] = {
        "resource": ResourceSettings,
        "carrier": CarrierSettings,
        "throttling": ThrottlingSettings,
        "delivery": DeliverySettings,
        "store": StoreSettings,
        "server": ServerSettings,
        "entra": EntraSettings,
        "entra.applications": EntraApplication,
    }
    expected = {f"{name}.{key}" for name, model in sections.items() for key in _written_keys(model)}
    assert named == expected | set(SECTIONS) | {"entra.applications"}


def _table_keys(marker: str) -> set[str]:
    """The keys in the first column of the first table after *marker*."""
    lines = DOC.split(marker, 1)[1].lstrip("\n").splitlines()
    rows: list[str] = []
    for line in lines:
        if not line.startswith("|"):
            if rows:
                break
            continue
        rows.append(line)
    return {match.group(1) for row in rows[2:] if (match := re.match(r"\| `(\w+)` \|", row))}


@pytest.mark.parametrize(
    ("marker", "model"),
    [
        ("### `[resource]`", ResourceSettings),
        ("### `[carrier]`", CarrierSettings),
        ("Each `[[carrier.rules]]` entry:", CarrierRule),
        ("Each `[[carrier.smpp]]` entry:", SmppConnection),
        ("Each `routes` entry:", SmppRoute),
        ("### `[throttling]`", ThrottlingSettings),
        ("### `[delivery]`", DeliverySettings),
        ("### `[store]`", StoreSettings),
        ("### `[server]`", ServerSettings),
        ("### `[entra]`", EntraSettings),
        ("Each `[[entra.applications]]` entry:", EntraApplication),
        ("Each `[storage_accounts.NAME]` table:", StorageAccount),
        ("Each `[function_apps.NAME]` table", FunctionApp),
    ],
)
def test_each_documented_table_lists_the_keys_of_its_model(marker: str, model: type[BaseModel]) -> None:
    assert _table_keys(marker) == _written_keys(model)


def test_every_declared_environment_variable_is_documented() -> None:
    documented = _table_keys("## Environment variables")
    declared = {str(field.validation_alias) for field in Environment.model_fields.values()}
    assert declared <= documented
