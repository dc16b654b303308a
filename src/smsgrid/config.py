"""Settings: read once at the edge (CLI or app factory) into frozen values; nothing else reads files or env.

The TOML shape is SPEC §4. Every key is optional; `load_settings` collects every problem and raises one
ConfigError that names the key and what to change.
"""

from __future__ import annotations

import base64
import binascii
import os
import ssl
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from smsgrid.errors import ConfigError, InvalidPhoneNumberError, Problem
from smsgrid.namespaces.spec import parse_config as parse_namespace_topics

# The documented well-known development key (like Azurite's): base64 of 32 fixed bytes. Anyone can read it
# here, so it protects nothing but a mistyped client; set SMSGRID_ACCESS_KEY or [resource].access_key for more.
WELL_KNOWN_ACCESS_KEY = base64.b64encode(b"smsgrid-well-known-dev-key-32byt").decode()
# An HMAC key shorter than its hash's output (SHA-256: 32 bytes) is the weak link; ACS keys are 64 bytes.
MIN_KEY_BYTES = 32
DEFAULT_PHONE_NUMBERS = ("+18005550100", "+18005550101")
# ServiceUnavailable: the send API answers this recipient with a per-recipient 503 and keeps nothing.
CARRIER_OUTCOMES = ("Delivered", "Failed", "NoReport", "ServiceUnavailable")
# The offline Entra ID issuer's documented defaults (docs/entra.md): a tenant, and one well-known development
# application that exists only while nothing else is configured and the access key is the well-known one too
# (published, so it must not open a server whose owner set a key of their own).
WELL_KNOWN_TENANT_ID = "00000000-5e55-4000-8000-000000000000"
WELL_KNOWN_CLIENT_ID = "00000000-5e55-4000-8000-000000000001"
WELL_KNOWN_CLIENT_SECRET = "smsgrid-well-known-dev-client-secret"


@dataclass(frozen=True, slots=True)
class ResourceSettings:
    name: str = "local"
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "local"
    access_key: str = WELL_KNOWN_ACCESS_KEY
    # camelCase is what Azure sends today; "pascal" reproduces the seed (docs/differences-from-azure.md).
    data_casing: str = "camel"
    phone_numbers: tuple[str, ...] = DEFAULT_PHONE_NUMBERS  # toll-free and long codes (10DLC), E.164
    short_codes: tuple[str, ...] = ()  # 5-6 digits, no "+" (ACS SMS FAQ)
    alphanumeric_sender_ids: tuple[str, ...] = ()  # one-way senders such as "CONTOSO"
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
class ThrottlingSettings:
    """`[throttling]`: ACS's send-rate limits, message units (recipients) per 60 s window (ACS service limits,
    SMS): toll-free and short code per number, alphanumeric sender IDs per resource. Azure publishes no
    per-minute figure for long codes (10DLC has carriers' daily caps), so they get the toll-free figure."""

    enabled: bool = True
    toll_free_per_minute: int = 200
    long_code_per_minute: int = 200
    short_code_per_minute: int = 6000
    alphanumeric_per_minute: int = 600


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """`[delivery]`: smsgrid's own knobs (not in Azure). Event Grid waits 30 s for an answer.

    HTTPS webhook certificates are verified against the system trust store (and `SSL_CERT_FILE`), plus
    `ca_file` when set; `verify_tls = false` turns that off for development (docs/configuration.md)."""

    timeout_seconds: float = 30.0
    max_concurrency_per_endpoint: int = 32
    verify_tls: bool = True
    ca_file: Path | None = None


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """`[store]`: how long finished messages, events and deliveries are kept (not scaled by --time-scale)."""

    retention_days: float = 7.0


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """`[server]`: the HTTP listeners. A client that has not sent a whole request head within
    `header_timeout_seconds` of connecting (or of its request's first byte) is disconnected (slowloris); one
    whose body has not arrived within `body_timeout_seconds` of its head likewise. At most `max_connections`
    are open per listener. Host headers other than loopback, the bind address and `allowed_hosts` are refused."""

    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    max_connections: int = 900
    allowed_hosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EntraApplication:
    """One `[[entra.applications]]` entry: an app registration that may use the client-credentials grant."""

    client_id: str
    client_secret: str = field(repr=False)  # never shown back: not in logs, answers or the UI


@dataclass(frozen=True, slots=True)
class EntraSettings:
    """`[entra]`: the offline Microsoft Entra ID issuer (docs/entra.md)."""

    tenant_id: str = WELL_KNOWN_TENANT_ID
    applications: tuple[EntraApplication, ...] = (EntraApplication(WELL_KNOWN_CLIENT_ID, WELL_KNOWN_CLIENT_SECRET),)


@dataclass(frozen=True, slots=True)
class StorageAccount:
    """`[storage_accounts.NAME]`: where a storage account named by a resource id lives (e.g. Azurite) and its
    Shared Key; used by StorageQueue destinations and StorageBlob dead letters (docs/destinations.md)."""

    name: str
    key: str = field(repr=False)  # never shown back
    queue_endpoint: str | None = None
    blob_endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class FunctionApp:
    """`[function_apps.NAME]`: the Functions host of the site named by an AzureFunction resource id."""

    name: str
    endpoint: str
    key: str | None = field(default=None, repr=False)  # sent as x-functions-key, never shown back


@dataclass(frozen=True, slots=True)
class Settings:
    resource: ResourceSettings = field(default_factory=ResourceSettings)
    carrier: CarrierSettings = field(default_factory=CarrierSettings)
    throttling: ThrottlingSettings = field(default_factory=ThrottlingSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    entra: EntraSettings = field(default_factory=EntraSettings)
    storage_accounts: Mapping[str, StorageAccount] = field(default_factory=dict)
    function_apps: Mapping[str, FunctionApp] = field(default_factory=dict)
    # Raw subscription bodies from the config file; validated by the delivery subsystem at start.
    subscriptions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Raw `[namespace_topics.NAME]` tables; validated by the namespaces subsystem at start.
    namespace_topics: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
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
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        problems.append(Problem(path, "is not valid base64; use e.g. `openssl rand -base64 32`"))
        return None
    if len(decoded) < MIN_KEY_BYTES:
        problems.append(
            Problem(
                path,
                f"decodes to {len(decoded)} bytes; at least {MIN_KEY_BYTES} are required (Azure's keys are 64): "
                "use e.g. `openssl rand -base64 64`",
            )
        )
        return None
    return value


def _resource(raw: Mapping[str, Any], env: Mapping[str, str], problems: list[Problem]) -> ResourceSettings:
    from smsgrid.sms import parse_e164
    from smsgrid.sms.senders import alphanumeric_problem, short_code_problem

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
    for key, problem_of, example in (
        ("short_codes", short_code_problem, '["12345"]'),
        ("alphanumeric_sender_ids", alphanumeric_problem, '["CONTOSO"]'),
    ):
        if key not in raw:
            continue
        items = raw[key]
        if not isinstance(items, list):
            problems.append(Problem(f"resource.{key}", f"must be a list, e.g. {example}"))
            continue
        for i, item in enumerate(items):
            problem = problem_of(item)
            if problem:
                problems.append(Problem(f"resource.{key}[{i}]", problem))
        values[key] = tuple(str(item) for item in items)
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


# At least one full request (100 recipients, SPEC §2) must fit in a window, or a request could never pass.
MIN_RATE_PER_MINUTE = 100


def _throttling(raw: Mapping[str, Any], problems: list[Problem]) -> ThrottlingSettings:
    base = ThrottlingSettings()
    enabled = raw.get("enabled", base.enabled)
    if not isinstance(enabled, bool):
        problems.append(Problem("throttling.enabled", "must be true or false"))
        enabled = base.enabled
    rates: dict[str, int] = {}
    for key in ("toll_free_per_minute", "long_code_per_minute", "short_code_per_minute", "alphanumeric_per_minute"):
        value = _int(raw, key, f"throttling.{key}", problems, MIN_RATE_PER_MINUTE, 10_000_000)
        if value is not None:
            rates[key] = value
    unknown = sorted(set(raw) - {"enabled", *ThrottlingSettings.__slots__})
    problems.extend(Problem(f"throttling.{key}", "unknown key") for key in unknown)
    return ThrottlingSettings(enabled=enabled, **rates)


def _delivery(raw: Mapping[str, Any], problems: list[Problem]) -> DeliverySettings:
    timeout = raw.get("timeout_seconds", 30.0)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 300:
        problems.append(Problem("delivery.timeout_seconds", "must be a number of seconds from 0 to 300"))
        timeout = 30.0
    concurrency = _int(raw, "max_concurrency_per_endpoint", "delivery.max_concurrency_per_endpoint", problems, 1, 1024)
    verify = raw.get("verify_tls", True)
    if not isinstance(verify, bool):
        problems.append(Problem("delivery.verify_tls", "must be true or false (false only for development)"))
        verify = True
    return DeliverySettings(float(timeout), concurrency or 32, verify, _ca_file(raw.get("ca_file"), problems))


def _ca_file(value: Any, problems: list[Problem]) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problems.append(Problem("delivery.ca_file", "must be the path of a PEM file of CA certificates"))
        return None
    path = Path(value)
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        problems.append(Problem("delivery.ca_file", f"cannot be loaded as PEM CA certificates: {exc}"))
        return None
    return path


def _store(raw: Mapping[str, Any], problems: list[Problem]) -> StoreSettings:
    default = StoreSettings().retention_days
    days = raw.get("retention_days", default)
    if not isinstance(days, int | float) or isinstance(days, bool) or not 0 < days <= 36_500:
        problems.append(Problem("store.retention_days", "must be a number of days greater than 0 (e.g. 7)"))
        days = default
    return StoreSettings(retention_days=float(days))


def _seconds(raw: Mapping[str, Any], key: str, default: float, problems: list[Problem]) -> float:
    seconds = raw.get(key, default)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 < seconds <= 3600:
        problems.append(Problem(f"server.{key}", f"must be a number of seconds from 0 to 3600 (e.g. {default:g})"))
        return default
    return float(seconds)


def _server(raw: Mapping[str, Any], problems: list[Problem]) -> ServerSettings:
    base = ServerSettings()
    connections = _int(raw, "max_connections", "server.max_connections", problems, 16, 1_000_000)
    hosts = raw.get("allowed_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h and " " not in h for h in hosts):
        problems.append(
            Problem("server.allowed_hosts", 'must be a list of host names, e.g. ["smsgrid.internal"] (or ["*"])')
        )
        hosts = []
    return ServerSettings(
        header_timeout_seconds=_seconds(raw, "header_timeout_seconds", base.header_timeout_seconds, problems),
        body_timeout_seconds=_seconds(raw, "body_timeout_seconds", base.body_timeout_seconds, problems),
        max_connections=connections or base.max_connections,
        allowed_hosts=tuple(hosts),
    )


def _guid(value: Any, path: str, problems: list[Problem]) -> str | None:
    """Entra tenant and application ids are GUIDs; kept in the canonical lower-case form."""
    if isinstance(value, str) and len(value) == 36:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    problems.append(Problem(path, "must be a GUID such as 00000000-5e55-4000-8000-000000000000"))
    return None


def _entra(raw: Mapping[str, Any], access_key: str, problems: list[Problem]) -> EntraSettings:
    unknown = set(raw) - {"tenant_id", "applications"}
    problems.extend(Problem(f"entra.{key}", "unknown key; expected tenant_id or applications") for key in unknown)
    tenant = WELL_KNOWN_TENANT_ID
    if "tenant_id" in raw:
        tenant = _guid(raw["tenant_id"], "entra.tenant_id", problems) or tenant
    raw_apps = raw.get("applications", [])
    if not isinstance(raw_apps, list):
        problems.append(Problem("entra.applications", "must be an array of tables ([[entra.applications]])"))
        raw_apps = []
    apps: list[EntraApplication] = []
    for i, app in enumerate(raw_apps):
        path = f"entra.applications[{i}]"
        if not isinstance(app, dict):
            problems.append(Problem(path, "must be a table with client_id and client_secret"))
            continue
        problems.extend(
            Problem(f"{path}.{key}", "unknown key; expected client_id or client_secret")
            for key in set(app) - {"client_id", "client_secret"}
        )
        client_id = _guid(app.get("client_id"), f"{path}.client_id", problems)
        secret = app.get("client_secret")
        if not isinstance(secret, str) or not secret:
            # The secret itself is never echoed, not even in a configuration problem.
            problems.append(Problem(f"{path}.client_secret", "must be a non-empty string"))
            continue
        if client_id is None:
            continue
        if any(known.client_id == client_id for known in apps):
            problems.append(Problem(f"{path}.client_id", f"{client_id} is listed twice"))
            continue
        apps.append(EntraApplication(client_id, secret))
    if not raw_apps and access_key == WELL_KNOWN_ACCESS_KEY:
        return EntraSettings(tenant_id=tenant)  # the well-known development application
    return EntraSettings(tenant_id=tenant, applications=tuple(apps))


def _endpoint(value: Any, path: str, example: str, problems: list[Problem]) -> str | None:
    from urllib.parse import urlsplit

    if value is None:
        return None
    if isinstance(value, str) and urlsplit(value).scheme in ("http", "https") and urlsplit(value).hostname:
        return value.rstrip("/")
    problems.append(Problem(path, f"must be an http:// or https:// URL such as {example}"))
    return None


def _storage_accounts(raw: Mapping[str, Any], problems: list[Problem]) -> dict[str, StorageAccount]:
    accounts: dict[str, StorageAccount] = {}
    for name, table in raw.items():
        path = f"storage_accounts.{name}"
        if not isinstance(table, dict):
            problems.append(Problem(path, "must be a table with queue_endpoint, blob_endpoint and key"))
            continue
        problems.extend(
            Problem(f"{path}.{key}", "unknown key; expected queue_endpoint, blob_endpoint or key")
            for key in sorted(set(table) - {"queue_endpoint", "blob_endpoint", "key"})
        )
        queue = _endpoint(
            table.get("queue_endpoint"), f"{path}.queue_endpoint", f"http://127.0.0.1:10001/{name}", problems
        )
        blob = _endpoint(
            table.get("blob_endpoint"), f"{path}.blob_endpoint", f"http://127.0.0.1:10000/{name}", problems
        )
        key = table.get("key")
        valid_key = False
        if isinstance(key, str):
            try:
                valid_key = bool(base64.b64decode(key, validate=True))
            except (binascii.Error, ValueError):
                valid_key = False
        if not valid_key:
            # The key itself is never echoed, not even in a configuration problem.
            problems.append(Problem(f"{path}.key", "must be the account's base64 Shared Key (Azurite's is well known)"))
            continue
        if queue is None and blob is None:
            problems.append(Problem(path, "needs queue_endpoint, blob_endpoint or both"))
            continue
        accounts[name] = StorageAccount(name=name, key=str(key), queue_endpoint=queue, blob_endpoint=blob)
    return accounts


def _function_apps(raw: Mapping[str, Any], problems: list[Problem]) -> dict[str, FunctionApp]:
    apps: dict[str, FunctionApp] = {}
    for name, table in raw.items():
        path = f"function_apps.{name}"
        if not isinstance(table, dict):
            problems.append(Problem(path, 'must be a table with endpoint (e.g. "http://127.0.0.1:7071") and key'))
            continue
        problems.extend(
            Problem(f"{path}.{key}", "unknown key; expected endpoint or key")
            for key in sorted(set(table) - {"endpoint", "key"})
        )
        endpoint = _endpoint(table.get("endpoint"), f"{path}.endpoint", "http://127.0.0.1:7071", problems)
        if endpoint is None:
            if "endpoint" not in table:
                problems.append(
                    Problem(f"{path}.endpoint", "is required: the Functions host, e.g. http://127.0.0.1:7071")
                )
            continue
        key = table.get("key")
        if key is not None and (not isinstance(key, str) or not key):
            problems.append(Problem(f"{path}.key", "must be a non-empty string (sent as x-functions-key)"))
            continue
        apps[name.casefold()] = FunctionApp(name=name, endpoint=endpoint, key=key)
    return apps


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
    known = (
        "resource",
        "carrier",
        "throttling",
        "delivery",
        "store",
        "server",
        "entra",
        "storage_accounts",
        "function_apps",
        "namespace_topics",
        "subscriptions",
    )
    unknown = set(raw) - set(known)
    problems.extend(
        Problem(key, f"unknown section; expected {', '.join(known[:-1])} or {known[-1]}") for key in unknown
    )
    resource = _resource(_table(raw, "resource", problems), env, problems)
    carrier = _carrier(_table(raw, "carrier", problems), problems)
    throttling = _throttling(_table(raw, "throttling", problems), problems)
    switch = env.get("SMSGRID_THROTTLING")
    if switch:
        # Test harnesses and benchmarks measure the engine, not ACS's rate limits: they turn throttling off
        # here without touching a config file (docs/configuration.md#throttling).
        if switch.lower() in ("off", "on"):
            throttling = replace(throttling, enabled=switch.lower() == "on")
        else:
            problems.append(Problem("SMSGRID_THROTTLING", 'must be "on" or "off"'))
    delivery = _delivery(_table(raw, "delivery", problems), problems)
    store = _store(_table(raw, "store", problems), problems)
    server = _server(_table(raw, "server", problems), problems)
    entra = _entra(_table(raw, "entra", problems), resource.access_key, problems)
    storage_accounts = _storage_accounts(_table(raw, "storage_accounts", problems), problems)
    function_apps = _function_apps(_table(raw, "function_apps", problems), problems)
    subscriptions = _table(raw, "subscriptions", problems)
    namespace_topics = _table(raw, "namespace_topics", problems)
    parse_namespace_topics(namespace_topics, problems)  # the namespaces subsystem builds them at start
    scale = 1.0 if time_scale is None else time_scale
    if not scale > 0:
        problems.append(Problem("--time-scale", "must be greater than 0 (e.g. 0.001 plays 24 h in 86 s)"))
    if problems:
        raise ConfigError("configuration", problems)
    return Settings(
        resource=resource,
        carrier=carrier,
        throttling=throttling,
        delivery=delivery,
        store=store,
        server=server,
        entra=entra,
        storage_accounts=storage_accounts,
        function_apps=function_apps,
        subscriptions={k: v for k, v in subscriptions.items() if isinstance(v, dict)},
        namespace_topics=dict(namespace_topics),
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
