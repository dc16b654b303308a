"""CI's short schemathesis run against the served OpenAPI document (`python -m reliability --full` runs 1,000+).

Zero 5xx answers and zero answers outside the schema. Findings of the long run are in the reliability report.
"""

from __future__ import annotations

from pathlib import Path

from reliability.api_fuzz import run_api_fuzz


def test_generated_requests_get_no_5xx_and_answers_within_the_schema(tmp_path: Path) -> None:
    figures = run_api_fuzz(tmp_path, examples_per_operation=6)
    assert figures.operations >= 15
    assert figures.cases >= 100
    assert figures.outside_schema == 0, figures.examples
    assert figures.server_errors == 0, figures.examples
