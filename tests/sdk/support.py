"""What the SDK suites need at test time: a cache of downloaded SDKs and the tools (node, npm) that run them.

Nothing downloaded here is kept in the repository: the Azure SDKs are fetched with their own registries' clients
(pip, npm) into `.cache/sdk` (gitignored) on first use and reused after that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SMSGRID_SDK_CACHE", str(REPO / ".cache" / "sdk")))
HERE = Path(__file__).resolve().parent


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """A missing tool or an unreachable registry: a failure under CI=true (CI must prove this), a skip elsewhere."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this test must run)", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"`{name}` is not installed ({hint})")
    assert path is not None
    return path


def run_fetch(command: Sequence[str], what: str, cwd: Path | None = None) -> None:
    """Run a download command (pip, npm); a failure means the registry could not be reached or the name is wrong."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=200, check=False)
    if result.returncode != 0:
        unavailable(f"could not fetch {what}: {' '.join(command)} exited {result.returncode}:\n{result.stderr[-3000:]}")
