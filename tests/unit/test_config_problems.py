"""Configuration problems in the model's own words (smsgrid.config.problems): the TOML path of each problem and
the key's Reason, also for optional keys, entries of tables and arrays, keys checked by our own validators, and
pydantic's message only where a key declares no Reason. The secret values are never echoed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from smsgrid.config.model import Reason
from smsgrid.config.problems import problems_of
from smsgrid.errors import ConfigError, Problem
from smsgrid.settings import load_settings

ENDPOINT = 'queue_endpoint = "http://127.0.0.1:10001/devstoreaccount1"\n'


def problems_in(tmp_path: Path, text: str) -> list[Problem]:
    config = tmp_path / "smsgrid.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(config, env={})
    return list(raised.value.problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Optional keys (`Annotated[..., Reason] | None`): the Reason sits inside the union, yet it is the one shown.
        (
            '[[carrier.rules]]\nto = "+1*"\ncode = "x"\ndelay_ms = -1\nreply = 5\n',
            [
                Problem("carrier.rules[0].code", "must be an integer from 1000 to 9999"),
                Problem("carrier.rules[0].delay_ms", "must be an integer from 0 to 86400000"),
                Problem("carrier.rules[0].reply", "must be a string"),
            ],
        ),
        # An entry of an array of tables that is not a table, beside an entry with a bad value.
        (
            '[carrier]\nrules = [5, {to = "+1*", outcome = "Nope"}]\n',
            [
                Problem("carrier.rules[0]", "must be a table"),
                Problem(
                    "carrier.rules[1].outcome", "must be one of Delivered, Failed, NoReport, ServiceUnavailable"
                ),
            ],
        ),
        # Entries of named tables: the entry's own Reason, then the keys inside an entry.
        ("[subscriptions]\nwebhook = 5\n",
         [Problem("subscriptions.webhook", "must be a table: [subscriptions.NAME] with destination = {...}")]),
        ("[storage_accounts]\nacct = 5\n",
         [Problem("storage_accounts.acct", "must be a table with queue_endpoint, blob_endpoint and key")]),
        (
            '[function_apps.f]\nendpoint = 5\nzz = 1\n',
            [
                Problem("function_apps.f.endpoint", "must be an http:// or https:// URL such as http://127.0.0.1:7071"),
                Problem("function_apps.f.zz", "unknown key; expected one of endpoint, key"),
            ],
        ),
        # Whole sections of the wrong type.
        ("carrier = 5\n", [Problem("carrier", "must be a table")]),
        ("storage_accounts = 5\n", [Problem("storage_accounts", "must be a table")]),
        ("function_apps = 5\n", [Problem("function_apps", "must be a table")]),
        ("[entra]\napplications = 5\n",
         [Problem("entra.applications", "must be an array of tables ([[entra.applications]])")]),
    ],
)  # fmt: skip
def test_each_problem_has_its_toml_path_and_the_keys_own_words(
    tmp_path: Path, text: str, expected: list[Problem]
) -> None:
    assert problems_in(tmp_path, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[resource]\naccess_key = 5\n", Problem("resource.access_key", "must be a non-empty base64 string")),
        (
            '[resource]\naccess_key = "not base64!"\n',
            Problem("resource.access_key", "is not valid base64; use e.g. `openssl rand -base64 32`"),
        ),
        ("[delivery]\nca_file = 5\n", Problem("delivery.ca_file", "must be the path of a PEM file of CA certificates")),
        (
            f"[storage_accounts.acct]\nkey = 5\n{ENDPOINT}",
            Problem("storage_accounts.acct.key", "must be the account's base64 Shared Key (Azurite's is well known)"),
        ),
        (
            f'[storage_accounts.acct]\nkey = ""\n{ENDPOINT}',
            Problem("storage_accounts.acct.key", "must be the account's base64 Shared Key (Azurite's is well known)"),
        ),
        (
            f'[storage_accounts.acct]\nname = "other"\nkey = "AAAA"\n{ENDPOINT}',
            Problem(
                "storage_accounts.acct.name",
                "unknown key; the name is the table's own ([storage_accounts.NAME], [function_apps.NAME])",
            ),
        ),
    ],
)
def test_values_our_validators_refuse_are_named_in_their_words(tmp_path: Path, text: str, expected: Problem) -> None:
    assert problems_in(tmp_path, text) == [expected]


def test_client_ids_that_only_look_like_guids_are_refused_each_not_as_twins(tmp_path: Path) -> None:
    # 36 characters, the length of a GUID, twice: each is named as not a GUID rather than as listed twice.
    app = f'[[entra.applications]]\nclient_id = "{"z" * 36}"\nclient_secret = "s"\n'
    assert [p.path for p in problems_in(tmp_path, app + app)] == [
        "entra.applications[0].client_id",
        "entra.applications[1].client_id",
    ]
    assert all("must be a GUID" in p.reason for p in problems_in(tmp_path, app + app))


def test_a_ca_file_that_cannot_be_read_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    [problem] = problems_in(tmp_path, f'[delivery]\nca_file = "{missing}"\n')
    assert problem.path == "delivery.ca_file"
    assert problem.reason.startswith("cannot be loaded as PEM CA certificates: ")
    assert "No such file" in problem.reason


# problems_of works on any model; these shapes are rare in Settings, so a small model of our own shows them.
class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Annotated[int, Strict(), Reason("must be an integer")]


class _Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    undescribed: int = 0
    maybe: int | None = None
    nested: Annotated[_Entry, Reason("must be a table")] | None = None
    renamed: Annotated[int, Strict(), Reason("must be an integer")] = Field(default=0, alias="RENAMED")
    entries: dict[str, _Entry] = Field(default_factory=dict)
    numbers: Annotated[frozenset[int], Reason("must be numbers", item="each must be a number")] = frozenset()


def sample_problems(data: object, renamed: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ValidationError) as raised:
        _Sample.model_validate(data)
    return problems_of(raised.value, _Sample, renamed or {})


def test_a_key_without_a_reason_falls_back_to_pydantics_words_without_the_input() -> None:
    [problem] = sample_problems({"undescribed": "secret-value"})
    assert problem.path == "undescribed"
    assert problem.reason == "Input should be a valid integer, unable to parse string as an integer"
    assert "secret-value" not in problem.reason


def test_an_optional_key_without_a_reason_also_falls_back_to_pydantics_words() -> None:
    assert sample_problems({"maybe": "x"}) == [
        Problem("maybe", "Input should be a valid integer, unable to parse string as an integer")
    ]


def test_keys_below_an_optional_table_are_found_through_the_optional() -> None:
    assert sample_problems({"nested": {"value": "x", "zz": 1}}) == [
        Problem("nested.value", "must be an integer"),
        Problem("nested.zz", "unknown key; expected one of value"),
    ]
    assert sample_problems({"nested": 5}) == [Problem("nested", "must be a table")]


def test_a_key_written_as_its_alias_finds_its_reason() -> None:
    # A key spelled as its alias (`[[carrier.smpp]] routes = [{ from = … }]`: `from` is a Python keyword).
    assert sample_problems({"RENAMED": "x"}) == [Problem("RENAMED", "must be an integer")]
    assert sample_problems({"renamed": 1}) == [
        Problem("renamed", "unknown key; expected one of undescribed, maybe, nested, RENAMED, entries, numbers")
    ]


def test_a_location_the_model_does_not_name_keeps_pydantics_words() -> None:
    with pytest.raises(ValidationError) as raised:
        _Sample.model_validate({"RENAMED": "x"})
    # Walked against another model, the location names no field there: no Reason is found for it.
    assert problems_of(raised.value, _Entry, {}) == [Problem("RENAMED", "Input should be a valid integer")]


def test_entries_of_a_mapping_and_of_a_collection_get_their_own_words() -> None:
    assert sample_problems({"entries": {"a": {"value": "x", "zz": 1}}, "numbers": [1, "x"]}) == [
        Problem("entries.a.value", "must be an integer"),
        Problem("entries.a.zz", "unknown key; expected one of value"),
        Problem("numbers[1]", "each must be a number"),
    ]


def test_a_problem_is_listed_once_and_renamed_paths_name_their_source() -> None:
    # Both entries fail at paths that the renaming maps to one place: the same problem is reported once.
    renamed = {"entries.a.value": "SMSGRID_VALUE", "entries.b.value": "SMSGRID_VALUE"}
    problems = sample_problems({"entries": {"a": {"value": "x"}, "b": {"value": "y"}}}, renamed)
    assert problems == [Problem("SMSGRID_VALUE", "must be an integer")]
