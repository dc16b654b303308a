"""Settings: read once at the edge (CLI or app factory) into frozen values; nothing else reads files or env.

`model` declares every key, rule and default (SPEC §4, docs/configuration.md); `loader` layers the TOML file,
the environment and the command line into it and reports every problem at once; `problems` words them.
"""

from smsgrid.config.loader import COMMAND_LINE_ONLY, SECTIONS, Environment, load_settings
from smsgrid.config.model import (
    CARRIER_OUTCOMES,
    DEFAULT_PHONE_NUMBERS,
    MIN_KEY_BYTES,
    MIN_RATE_PER_MINUTE,
    WELL_KNOWN_ACCESS_KEY,
    WELL_KNOWN_CLIENT_ID,
    WELL_KNOWN_CLIENT_SECRET,
    WELL_KNOWN_TENANT_ID,
    CarrierRule,
    CarrierSettings,
    DeliverySettings,
    EntraApplication,
    EntraSettings,
    FunctionApp,
    ResourceSettings,
    ServerSettings,
    Settings,
    StorageAccount,
    StoreSettings,
    ThrottlingSettings,
)

__all__ = [
    "CARRIER_OUTCOMES",
    "COMMAND_LINE_ONLY",
    "DEFAULT_PHONE_NUMBERS",
    "MIN_KEY_BYTES",
    "MIN_RATE_PER_MINUTE",
    "SECTIONS",
    "WELL_KNOWN_ACCESS_KEY",
    "WELL_KNOWN_CLIENT_ID",
    "WELL_KNOWN_CLIENT_SECRET",
    "WELL_KNOWN_TENANT_ID",
    "CarrierRule",
    "CarrierSettings",
    "DeliverySettings",
    "EntraApplication",
    "EntraSettings",
    "Environment",
    "FunctionApp",
    "ResourceSettings",
    "ServerSettings",
    "Settings",
    "StorageAccount",
    "StoreSettings",
    "ThrottlingSettings",
    "load_settings",
]
