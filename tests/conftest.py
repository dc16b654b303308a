"""Fixtures shared by every test folder (the smsgrid pytest plugin brings the server fixtures itself)."""

from tests.postgres_support import postgres_cluster

__all__ = ["postgres_cluster"]
