"""`[[carrier.smpp]]` (docs/configuration.md): every key checked at load with its path, every problem at once, the
password from the file or from an environment variable and never shown back, and the tables turned into the
adapter's `SmppConnectionSettings` outside the config package."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from smsgrid.carrier.factory import build_carrier, carrier_kind, smpp_connection_settings
from smsgrid.carrier.simulator import CarrierSimulator
from smsgrid.carrier.smpp.adapter import SmppCarrier
from smsgrid.carrier.smpp.addresses import TonNpi
from smsgrid.carrier.smpp.gsm7 import Gsm7Form
from smsgrid.carrier.smpp.segmentation import Concatenation
from smsgrid.carrier.smpp.settings import Route, SmppConnectionSettings
from smsgrid.cli.main import app, carrier_summary
from smsgrid.cli.startup import secrets_of
from smsgrid.clock import SystemClock
from smsgrid.config import CarrierSettings, Settings, SmppConnection
from smsgrid.errors import ConfigError, Problem
from smsgrid.settings import load_settings
from smsgrid.tls import ensure_certificate

PASSWORD = "s3cr3t!x"  # 8 characters: the SMPP 3.4 maximum
MINIMAL = f'[[carrier.smpp]]\nname = "acme-1"\nhost = "127.0.0.1"\nsystem_id = "smsgrid"\npassword = "{PASSWORD}"\n'


def write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "smsgrid.toml"
    config.write_text(text, encoding="utf-8")
    return config


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    return load_settings(write(tmp_path, text), env=env or {})


def problems_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text, env)
    return list(raised.value.problems)


def with_keys(**keys: str) -> str:
    """The minimal connection with some keys replaced or added (TOML values as written)."""
    lines = {"name": '"acme-1"', "host": '"127.0.0.1"', "system_id": '"smsgrid"', "password": f'"{PASSWORD}"'}
    lines.update(keys)
    return "[[carrier.smpp]]\n" + "".join(f"{key} = {value}\n" for key, value in lines.items() if value)


def test_with_no_smpp_connection_the_simulator_carries_everything(tmp_path: Path) -> None:
    settings = load(tmp_path, "[carrier]\ndelay_ms = 0\n")
    assert settings.carrier.smpp == ()
    assert isinstance(build_carrier(settings.carrier, clock=SystemClock(1.0)), CarrierSimulator)
    assert carrier_kind(settings.carrier) == "simulator"


def test_a_minimal_connection_gets_the_documented_defaults(tmp_path: Path) -> None:
    [connection] = load(tmp_path, MINIMAL).carrier.smpp
    assert connection.port == 2775
    assert connection.bind == "transceiver"
    assert (connection.window, connection.tps, connection.weight) == (10, 50.0, 1)
    assert connection.routes == ()
    assert connection.secret.get_secret_value() == PASSWORD
    # The adapter's own defaults are the same as the configuration's.
    converted = smpp_connection_settings(connection)
    defaults = SmppConnectionSettings(name="acme-1", host="127.0.0.1", port=2775, system_id="smsgrid")
    assert converted == dataclasses.replace(defaults, password=converted.password)


def test_every_key_reaches_the_adapters_settings(tmp_path: Path) -> None:
    pem = ensure_certificate(tmp_path / "data").cert  # a self-signed certificate is a CA file of one
    text = with_keys(
        port="2776",
        system_type='"VMA"',
        bind='"transmitter_receiver"',
        tls="true",
        tls_ca_file=f'"{pem}"',
        window="20",
        tps="12.5",
        weight="3",
        routes='[{ to = "+44*" }, { from = "CONTOSO" }, { to = "+1425", from = "12345" }]',
        concatenation='"sar"',
        gsm7='"packed"',
        gsm7_data_coding="1",
        short_code_ton_npi="[6, 0]",
        national_country_code='"44"',
        national_trunk_prefix='"0"',
        unknown_ton_is_international="true",
        enquire_link_seconds="15",
        response_timeout_seconds="20.5",
        connect_timeout_seconds="5",
        reconnect_min_seconds="2",
        reconnect_max_seconds="30",
        reassembly_timeout_seconds="120",
    )
    [connection] = load(tmp_path, text).carrier.smpp
    converted = smpp_connection_settings(connection)
    assert converted.port == 2776
    assert converted.system_type == "VMA"
    assert converted.bind == "transmitter_receiver"
    assert converted.tls is True
    assert converted.tls_ca_file == pem
    assert (converted.window, converted.tps, converted.weight) == (20, 12.5, 3)
    assert converted.routes == (
        Route(to_prefix="+44"),
        Route(sender="CONTOSO"),
        Route(to_prefix="+1425", sender="12345"),
    )
    assert converted.concatenation is Concatenation.SAR
    assert converted.gsm7_form is Gsm7Form.PACKED
    assert converted.gsm7_data_coding == 1
    assert converted.short_code_ton_npi == TonNpi(6, 0)
    assert (converted.national_country_code, converted.national_trunk_prefix) == ("44", "0")
    assert converted.unknown_ton_is_international is True
    assert converted.enquire_link_seconds == 15
    assert converted.response_timeout_seconds == 20.5
    assert converted.connect_timeout_seconds == 5
    assert (converted.reconnect_min_seconds, converted.reconnect_max_seconds) == (2, 30)
    assert converted.reassembly_timeout_seconds == 120
    assert converted.password.get_secret_value() == PASSWORD


def test_an_empty_country_code_keeps_national_numbers_as_received(tmp_path: Path) -> None:
    [connection] = load(tmp_path, MINIMAL).carrier.smpp
    assert smpp_connection_settings(connection).national_country_code is None


def test_with_a_connection_the_smpp_carrier_carries_every_message(tmp_path: Path) -> None:
    settings = load(tmp_path, MINIMAL + with_keys(name='"acme-2"', host='"10.0.0.2"'))
    assert isinstance(build_carrier(settings.carrier, clock=SystemClock(1.0)), SmppCarrier)
    assert carrier_kind(settings.carrier) == "smpp"
    assert [c.name for c in settings.carrier.smpp] == ["acme-1", "acme-2"]


def test_password_env_reads_the_named_variable_at_load(tmp_path: Path) -> None:
    text = with_keys(password="", password_env='"ACME_SMPP_PASSWORD"')
    [connection] = load(tmp_path, text, env={"ACME_SMPP_PASSWORD": "from-env"}).carrier.smpp
    assert connection.password is None
    assert connection.password_env is not None
    assert connection.password_env.variable == "ACME_SMPP_PASSWORD"
    assert smpp_connection_settings(connection).password.get_secret_value() == "from-env"


def test_password_env_without_a_mapping_reads_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMSGRID_TEST_SMPP_PASSWORD", "proc-env")
    config = write(tmp_path, with_keys(password="", password_env='"SMSGRID_TEST_SMPP_PASSWORD"'))
    [connection] = load_settings(config).carrier.smpp
    assert connection.secret.get_secret_value() == "proc-env"


@pytest.mark.parametrize(
    ("keys", "path", "reason"),
    [
        ({"name": ""}, "carrier.smpp[0].name", "is required"),
        ({"name": '""'}, "carrier.smpp[0].name", "must be a non-empty string"),
        ({"host": ""}, "carrier.smpp[0].host", "is required"),
        ({"host": "5"}, "carrier.smpp[0].host", "must be the SMSC's host name or address"),
        ({"port": "0"}, "carrier.smpp[0].port", "must be an integer from 1 to 65535"),
        ({"port": "65536"}, "carrier.smpp[0].port", "must be an integer from 1 to 65535"),
        ({"port": '"2775"'}, "carrier.smpp[0].port", "must be an integer from 1 to 65535"),
        ({"system_id": ""}, "carrier.smpp[0].system_id", "is required: the ESME's system_id"),
        ({"system_id": '"0123456789abcdef"'}, "carrier.smpp[0].system_id", "1 to 15 printable ASCII characters"),
        ({"system_id": '"smsgrïd"'}, "carrier.smpp[0].system_id", "1 to 15 printable ASCII characters"),
        ({"password": '"123456789"'}, "carrier.smpp[0].password", "at most 8 printable ASCII characters (the SMPP"),
        ({"password": '"pässwd"'}, "carrier.smpp[0].password", "at most 8 printable ASCII characters"),
        ({"password": "42"}, "carrier.smpp[0].password", "at most 8 printable ASCII characters"),
        ({"password": ""}, "carrier.smpp[0]", "needs exactly one of password and password_env"),
        ({"password_env": '"X_PASSWORD"'}, "carrier.smpp[0]", "needs exactly one of password and password_env"),
        ({"password": "", "password_env": '"NOT_SET"'}, "carrier.smpp[0].password_env", "names NOT_SET, which is"),
        ({"password": "", "password_env": '"not a name"'}, "carrier.smpp[0].password_env", "environment variable"),
        ({"password": "", "password_env": '"LONG_PASSWORD"'}, "carrier.smpp[0].password_env", "not at most 8"),
        ({"system_type": '"0123456789abc"'}, "carrier.smpp[0].system_type", "at most 12 printable ASCII"),
        ({"bind": '"receiver"'}, "carrier.smpp[0].bind", 'must be "transceiver" or "transmitter_receiver"'),
        ({"tls": '"yes"'}, "carrier.smpp[0].tls", "must be true or false"),
        ({"tls_ca_file": '"/nonexistent/ca.pem"'}, "carrier.smpp[0].tls_ca_file", "cannot be loaded as PEM"),
        ({"window": "0"}, "carrier.smpp[0].window", "must be an integer from 1 to 1000"),
        ({"window": "1001"}, "carrier.smpp[0].window", "must be an integer from 1 to 1000"),
        ({"tps": "0"}, "carrier.smpp[0].tps", "greater than 0"),
        ({"tps": "-5.0"}, "carrier.smpp[0].tps", "greater than 0"),
        ({"weight": "0"}, "carrier.smpp[0].weight", "must be an integer from 1 to 1000"),
        ({"routes": '"+44"'}, "carrier.smpp[0].routes", "must be an array of inline tables"),
        ({"routes": "[{}]"}, "carrier.smpp[0].routes[0]", "needs to, from or both"),
        ({"routes": '[{ to = "44" }]'}, "carrier.smpp[0].routes[0].to", "must be a prefix of an E.164 number"),
        ({"routes": '[{ to = "+44*1" }]'}, "carrier.smpp[0].routes[0].to", "must be a prefix of an E.164 number"),
        ({"routes": '[{ from = "" }]'}, "carrier.smpp[0].routes[0].from", "must be a sender"),
        ({"routes": '[{ sender = "X" }]'}, "carrier.smpp[0].routes[0].sender", "unknown key; expected one of to, from"),
        ({"routes": '["+44"]'}, "carrier.smpp[0].routes[0]", "must be a table with to and/or from"),
        ({"concatenation": '"udh16"'}, "carrier.smpp[0].concatenation", '"udh", "sar" or "message_payload"'),
        ({"gsm7": '"septets"'}, "carrier.smpp[0].gsm7", 'must be "unpacked" or "packed"'),
        ({"gsm7_data_coding": "256"}, "carrier.smpp[0].gsm7_data_coding", "from 0 to 255"),
        (
            {"short_code_ton_npi": "[3]"},
            "carrier.smpp[0].short_code_ton_npi[1]",
            "is required: it must be two integers",
        ),
        ({"short_code_ton_npi": "[3, 300]"}, "carrier.smpp[0].short_code_ton_npi[1]", "two integers"),
        ({"national_country_code": '"+44"'}, "carrier.smpp[0].national_country_code", 'without "+"'),
        ({"national_trunk_prefix": '"x"'}, "carrier.smpp[0].national_trunk_prefix", "must be digits"),
        ({"unknown_ton_is_international": "1"}, "carrier.smpp[0].unknown_ton_is_international", "true or false"),
        ({"enquire_link_seconds": "0"}, "carrier.smpp[0].enquire_link_seconds", "greater than 0"),
        ({"response_timeout_seconds": "86401"}, "carrier.smpp[0].response_timeout_seconds", "at most 86400"),
        ({"connect_timeout_seconds": '"10"'}, "carrier.smpp[0].connect_timeout_seconds", "number of seconds"),
        ({"reassembly_timeout_seconds": "-1"}, "carrier.smpp[0].reassembly_timeout_seconds", "greater than 0"),
        (
            {"reconnect_min_seconds": "90"},
            "carrier.smpp[0].reconnect_min_seconds",
            "must not exceed reconnect_max_seconds",
        ),
        ({"receipt_timeout": "5"}, "carrier.smpp[0].receipt_timeout", "unknown key; expected one of name, host"),
    ],
)
def test_each_bad_value_is_refused_with_its_path(tmp_path: Path, keys: dict[str, str], path: str, reason: str) -> None:
    env = {"X_PASSWORD": "x", "LONG_PASSWORD": "123456789"}
    problems = problems_of(tmp_path, with_keys(**keys), env)
    assert [p.path for p in problems] == [path], problems
    assert reason in problems[0].reason


def test_a_name_used_twice_is_refused_where_it_is_repeated(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, MINIMAL + MINIMAL + with_keys(name='"acme-2"'))
    assert problems == [
        Problem(
            "carrier.smpp[1].name", "acme-1 names another [[carrier.smpp]] connection above; each name is used once"
        )
    ]


def test_smpp_must_be_an_array_of_tables(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, '[carrier]\nsmpp = "acme"\n')
    assert problem == Problem("carrier.smpp", "must be an array of tables ([[carrier.smpp]])")


def test_every_problem_of_every_connection_is_listed_at_once(tmp_path: Path) -> None:
    text = with_keys(port="0", window="0") + with_keys(name='"acme-2"', tps="0", routes='[{ to = "x" }]')
    assert [p.path for p in problems_of(tmp_path, text)] == [
        "carrier.smpp[0].port",
        "carrier.smpp[0].window",
        "carrier.smpp[1].tps",
        "carrier.smpp[1].routes[0].to",
    ]


def test_the_password_is_never_shown_back(tmp_path: Path) -> None:
    settings = load(tmp_path, MINIMAL)
    [connection] = settings.carrier.smpp
    for shown in (repr(settings), str(settings), repr(connection), connection.model_dump_json(), str(connection)):
        assert PASSWORD not in shown
    from_env = load(tmp_path, with_keys(password="", password_env='"P"'), env={"P": PASSWORD})
    assert PASSWORD not in repr(from_env)
    assert PASSWORD not in repr(smpp_connection_settings(from_env.carrier.smpp[0]))


def test_a_problem_never_shows_the_password_it_is_about(tmp_path: Path) -> None:
    too_long = "hunter2-hunter2"
    problems = problems_of(tmp_path, with_keys(password=f'"{too_long}"', port="0"))
    assert too_long not in str(problems)
    env_too_long = problems_of(tmp_path, with_keys(password="", password_env='"P"'), env={"P": too_long})
    assert too_long not in str(env_too_long)


def test_config_check_names_the_connections_but_never_their_passwords(tmp_path: Path) -> None:
    config = write(tmp_path, MINIMAL + with_keys(name='"acme-2"', password="", password_env='"SMSGRID_TEST_PW"'))
    result = CliRunner().invoke(app, ["config", "check", str(config)], env={"NO_COLOR": "1", "SMSGRID_TEST_PW": "pw-2"})
    assert result.exit_code == 0, result.output
    assert "2 SMPP connection(s) (acme-1 127.0.0.1:2775, acme-2 127.0.0.1:2775 password from $SMSGRID_TEST_PW)" in (
        " ".join(result.stdout.split())
    )
    assert PASSWORD not in result.stdout
    assert "pw-2" not in result.stdout
    bad = write(tmp_path, with_keys(password='"toolong-password"'))
    refused = CliRunner().invoke(app, ["config", "check", str(bad), "--json"], env={"NO_COLOR": "1"})
    assert refused.exit_code == 2
    assert "carrier.smpp[0].password" in refused.stdout
    assert "toolong-password" not in refused.stdout


def test_config_check_says_when_the_simulator_carries_everything(tmp_path: Path) -> None:
    config = write(tmp_path, "[carrier]\ndelay_ms = 0\n")
    result = CliRunner().invoke(app, ["config", "check", str(config)], env={"NO_COLOR": "1"})
    assert "no SMPP connection (the simulator carries everything)" in " ".join(result.stdout.split())


def test_the_logs_redact_the_smpp_passwords(tmp_path: Path) -> None:
    settings = load(tmp_path, MINIMAL + with_keys(name='"b"', password="", password_env='"P"'), env={"P": "env-pw"})
    secrets = secrets_of(settings)
    assert PASSWORD in secrets
    assert "env-pw" in secrets


def test_an_empty_password_is_allowed_and_not_redacted_everywhere(tmp_path: Path) -> None:
    settings = load(tmp_path, with_keys(password='""'))
    assert settings.carrier.smpp[0].secret == SecretStr("")
    assert "" not in secrets_of(settings)


def test_a_connection_can_be_built_directly() -> None:
    connection = SmppConnection.model_validate(
        {"name": "x", "host": "h", "system_id": "s", "password": "p", "routes": [{"to": "+1"}]}
    )
    assert CarrierSettings(smpp=(connection,)).smpp[0].routes[0].to == "+1"


def test_the_ready_banner_names_the_carrier_but_never_a_password(tmp_path: Path) -> None:
    assert carrier_summary(Settings()).startswith("simulator")
    banner = carrier_summary(load(tmp_path, MINIMAL + with_keys(name='"acme-2"', bind='"transmitter_receiver"')))
    assert banner.startswith(
        "SMPP: acme-1 (127.0.0.1:2775, transceiver), acme-2 (127.0.0.1:2775, transmitter_receiver)"
    )
    assert PASSWORD not in banner
