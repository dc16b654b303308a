"""Event Grid namespace topics with pull delivery (docs/namespace-topics.md)."""

from smsgrid.namespaces.broker import NamespaceBroker

__all__ = ["NamespaceBroker"]
