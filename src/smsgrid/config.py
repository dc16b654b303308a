"""Settings: read once at the edge (CLI or app factory) into frozen values; nothing else reads files or env.

The TOML shape is SPEC §4. Every key is optional; `load_settings` collects every problem and raises one
ConfigError that names the key and what to change.
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smsgrid.errors import ConfigError, InvalidPhoneNumberError, Problem

# The documented well-known development key (like Azurite's): base64 of 32 fixed bytes. Anyone can read it
# here, so it protects nothing but a mistyped client; set SMSGRID_ACCESS_KEY or [resource].access_key for more.
WELL_KNOWN_ACCESS_KEY = base64.b64encode(b"smsgrid-well-known-dev-key-32byt").decode()
DEFAULT_PHONE_NUMBERS = ("+18005550100", "+18005550101")
CARRIER_OUTCOMES = ("Delivered", "Failed", "NoReport")


@dataclass(frozen=True, slots=True)
class ResourceSettings:
    name: str = "local"
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "local"
    access_key: str = WELL_KNOWN_ACCESS_KEY
    data_casing: str = "pascal"
    phone_numbers: tuple[str, ...] = DEFAULT_PHONE_NUMBERS
    help_reply: str = "Reply STOP to unsubscribe. Msg&data rates may apply."

    @property
    def key_bytes(self) -> bytes:
        return base64.b64decode(self.access_key)


@dataclass(frozen=True, slots=True)
class CarrierRule:
    """One `[[carrier.rules]]` entry; `to` is a glob on the E.164 recipient (first match wins)."""

    to: str
    outcome: str = "Delivered"
    code: int | None = None
    delay_ms: int | None = None
    attempts: int = 1
    reply: str | None = None
    segments_failed: int = 0  # in each attempt, this many segments fail while the others get through


@dataclass(frozen=True, slots=True)
class CarrierSettings:
    delay_ms: int = 500
    rules: tuple[CarrierRule, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """`[delivery]`: smsgrid's own knobs (not in Azure). Event Grid waits 30 s for an answer."""

    timeout_seconds: float = 30.0
    max_concurrency_per_endpoint: int = 32


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """`[store]`: how long finished messages, events and deliveries are kept (not scaled by --time-scale)."""

    retention_days: float = 7.0


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """`[server]`: the HTTP listeners. A client that has not sent a whole request head within
    `header_timeout_seconds` of connecting (or of its request's first byte) is disconnected (slowloris)."""

    header_timeout_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class Settings:
    resource: ResourceSettings = field(default_factory=ResourceSettings)
    carrier: CarrierSettings = field(default_factory=CarrierSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    # Raw subscription bodies from the config file; validated by the delivery subsystem at start.
    subscriptions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    data_dir: Path = Path(".smsgrid")
    db_url: str | None = None
    time_scale: float = 1.0

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.data_dir / 'smsgrid.db').as_posix()}"


def _check_key(value: Any, problems: list[Problem], path: str) -> str | None:
    if not isinstance(value, str) or not value:
        problems.append(Problem(path, "must be a non-empty base64 string"))
        return None
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        problems.append(Problem(path, "is not valid base64; use e.g. `openssl rand -base64 32`"))
        return None
    return value


def _resource(raw: Mapping[str, Any], env: Mapping[str, str], problems: list[Problem]) -> ResourceSettings:
    from smsgrid.sms import parse_e164

    base = ResourceSettings()
    values: dict[str, Any] = {}
    for key in ("name", "subscription_id", "resource_group", "help_reply"):
        if key in raw:
            if isinstance(raw[key], str) and raw[key]:
                values[key] = raw[key]
            else:
                problems.append(Problem(f"resource.{key}", "must be a non-empty string"))
    key_value = env.get("SMSGRID_ACCESS_KEY") or raw.get("access_key")
    if key_value is not None:
        where = "SMSGRID_ACCESS_KEY" if env.get("SMSGRID_ACCESS_KEY") else "resource.access_key"
        checked = _check_key(key_value, problems, where)
        if checked:
            values["access_key"] = checked
    casing = raw.get("data_casing", base.data_casing)
    if casing not in ("pascal", "camel"):
        problems.append(Problem("resource.data_casing", 'must be "pascal" or "camel"'))
    else:
        values["data_casing"] = casing
    if "phone_numbers" in raw:
        numbers = raw["phone_numbers"]
        if not isinstance(numbers, list) or not numbers:
            problems.append(Problem("resource.phone_numbers", "must be a non-empty list of E.164 numbers"))
        else:
            parsed: list[str] = []
            for i, number in enumerate(numbers):
                try:
                    parsed.append(parse_e164(str(number)))
                except InvalidPhoneNumberError as exc:
                    problems.append(Problem(f"resource.phone_numbers[{i}]", str(exc)))
            values["phone_numbers"] = tuple(parsed)
    return ResourceSettings(**{**_asdict(base), **values})


def _asdict(value: ResourceSettings) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}


def _int(raw: Mapping[str, Any], key: str, path: str, problems: list[Problem], low: int, high: int) -> int | None:
    if key not in raw:
        return None
    value = raw[key]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        problems.append(Problem(path, f"must be an integer from {low} to {high}"))
        return None
    return value


def _carrier(raw: Mapping[str, Any], problems: list[Problem]) -> CarrierSettings:
    delay = _int(raw, "delay_ms", "carrier.delay_ms", problems, 0, 86_400_000)
    rules: list[CarrierRule] = []
    raw_rules = raw.get("rules", [])
    if not isinstance(raw_rules, list):
        problems.append(Problem("carrier.rules", "must be an array of tables ([[carrier.rules]])"))
        raw_rules = []
    for i, rule in enumerate(raw_rules):
        path = f"carrier.rules[{i}]"
        if not isinstance(rule, dict):
            problems.append(Problem(path, "must be a table"))
            continue
        to = rule.get("to")
        if not isinstance(to, str) or not to:
            problems.append(Problem(f"{path}.to", 'must be a glob on the E.164 recipient, e.g. "+1206555010*"'))
            continue
        outcome = rule.get("outcome", "Delivered")
        if outcome not in CARRIER_OUTCOMES:
            problems.append(Problem(f"{path}.outcome", f"must be one of {', '.join(CARRIER_OUTCOMES)}"))
        reply = rule.get("reply")
        if reply is not None and not isinstance(reply, str):
            problems.append(Problem(f"{path}.reply", "must be a string"))
            reply = None
        rules.append(
            CarrierRule(
                to=to,
                outcome=str(outcome),
                code=_int(rule, "code", f"{path}.code", problems, 1000, 9999),
                delay_ms=_int(rule, "delay_ms", f"{path}.delay_ms", problems, 0, 86_400_000),
                attempts=_int(rule, "attempts", f"{path}.attempts", problems, 1, 10) or 1,
                reply=reply,
                segments_failed=_int(rule, "segments_failed", f"{path}.segments_failed", problems, 1, 255) or 0,
            )
        )
    return CarrierSettings(delay_ms=500 if delay is None else delay, rules=tuple(rules))


def _delivery(raw: Mapping[str, Any], problems: list[Problem]) -> DeliverySettings:
    timeout = raw.get("timeout_seconds", 30.0)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 300:
        problems.append(Problem("delivery.timeout_seconds", "must be a number of seconds from 0 to 300"))
        timeout = 30.0
    concurrency = _int(raw, "max_concurrency_per_endpoint", "delivery.max_concurrency_per_endpoint", problems, 1, 1024)
    return DeliverySettings(float(timeout), concurrency or 32)


def _store(raw: Mapping[str, Any], problems: list[Problem]) -> StoreSettings:
    default = StoreSettings().retention_days
    days = raw.get("retention_days", default)
    if not isinstance(days, int | float) or isinstance(days, bool) or not 0 < days <= 36_500:
        problems.append(Problem("store.retention_days", "must be a number of days greater than 0 (e.g. 7)"))
        days = default
    return StoreSettings(retention_days=float(days))


def _server(raw: Mapping[str, Any], problems: list[Problem]) -> ServerSettings:
    default = ServerSettings().header_timeout_seconds
    seconds = raw.get("header_timeout_seconds", default)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 < seconds <= 3600:
        problems.append(
            Problem("server.header_timeout_seconds", "must be a number of seconds from 0 to 3600 (e.g. 10)")
        )
        seconds = default
    return ServerSettings(header_timeout_seconds=float(seconds))


def load_settings(
    config_file: Path | None = None,
    *,
    data_dir: Path | None = None,
    db_url: str | None = None,
    time_scale: float | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Read the TOML file (if any), the environment and the CLI options into one frozen Settings."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    if config_file is not None:
        try:
            raw = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("configuration", [Problem(str(config_file), "file not found")]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("configuration", [Problem(str(config_file), f"not valid TOML: {exc}")]) from exc
    problems: list[Problem] = []
    unknown = set(raw) - {"resource", "carrier", "delivery", "store", "server", "subscriptions"}
    problems.extend(
        Problem(key, "unknown section; expected resource, carrier, delivery, store, server or subscriptions")
        for key in unknown
    )
    resource = _resource(_table(raw, "resource", problems), env, problems)
    carrier = _carrier(_table(raw, "carrier", problems), problems)
    delivery = _delivery(_table(raw, "delivery", problems), problems)
    store = _store(_table(raw, "store", problems), problems)
    server = _server(_table(raw, "server", problems), problems)
    subscriptions = _table(raw, "subscriptions", problems)
    scale = 1.0 if time_scale is None else time_scale
    if not scale > 0:
        problems.append(Problem("--time-scale", "must be greater than 0 (e.g. 0.001 plays 24 h in 86 s)"))
    if problems:
        raise ConfigError("configuration", problems)
    return Settings(
        resource=resource,
        carrier=carrier,
        delivery=delivery,
        store=store,
        server=server,
        subscriptions={k: v for k, v in subscriptions.items() if isinstance(v, dict)},
        data_dir=data_dir or Path(env.get("SMSGRID_DATA_DIR", ".smsgrid")),
        db_url=db_url or env.get("SMSGRID_DB") or None,
        time_scale=scale,
    )


def _table(raw: Mapping[str, Any], key: str, problems: list[Problem]) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        problems.append(Problem(key, "must be a table"))
        return {}
    return value
