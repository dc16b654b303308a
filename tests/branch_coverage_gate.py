"""`make test`'s second gate: the share of branch arcs of src/ the suite takes, at least BRANCH_FLOOR percent.

coverage.py's `fail_under` (pyproject.toml) gates its combined figure (statements and branches together); issue 13
asks for branch coverage itself, which the combined figure can hide behind well-covered straight-line code.

    python tests/branch_coverage_gate.py .coverage-data/coverage.json 90
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def branch_percent(report: dict[str, dict[str, int]]) -> float:
    totals = report["totals"]
    return 100.0 * totals["covered_branches"] / max(1, totals["num_branches"])


def main(path: str, floor: str) -> int:
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    percent = branch_percent(report)
    totals = report["totals"]
    verdict = "ok" if percent >= float(floor) else f"FAILED: below {floor} %"
    taken = f"{totals['covered_branches']}/{totals['num_branches']}"
    print(f"branch arcs of src/ taken: {taken} = {percent:.1f} % ({verdict})")
    return 0 if percent >= float(floor) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
