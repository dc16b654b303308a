"""Lists the screenshots the browser tests saved at the end of the run, so CI's output says where to look."""

from __future__ import annotations

import time

import pytest

from tests.browser.test_ui import SCREENSHOTS

STARTED = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Only this run's: an earlier run's files may still lie there when the browser tests were skipped.
    saved = sorted(p for p in SCREENSHOTS.glob("*.png") if p.stat().st_mtime >= STARTED) if SCREENSHOTS.exists() else []
    if saved:
        terminalreporter.write_sep("-", f"UI screenshots ({len(saved)}) in {SCREENSHOTS}")
        for path in saved:
            terminalreporter.write_line(f"screenshot: {path}")
