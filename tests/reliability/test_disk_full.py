"""The SQLite database's filesystem fills up under load, then gets space back (SECURITY.md, 'Availability').

While full: sends are answered 503 in Azure's error shape and nothing is half-written; reads still work. After:
the server recovers by itself and every 202 ends in a delivered report; the database passes integrity_check.
Needs root (it mounts a small tmpfs); skipped elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability.disk_full import DiskFaultUnavailable, can_mount, run_disk_full


@pytest.mark.skipif(not can_mount(), reason="mounting a tmpfs needs root")
def test_a_full_disk_is_a_clean_503_and_recovers_by_itself(tmp_path: Path) -> None:
    try:
        figures = run_disk_full(tmp_path, full_seconds=1.0)
    except DiskFaultUnavailable as exc:
        pytest.skip(str(exc))
    assert figures.refused_503 > 0, figures.lines()
    assert figures.refused_in_azure_shape == figures.refused_503
    assert figures.other_statuses == {}, figures.problems
    assert figures.reads_while_full_ok
    assert figures.half_written == 0
    assert figures.recovery_seconds >= 0, "a send was accepted again once the space came back"
    assert figures.lost == 0
    assert figures.acknowledged_total > figures.acknowledged_before
    assert figures.integrity == "ok"
