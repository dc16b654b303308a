"""Ordered migrations for PostgreSQL: migrations/NNNN_name.sql, each applied once, in order, in one transaction.

Several processes (API and workers) may start at once against a new database: a transaction-scoped advisory lock
makes the first one migrate while the others wait, then find nothing left to do.
"""

from __future__ import annotations

import time
from importlib import resources

import asyncpg

# Any fixed 64-bit number that no other application on the same database uses for an advisory lock.
MIGRATION_LOCK_KEY = 0x736D_7367_7269_6401  # "smsgrid" + 1


def migration_scripts() -> list[tuple[int, str, str]]:
    folder = resources.files("smsgrid.store.postgres") / "migrations"
    scripts = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            scripts.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(scripts)


async def migrate(conn: asyncpg.Connection) -> int:
    """Bring the database to the newest schema; returns the version it is at."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
        applied = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        current = max(applied, default=0)
        for version, _, script in migration_scripts():
            if version in applied:
                continue
            # PostgreSQL DDL is transactional: a failing script leaves nothing behind.
            await conn.execute(script)
            await conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", version, time.time()
            )
            current = version
    return current
