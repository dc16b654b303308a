"""The settings model: every key of the TOML file (SPEC §4), its type, its rule and its default, in one place.

Each model is frozen and refuses keys it does not declare (`extra="forbid"`), so a misspelled key is an error
with its path instead of a silent default. Each key carries a `Reason`: what to change, in the words a problem
shows (`config.problems` puts it in place of pydantic's wording). Values that need more than a type and a range
go through small validators that raise `PydanticCustomError("smsgrid", ...)` with their own words.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    Strict,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

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
# At least one full request (100 recipients, SPEC §2) must fit in a window, or a request could never pass.
MIN_RATE_PER_MINUTE = 100
MAX_DELAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Reason:
    """What to change about a key, said to a person; shown for any problem with it instead of pydantic's words."""

    text: str
    item: str | None = None  # for a problem with one entry of the key's list or table
    missing: str | None = None  # for a required key that is absent


def refuse(reason: str, at: str = "") -> PydanticCustomError:
    """A problem in our own words; `at` continues the path below the value being validated (e.g. `[1].id`)."""
    return PydanticCustomError("smsgrid", "{reason}", {"reason": reason, "at": at})


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# Strict types: TOML has real booleans, integers and floats, so "5", 5.0 or true are mistakes, not values to coerce.
Text = Annotated[str, Strict(), Field(min_length=1), Reason("must be a non-empty string")]
DelayMs = Annotated[int, Strict(), Field(ge=0, le=MAX_DELAY_MS), Reason(f"must be an integer from 0 to {MAX_DELAY_MS}")]
RatePerMinute = Annotated[
    int,
    Strict(),
    Field(ge=MIN_RATE_PER_MINUTE, le=10_000_000),
    Reason(f"must be an integer from {MIN_RATE_PER_MINUTE} to 10000000"),
]


def _check_access_key(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise refuse("must be a non-empty base64 string")
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise refuse("is not valid base64; use e.g. `openssl rand -base64 32`") from None
    if len(decoded) < MIN_KEY_BYTES:
        raise refuse(
            f"decodes to {len(decoded)} bytes; at least {MIN_KEY_BYTES} are required (Azure's keys are 64): "
            "use e.g. `openssl rand -base64 64`"
        )
    return value


def _check_e164(value: object) -> str:
    from smsgrid.errors import InvalidPhoneNumberError
    from smsgrid.sms import parse_e164

    try:
        return parse_e164(str(value))
    except InvalidPhoneNumberError as exc:
        raise refuse(str(exc)) from None


def _check_short_code(value: object) -> str:
    from smsgrid.sms.senders import short_code_problem

    problem = short_code_problem(value)
    if problem:
        raise refuse(problem)
    return str(value)


def _check_alphanumeric(value: object) -> str:
    from smsgrid.sms.senders import alphanumeric_problem

    problem = alphanumeric_problem(value)
    if problem:
        raise refuse(problem)
    return str(value)


class ResourceSettings(Frozen):
    """`[resource]`: the Communication Services resource being emulated."""

    name: Text = "local"
    subscription_id: Text = "00000000-0000-0000-0000-000000000000"
    resource_group: Text = "local"
    access_key: Annotated[str, BeforeValidator(_check_access_key), Field(repr=False)] = WELL_KNOWN_ACCESS_KEY
    # camelCase is what Azure sends today; "pascal" reproduces the seed (docs/differences-from-azure.md).
    data_casing: Annotated[Literal["pascal", "camel"], Reason('must be "pascal" or "camel"')] = "camel"
    # Toll-free and long codes (10DLC), E.164, each kept exactly as written.
    phone_numbers: Annotated[
        tuple[Annotated[str, BeforeValidator(_check_e164)], ...],
        Field(min_length=1),
        Reason("must be a non-empty list of E.164 numbers"),
    ] = DEFAULT_PHONE_NUMBERS
    # 5-6 digits, no "+" (ACS SMS FAQ).
    short_codes: Annotated[
        tuple[Annotated[str, BeforeValidator(_check_short_code)], ...], Reason('must be a list, e.g. ["12345"]')
    ] = ()
    # One-way senders such as "CONTOSO".
    alphanumeric_sender_ids: Annotated[
        tuple[Annotated[str, BeforeValidator(_check_alphanumeric)], ...], Reason('must be a list, e.g. ["CONTOSO"]')
    ] = ()
    help_reply: Text = "Reply STOP to unsubscribe. Msg&data rates may apply."

    @property
    def key_bytes(self) -> bytes:
        return base64.b64decode(self.access_key)


class CarrierRule(Frozen):
    """One `[[carrier.rules]]` entry; `to` is a glob on the E.164 recipient (first match wins)."""

    to: Annotated[
        str,
        Strict(),
        Field(min_length=1),
        Reason(
            'must be a glob on the E.164 recipient, e.g. "+1206555010*"',
            missing='is required: a glob on the E.164 recipient, e.g. "+1206555010*"',
        ),
    ]
    outcome: Annotated[
        Literal["Delivered", "Failed", "NoReport", "ServiceUnavailable"],
        Reason(f"must be one of {', '.join(CARRIER_OUTCOMES)}"),
    ] = "Delivered"
    code: Annotated[int, Strict(), Field(ge=1000, le=9999), Reason("must be an integer from 1000 to 9999")] | None = (
        None
    )
    delay_ms: DelayMs | None = None
    attempts: Annotated[int, Strict(), Field(ge=1, le=10), Reason("must be an integer from 1 to 10")] = 1
    reply: Annotated[str, Strict(), Reason("must be a string")] | None = None
    # In each attempt, this many segments fail while the others get through; 0 (the default) means none.
    segments_failed: Annotated[int, Strict(), Field(ge=1, le=255), Reason("must be an integer from 1 to 255")] = 0


def _check_ca_file(value: object) -> Path:
    if not isinstance(value, str | Path) or not str(value):
        raise refuse("must be the path of a PEM file of CA certificates")
    path = Path(value)
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise refuse(f"cannot be loaded as PEM CA certificates: {exc}") from None
    return path


# SMPP 3.4 §5.2: system_id is a C-octet string of at most 16 octets, password 9, system_type 13 (NUL included).
# smpp34 panics a worker thread past them and the bind then reads as "timed out", so they are refused here.
SMPP_SYSTEM_ID_MAX = 15
SMPP_PASSWORD_MAX = 8
SMPP_SYSTEM_TYPE_MAX = 12
_ROUTE_PREFIX = re.compile(r"\+[0-9]{1,15}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# C-Octet Strings are ASCII: a character beyond it would take more octets than the limit counts.
PRINTABLE_ASCII = r"^[\x20-\x7e]*$"


PASSWORD_RULE = f"at most {SMPP_PASSWORD_MAX} printable ASCII characters (the SMPP 3.4 limit)"


def _fits_smpp_password(secret: str) -> bool:
    return len(secret) <= SMPP_PASSWORD_MAX and re.fullmatch(PRINTABLE_ASCII, secret) is not None


def _check_route_prefix(value: object) -> str:
    """`"+44"` or `"+44*"`: a prefix of E.164 digits; the trailing `*` says the same thing and is dropped."""
    text = value.removesuffix("*") if isinstance(value, str) else ""
    if not _ROUTE_PREFIX.fullmatch(text):
        raise refuse('must be a prefix of an E.164 number: "+" and digits, e.g. "+44" or "+1425*"')
    return text


class SmppRoute(Frozen):
    """One entry of a connection's `routes`: messages to this prefix and/or from this sender."""

    to: Annotated[str, BeforeValidator(_check_route_prefix)] | None = None
    # `from` is a Python keyword: the key is its alias.
    from_: (
        Annotated[
            str,
            Strict(),
            Field(min_length=1),
            Reason("must be a sender as the send names it: an E.164 number, a short code or a sender ID"),
        ]
        | None
    ) = Field(default=None, alias="from")

    @model_validator(mode="after")
    def _matches_something(self) -> SmppRoute:
        if self.to is None and self.from_ is None:
            raise refuse('needs to, from or both, e.g. { to = "+44" } or { from = "CONTOSO" }')
        return self


@dataclass(frozen=True, slots=True)
class _RepeatedName:
    """An SMPP connection name already used above it: refused where it stands, the others still checked."""

    name: str


def _check_connection_name(value: object) -> str:
    if isinstance(value, _RepeatedName):
        raise refuse(f"{value.name} names another [[carrier.smpp]] connection above; each name is used once")
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise refuse("must be a non-empty string of at most 64 characters (shown in /metrics, the CLI and the UI)")
    return value


def _mark_repeated_names(value: object) -> object:
    if not isinstance(value, list | tuple):
        return value
    seen: set[str] = set()
    marked: list[object] = []
    for table in value:
        name = table.get("name") if isinstance(table, dict) else None
        if isinstance(name, str) and name in seen:
            marked.append({**table, "name": _RepeatedName(name)})
            continue
        if isinstance(name, str):
            seen.add(name)
        marked.append(table)
    return marked


def _check_password(value: object) -> SecretStr:
    # The value is never echoed, not even its length.
    if isinstance(value, SecretStr):
        return value
    if not isinstance(value, str) or not _fits_smpp_password(value):
        raise refuse(f"must be a string of {PASSWORD_RULE}")
    return SecretStr(value)


class PasswordFromEnvironment(Frozen):
    """`password_env`: the variable's name (shown) and its value (read once, at load; never shown)."""

    variable: str
    value: SecretStr


def _read_password_env(value: object, info: ValidationInfo) -> PasswordFromEnvironment:
    if isinstance(value, PasswordFromEnvironment):
        return value
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        raise refuse('must be the name of an environment variable, e.g. "ACME_SMPP_PASSWORD"')
    # The loader hands in the environment it reads (tests give their own); without one, the process's.
    context = info.context if isinstance(info.context, Mapping) else {}
    environ = context.get(ENVIRON_CONTEXT)
    secret = (os.environ if environ is None else environ).get(value)
    if secret is None:
        raise refuse(f"names {value}, which is not set in the environment")
    if not _fits_smpp_password(secret):
        raise refuse(f"names {value}, whose value is not {PASSWORD_RULE}")
    return PasswordFromEnvironment(variable=value, value=SecretStr(secret))


# The key of `model_validate(..., context=...)` under which the loader passes the environment it reads.
ENVIRON_CONTEXT = "environ"

Seconds = Annotated[
    float, Strict(), Field(gt=0, le=86_400), Reason("must be a number of seconds greater than 0 (at most 86400)")
]
Octet = Annotated[int, Strict(), Field(ge=0, le=255)]


class SmppConnection(Frozen):
    """One `[[carrier.smpp]]` entry: a bind to an SMSC (docs/smpp.md). Converted to the adapter's
    `SmppConnectionSettings` outside this package (`smsgrid.carrier.factory`)."""

    name: Annotated[str, BeforeValidator(_check_connection_name), Reason("must be a non-empty string")]
    host: Annotated[
        str, Strict(), Field(min_length=1), Reason("must be the SMSC's host name or address", missing="is required")
    ]
    port: Annotated[int, Strict(), Field(ge=1, le=65535), Reason("must be an integer from 1 to 65535")] = 2775
    system_id: Annotated[
        str,
        Strict(),
        Field(min_length=1, max_length=SMPP_SYSTEM_ID_MAX, pattern=PRINTABLE_ASCII),
        Reason(
            f"must be 1 to {SMPP_SYSTEM_ID_MAX} printable ASCII characters (the SMPP 3.4 limit)",
            missing="is required: the ESME's system_id the SMSC knows",
        ),
    ]
    # Exactly one of these two. Never shown back: not in `smsgrid config`, the UI, the admin API, logs or reprs.
    password: Annotated[SecretStr, BeforeValidator(_check_password)] | None = Field(default=None, repr=False)
    password_env: Annotated[PasswordFromEnvironment, BeforeValidator(_read_password_env)] | None = None
    system_type: Annotated[
        str,
        Strict(),
        Field(max_length=SMPP_SYSTEM_TYPE_MAX, pattern=PRINTABLE_ASCII),
        Reason(f"must be at most {SMPP_SYSTEM_TYPE_MAX} printable ASCII characters"),
    ] = ""
    bind: Annotated[
        Literal["transceiver", "transmitter_receiver"], Reason('must be "transceiver" or "transmitter_receiver"')
    ] = "transceiver"
    tls: Annotated[bool, Strict(), Reason("must be true or false")] = False
    tls_ca_file: Annotated[Path, BeforeValidator(_check_ca_file)] | None = None
    window: Annotated[int, Strict(), Field(ge=1, le=1000), Reason("must be an integer from 1 to 1000")] = 10
    tps: Annotated[
        float, Strict(), Field(gt=0, le=100_000), Reason("must be a number of submit_sm per second greater than 0")
    ] = 50.0
    weight: Annotated[int, Strict(), Field(ge=1, le=1000), Reason("must be an integer from 1 to 1000")] = 1
    routes: Annotated[
        tuple[SmppRoute, ...],
        Reason(
            'must be an array of inline tables, e.g. [{ to = "+44" }, { from = "CONTOSO" }]',
            item='must be a table with to and/or from, e.g. { to = "+44" }',
        ),
    ] = ()
    concatenation: Annotated[
        Literal["udh", "sar", "message_payload"], Reason('must be "udh", "sar" or "message_payload"')
    ] = "udh"
    gsm7: Annotated[Literal["unpacked", "packed"], Reason('must be "unpacked" or "packed"')] = "unpacked"
    gsm7_data_coding: Annotated[Octet, Reason("must be an integer from 0 to 255 (a data_coding)")] = 0
    short_code_ton_npi: Annotated[
        tuple[Octet, Octet], Reason("must be two integers from 0 to 255: [TON, NPI], e.g. [3, 0]")
    ] = (3, 0)
    national_country_code: Annotated[
        str,
        Strict(),
        Field(pattern=r"^([1-9][0-9]{0,2})?$"),
        Reason('must be a country calling code without "+" (e.g. "44"), or "" to keep national numbers as received'),
    ] = ""
    national_trunk_prefix: Annotated[
        str, Strict(), Field(pattern=r"^[0-9]{0,4}$"), Reason('must be digits, e.g. "0", or ""')
    ] = ""
    unknown_ton_is_international: Annotated[bool, Strict(), Reason("must be true or false")] = False
    enquire_link_seconds: Seconds = 30.0
    response_timeout_seconds: Seconds = 30.0
    connect_timeout_seconds: Seconds = 10.0
    reconnect_min_seconds: Seconds = 1.0
    reconnect_max_seconds: Seconds = 60.0
    reassembly_timeout_seconds: Seconds = 600.0

    @model_validator(mode="after")
    def _one_password(self) -> SmppConnection:
        if (self.password is None) == (self.password_env is None):
            raise refuse("needs exactly one of password and password_env")
        if self.reconnect_min_seconds > self.reconnect_max_seconds:
            raise refuse("must not exceed reconnect_max_seconds", at=".reconnect_min_seconds")
        return self

    @property
    def secret(self) -> SecretStr:
        """The password, from `password` or the variable `password_env` named."""
        if self.password_env is not None:
            return self.password_env.value
        return self.password or SecretStr("")


class CarrierSettings(Frozen):
    """`[carrier]`: the simulated carrier (`delay_ms`, `rules`), and the real ones (`[[carrier.smpp]]`): with
    any SMPP connection configured, they carry every message instead of the simulator."""

    delay_ms: DelayMs = 500
    rules: Annotated[
        tuple[CarrierRule, ...], Reason("must be an array of tables ([[carrier.rules]])", item="must be a table")
    ] = ()
    smpp: Annotated[
        tuple[SmppConnection, ...],
        BeforeValidator(_mark_repeated_names),
        Reason(
            "must be an array of tables ([[carrier.smpp]])",
            item="must be a table with name, host, port, system_id and password or password_env",
        ),
    ] = ()


class ThrottlingSettings(Frozen):
    """`[throttling]`: ACS's send-rate limits, message units (recipients) per 60 s window (ACS service limits,
    SMS): toll-free and short code per number, alphanumeric sender IDs per resource. Azure publishes no
    per-minute figure for long codes (10DLC has carriers' daily caps), so they get the toll-free figure."""

    enabled: Annotated[bool, Strict(), Reason("must be true or false")] = True
    toll_free_per_minute: RatePerMinute = 200
    long_code_per_minute: RatePerMinute = 200
    short_code_per_minute: RatePerMinute = 6000
    alphanumeric_per_minute: RatePerMinute = 600


class DeliverySettings(Frozen):
    """`[delivery]`: smsgrid's own knobs (not in Azure). Event Grid waits 30 s for an answer.

    HTTPS webhook certificates are verified against the system trust store (and `SSL_CERT_FILE`), plus
    `ca_file` when set; `verify_tls = false` turns that off for development (docs/configuration.md)."""

    timeout_seconds: Annotated[
        float, Strict(), Field(gt=0, le=300), Reason("must be a number of seconds from 0 to 300")
    ] = 30.0
    max_concurrency_per_endpoint: Annotated[
        int, Strict(), Field(ge=1, le=1024), Reason("must be an integer from 1 to 1024")
    ] = 32
    verify_tls: Annotated[bool, Strict(), Reason("must be true or false (false only for development)")] = True
    ca_file: Annotated[Path, BeforeValidator(_check_ca_file)] | None = None


class StoreSettings(Frozen):
    """`[store]`: how long finished messages, events and deliveries are kept (not scaled by --time-scale)."""

    retention_days: Annotated[
        float, Strict(), Field(gt=0, le=36_500), Reason("must be a number of days greater than 0 (e.g. 7)")
    ] = 7.0


def _check_host(value: object) -> str:
    if not isinstance(value, str) or not value or " " in value:
        raise refuse('must be a list of host names, e.g. ["smsgrid.internal"] (or ["*"])')
    return value


class ServerSettings(Frozen):
    """`[server]`: the HTTP listeners. A client that has not sent a whole request head within
    `header_timeout_seconds` of connecting (or of its request's first byte) is disconnected (slowloris); one
    whose body has not arrived within `body_timeout_seconds` of its head likewise. At most `max_connections`
    are open per listener. Host headers other than loopback, the bind address and `allowed_hosts` are refused."""

    header_timeout_seconds: Annotated[
        float, Strict(), Field(gt=0, le=3600), Reason("must be a number of seconds from 0 to 3600 (e.g. 10)")
    ] = 10.0
    body_timeout_seconds: Annotated[
        float, Strict(), Field(gt=0, le=3600), Reason("must be a number of seconds from 0 to 3600 (e.g. 30)")
    ] = 30.0
    max_connections: Annotated[
        int, Strict(), Field(ge=16, le=1_000_000), Reason("must be an integer from 16 to 1000000")
    ] = 900
    allowed_hosts: Annotated[
        tuple[Annotated[str, BeforeValidator(_check_host)], ...],
        Reason('must be a list of host names, e.g. ["smsgrid.internal"] (or ["*"])'),
    ] = ()


@dataclass(frozen=True, slots=True)
class _ListedTwice:
    """A client id already listed above it: refused where it stands, so the entries around it are still checked."""

    client_id: str


def _canonical_guid(value: object) -> str | None:
    if isinstance(value, str) and len(value) == 36:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            return None
    return None


def _check_guid(value: object) -> str:
    """Entra tenant and application ids are GUIDs; kept in the canonical lower-case form."""
    if isinstance(value, _ListedTwice):
        raise refuse(f"{value.client_id} is listed twice")
    guid = _canonical_guid(value)
    if guid is None:
        raise refuse("must be a GUID such as 00000000-5e55-4000-8000-000000000000")
    return guid


Guid = Annotated[str, BeforeValidator(_check_guid)]


class EntraApplication(Frozen):
    """One `[[entra.applications]]` entry: an app registration that may use the client-credentials grant."""

    client_id: Annotated[Guid, Reason("must be a GUID", missing="is required: the application's GUID")]
    # Never shown back: not in logs, answers, the UI, nor a configuration problem.
    client_secret: Annotated[str, Strict(), Field(min_length=1, repr=False), Reason("must be a non-empty string")]


def _mark_twins(value: object) -> object:
    if not isinstance(value, list | tuple):
        return value
    seen: set[str] = set()
    marked: list[object] = []
    for app in value:
        guid = _canonical_guid(app.get("client_id")) if isinstance(app, dict) else None
        if guid is not None and guid in seen:
            marked.append({**app, "client_id": _ListedTwice(guid)})
            continue
        if guid is not None:
            seen.add(guid)
        marked.append(app)
    return marked


class EntraSettings(Frozen):
    """`[entra]`: the offline Microsoft Entra ID issuer (docs/entra.md)."""

    tenant_id: Guid = WELL_KNOWN_TENANT_ID
    applications: Annotated[
        tuple[EntraApplication, ...],
        BeforeValidator(_mark_twins),
        Reason(
            "must be an array of tables ([[entra.applications]])",
            item="must be a table with client_id and client_secret",
        ),
    ] = (EntraApplication(client_id=WELL_KNOWN_CLIENT_ID, client_secret=WELL_KNOWN_CLIENT_SECRET),)


@dataclass(frozen=True, slots=True)
class _WrittenName:
    """A `name` key written inside a named table: the name is the table's own, so the key is refused."""


def _endpoint(example: str) -> BeforeValidator:
    def check(value: object) -> str:
        if isinstance(value, str) and urlsplit(value).scheme in ("http", "https") and urlsplit(value).hostname:
            return value.rstrip("/")
        raise refuse(f"must be an http:// or https:// URL such as {example}")

    return BeforeValidator(check)


QUEUE_ENDPOINT = _endpoint("http://127.0.0.1:10001/devstoreaccount1")
BLOB_ENDPOINT = _endpoint("http://127.0.0.1:10000/devstoreaccount1")
FUNCTIONS_ENDPOINT = _endpoint("http://127.0.0.1:7071")


def _check_table_name(value: object) -> str:
    if isinstance(value, _WrittenName):
        raise refuse("unknown key; the name is the table's own ([storage_accounts.NAME], [function_apps.NAME])")
    if not isinstance(value, str):
        raise refuse("must be a string")
    return value


# Marks the fields filled from the table's NAME: not keys one writes, so never offered in "expected one of".
TABLE_NAME = "filled from the table's NAME"
TableName = Annotated[str, BeforeValidator(_check_table_name), TABLE_NAME]


def _check_shared_key(value: object) -> str:
    if isinstance(value, str):
        try:
            if base64.b64decode(value, validate=True):
                return value
        except (binascii.Error, ValueError):
            pass
    # The key itself is never echoed, not even in a configuration problem.
    raise refuse("must be the account's base64 Shared Key (Azurite's is well known)")


class StorageAccount(Frozen):
    """`[storage_accounts.NAME]`: where a storage account named by a resource id lives (e.g. Azurite) and its
    Shared Key; used by StorageQueue destinations and StorageBlob dead letters (docs/destinations.md)."""

    name: TableName = ""  # the table's NAME
    key: Annotated[
        str,
        BeforeValidator(_check_shared_key),
        Field(repr=False),  # never shown back
        Reason("must be the account's base64 Shared Key (Azurite's is well known)"),
    ]
    queue_endpoint: Annotated[str, QUEUE_ENDPOINT] | None = None
    blob_endpoint: Annotated[str, BLOB_ENDPOINT] | None = None

    @model_validator(mode="after")
    def _has_an_endpoint(self) -> StorageAccount:
        if self.queue_endpoint is None and self.blob_endpoint is None:
            raise refuse("needs queue_endpoint, blob_endpoint or both")
        return self


def _check_functions_key(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    raise refuse("must be a non-empty string (sent as x-functions-key)")


class FunctionApp(Frozen):
    """`[function_apps.NAME]`: the Functions host of the site named by an AzureFunction resource id."""

    name: TableName = ""  # the table's NAME, as written (looked up case-insensitively)
    endpoint: Annotated[
        str,
        FUNCTIONS_ENDPOINT,
        Reason("must be an http:// URL", missing="is required: the Functions host, e.g. http://127.0.0.1:7071"),
    ]
    # Sent as x-functions-key, never shown back.
    key: Annotated[str | None, BeforeValidator(_check_functions_key)] = Field(default=None, repr=False)


def _named_tables(value: object) -> object:
    """`[storage_accounts.NAME]` → the entry's `name` is NAME; a `name` written inside the table is refused."""
    if not isinstance(value, Mapping):
        return value
    return {
        key: ({**table, "name": _WrittenName() if "name" in table else key} if isinstance(table, dict) else table)
        for key, table in value.items()
    }


def _by_folded_name(value: Mapping[str, FunctionApp]) -> dict[str, FunctionApp]:
    # Site names are case-insensitive in Azure: AzureFunction resource ids find their app whatever the case.
    return {key.casefold(): app for key, app in value.items()}


class Settings(Frozen):
    """Everything a command runs with: the TOML sections, then what only the command line and environment set."""

    resource: Annotated[ResourceSettings, Reason("must be a table")] = ResourceSettings()
    carrier: Annotated[CarrierSettings, Reason("must be a table")] = CarrierSettings()
    throttling: Annotated[ThrottlingSettings, Reason("must be a table")] = ThrottlingSettings()
    delivery: Annotated[DeliverySettings, Reason("must be a table")] = DeliverySettings()
    store: Annotated[StoreSettings, Reason("must be a table")] = StoreSettings()
    server: Annotated[ServerSettings, Reason("must be a table")] = ServerSettings()
    entra: Annotated[EntraSettings, Reason("must be a table")] = EntraSettings()
    storage_accounts: Annotated[
        Mapping[str, StorageAccount],
        BeforeValidator(_named_tables),
        Reason("must be a table", item="must be a table with queue_endpoint, blob_endpoint and key"),
    ] = Field(default_factory=dict)
    function_apps: Annotated[
        Mapping[str, FunctionApp],
        BeforeValidator(_named_tables),
        AfterValidator(_by_folded_name),
        Reason("must be a table", item='must be a table with endpoint (e.g. "http://127.0.0.1:7071") and key'),
    ] = Field(default_factory=dict)
    # Event Grid bodies, kept raw: the delivery subsystem's parser checks them (config.loader reports its problems).
    subscriptions: Annotated[
        Mapping[str, Mapping[str, Any]],
        Reason("must be a table", item="must be a table: [subscriptions.NAME] with destination = {...}"),
    ] = Field(default_factory=dict)
    # Raw `[namespace_topics.NAME]` tables; the namespaces subsystem's parser checks them likewise.
    namespace_topics: Annotated[Mapping[str, Any], Reason("must be a table")] = Field(default_factory=dict)
    # Not TOML keys: the command line and the environment set these (config.loader).
    data_dir: Path = Path(".smsgrid")
    db_url: str | None = None
    time_scale: Annotated[
        float, Strict(), Field(gt=0), Reason("must be greater than 0 (e.g. 0.001 plays 24 h in 86 s)")
    ] = 1.0

    @model_validator(mode="before")
    @classmethod
    def _well_known_application_only_with_the_well_known_key(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        resource = data.get("resource")
        key = resource.get("access_key") if isinstance(resource, dict) else getattr(resource, "access_key", None)
        entra = data.get("entra")
        listed = entra.get("applications") if isinstance(entra, dict) else getattr(entra, "applications", None)
        if key is None or key == WELL_KNOWN_ACCESS_KEY or listed is not None or not isinstance(entra, dict | None):
            return data
        # A server given a key of its own has no Entra application until one is listed (docs/entra.md).
        return {**data, "entra": {**(entra or {}), "applications": []}}

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.data_dir / 'smsgrid.db').as_posix()}"
