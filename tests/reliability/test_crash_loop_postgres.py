"""The crash loop on PostgreSQL (`--db postgresql://…`): two SIGKILLs under load, nothing acknowledged is lost.

Work the killed process had claimed comes back when its lease runs out (about 35 s here), so this test waits for
that; it is skipped where the PostgreSQL server binaries are not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability.crash_loop import CLAIM_LEASE_SECONDS, run_crash_loop

from tests.postgres_support import PostgresCluster


# The official SDK's connection pool (requests/urllib3) can drop a TLS socket without closing it when the server is
# SIGKILLed mid-request; the garbage collector then reports it as unraisable. That is the client's teardown of a
# connection the test killed on purpose, not a leak of smsgrid's: what this test judges is that nothing is lost.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_acknowledged_send_is_lost_across_crashes_on_postgres(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    url = postgres_cluster.url(postgres_cluster.create_database("crashloop"))
    figures = run_crash_loop(tmp_path, cycles=2, seed=5, settle_timeout=CLAIM_LEASE_SECONDS + 60, db_url=url)
    assert figures.cycles == 2
    assert figures.messages_acknowledged > 20, figures.lines()
    assert figures.lost == 0, (figures.lost_ids, figures.lines())
