"""The settings model and its loader (docs/configuration.md): unknown keys refused with their path, every problem
at once, the declared environment variables and their precedence, the Event Grid bodies checked by the loader."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from smsgrid.config import WELL_KNOWN_ACCESS_KEY, FunctionApp, Settings, StorageAccount, load_settings
from smsgrid.errors import ConfigError, Problem

OWN_KEY = base64.b64encode(b"k" * 32).decode()
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STORAGE_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct"


def problems_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[Problem]:
    config = tmp_path / "smsgrid.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(config, env=env or {})
    return list(raised.value.problems)


def load(tmp_path: Path, text: str, **options: object) -> Settings:
    config = tmp_path / "smsgrid.toml"
    config.write_text(text, encoding="utf-8")
    return load_settings(config, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        ("[delivery]\nmax_atempts = 3\n", "delivery.max_atempts", "timeout_seconds, max_concurrency_per_endpoint"),
        ("[resource]\nphone_number = []\n", "resource.phone_number", "name, subscription_id"),
        ('[[carrier.rules]]\nto = "+1*"\noutcom = "Failed"\n', "carrier.rules[0].outcom", "to, outcome, code"),
        ("[store]\nretention = 3\n", "store.retention", "retention_days"),
        ("[server]\nallowed_host = []\n", "server.allowed_host", "header_timeout_seconds"),
        ('[function_apps.f]\nendpoint = "http://x"\nkeys = "k"\n', "function_apps.f.keys", "endpoint, key"),
    ],
)
def test_a_misspelled_key_is_refused_with_its_path_and_the_keys_its_table_has(
    tmp_path: Path, text: str, path: str, expected: str
) -> None:
    [problem] = problems_of(tmp_path, text)
    assert problem.path == path
    assert problem.reason.startswith(f"unknown key; expected one of {expected}")


def test_every_problem_of_every_section_is_listed_at_once(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        'colour = "x"\n'
        '[resource]\ndata_casing = "snake"\nphone_numbers = ["+1800555", "+18005550100"]\n'
        '[carrier]\ndelay_ms = -1\n[[carrier.rules]]\noutcome = "Lost"\n'
        '[throttling]\nenabled = "no"\n'
        "[delivery]\ntimeout_seconds = true\n"
        '[entra]\ntenant_id = "x"\n'
        '[subscriptions.x]\ndestination = { endpointType = "WebHook", properties = { endpointUrl = "http://h/" } }\n'
        "[namespace_topics]\nt = 5\n",
        env={"SMSGRID_THROTTLING": "maybe"},
    )
    assert [p.path for p in problems] == [
        "colour",
        "SMSGRID_THROTTLING",
        "resource.data_casing",
        "resource.phone_numbers[0]",
        "carrier.delay_ms",
        "carrier.rules[0].to",
        "carrier.rules[0].outcome",
        "throttling.enabled",
        "delivery.timeout_seconds",
        "entra.tenant_id",
        "subscriptions.x.name",
        "namespace_topics.t",
    ]
    reasons = {p.path: p.reason for p in problems}
    assert reasons["carrier.rules[0].to"].startswith("is required: a glob on the E.164 recipient")
    assert reasons["carrier.rules[0].outcome"] == "must be one of Delivered, Failed, NoReport, ServiceUnavailable"
    assert reasons["delivery.timeout_seconds"] == "must be a number of seconds from 0 to 300"


def test_a_list_whose_entries_are_wrong_is_not_also_called_empty(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[resource]\nphone_numbers = ["+1800555"]\n')
    assert [p.path for p in problems] == ["resource.phone_numbers[0]"]
    [empty] = problems_of(tmp_path, "[resource]\nphone_numbers = []\n")
    assert empty == Problem("resource.phone_numbers", "must be a non-empty list of E.164 numbers")


def test_a_problem_never_shows_the_secret_it_is_about(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        '[resource]\naccess_key = "c2hvcnQtc2VjcmV0"\n'
        '[storage_accounts.acct]\nqueue_endpoint = "http://x"\nkey = "not-base64-secret!"\n'
        '[function_apps.f]\nendpoint = "ftp://x"\nkey = "function-secret"\n',
    )
    text = "; ".join(str(p) for p in problems)
    assert [p.path for p in problems] == [
        "resource.access_key",
        "storage_accounts.acct.key",
        "function_apps.f.endpoint",
    ]
    for secret in ("c2hvcnQtc2VjcmV0", "not-base64-secret!", "function-secret"):
        assert secret not in text


def test_a_table_takes_its_name_from_the_table_and_refuses_one_written_inside(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        f'[storage_accounts.acct]\nqueue_endpoint = "http://q/"\nkey = "{AZURITE_KEY}"\n'
        '[function_apps.SMS-App]\nendpoint = "http://f"\n',
        env={},
    )
    assert settings.storage_accounts["acct"] == StorageAccount(name="acct", key=AZURITE_KEY, queue_endpoint="http://q")
    assert settings.function_apps == {"sms-app": FunctionApp(name="SMS-App", endpoint="http://f")}
    [problem] = problems_of(
        tmp_path, f'[storage_accounts.acct]\nname = "other"\nblob_endpoint = "http://b"\nkey = "{AZURITE_KEY}"\n'
    )
    assert problem.path == "storage_accounts.acct.name"
    assert problem.reason.startswith("unknown key")


def test_a_command_line_option_wins_over_the_environment_which_wins_over_the_file(tmp_path: Path) -> None:
    text = '[throttling]\nenabled = true\n[resource]\nname = "contoso"\n'
    env = {
        "SMSGRID_ACCESS_KEY": OWN_KEY,
        "SMSGRID_THROTTLING": "off",
        "SMSGRID_DATA_DIR": "/env/data",
        "SMSGRID_DB": "postgresql://env/db",
    }
    from_env = load(tmp_path, text, env=env)
    assert from_env.resource.access_key == OWN_KEY
    assert from_env.resource.name == "contoso"  # the rest of the section stays the file's
    assert from_env.throttling.enabled is False
    assert (from_env.data_dir, from_env.db_url) == (Path("/env/data"), "postgresql://env/db")
    from_options = load(tmp_path, text, env=env, data_dir=Path("/cli/data"), db_url="sqlite:///cli.db", time_scale=0.5)
    assert (from_options.data_dir, from_options.db_url, from_options.time_scale) == (
        Path("/cli/data"),
        "sqlite:///cli.db",
        0.5,
    )
    defaults = load(tmp_path, "", env={"SMSGRID_ACCESS_KEY": "", "SMSGRID_DB": ""})
    assert (defaults.resource.access_key, defaults.db_url, defaults.data_dir) == (
        WELL_KNOWN_ACCESS_KEY,
        None,
        Path(".smsgrid"),
    )
    assert defaults.database_url == "sqlite:///.smsgrid/smsgrid.db"


def test_without_a_mapping_the_declared_variables_are_read_from_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMSGRID_THROTTLING", "ON")
    monkeypatch.setenv("SMSGRID_DB", "postgresql://process/db")
    settings = load_settings(None)
    assert settings.throttling.enabled is True
    assert settings.db_url == "postgresql://process/db"
    # A mapping given instead is all that is read.
    assert load_settings(None, env={}).db_url is None


def test_a_bad_value_from_the_environment_or_the_command_line_is_named_after_where_it_came_from() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(None, env={"SMSGRID_ACCESS_KEY": "bm90LWxvbmctZW5vdWdo"}, time_scale=0)
    assert [p.path for p in raised.value.problems] == ["SMSGRID_ACCESS_KEY", "--time-scale"]


def test_a_subscription_config_check_refuses_also_stops_the_loader_serve_and_worker_use(tmp_path: Path) -> None:
    webhook = 'destination = { endpointType = "WebHook", properties = { endpointUrl = "http://127.0.0.1:9000/" } }'
    queue = (
        'destination = { endpointType = "StorageQueue", '
        f'properties = {{ resourceId = "{STORAGE_ID}", queueName = "sms-events" }} }}'
    )
    problems = problems_of(tmp_path, f"[subscriptions.good-one]\n{webhook}\n[subscriptions.to-queue]\n{queue}\n")
    assert [p.path for p in problems] == ["subscriptions.to-queue.destination"]
    assert "[storage_accounts.acct]" in problems[0].reason
    settings = load(
        tmp_path,
        f"[subscriptions.good-one]\n{webhook}\n[subscriptions.to-queue]\n{queue}\n"
        f'[storage_accounts.acct]\nqueue_endpoint = "http://q"\nkey = "{AZURITE_KEY}"\n',
        env={},
    )
    assert sorted(settings.subscriptions) == ["good-one", "to-queue"]
    [not_a_table] = problems_of(tmp_path, "[subscriptions]\nx = 5\n")
    assert not_a_table == Problem("subscriptions.x", "must be a table: [subscriptions.NAME] with destination = {...}")


def test_the_well_known_application_exists_only_with_the_well_known_key() -> None:
    assert len(Settings().entra.applications) == 1
    own = Settings.model_validate({"resource": {"access_key": OWN_KEY}})
    assert own.entra.applications == ()


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.delivery.timeout_seconds = 1.0
