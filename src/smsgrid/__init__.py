"""smsgrid: Azure Communication Services SMS and its Event Grid events, self-hosted."""

__version__ = "0.1.0"
