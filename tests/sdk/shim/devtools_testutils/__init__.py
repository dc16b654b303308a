"""A live-mode-only stand-in for `devtools_testutils`, the test helper package of the Azure SDK for Python
repository (tools/azure-sdk-tools), which is not published on PyPI.

azure-communication-sms's own tests import it. tests/sdk runs those tests LIVE against a real smsgrid and records
nothing, as the Azure SDK's live mode does with AZURE_SKIP_LIVE_RECORDING=true: no test proxy is started, so the
sanitizer and matcher calls have nothing to configure and do nothing. Playback needs Azure's recordings and proxy,
which this stand-in does not have, so anything but live mode is refused rather than faked.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import pytest

P = ParamSpec("P")
R = TypeVar("R")


def is_live() -> bool:
    """Live when AZURE_TEST_RUN_LIVE is true/yes, the variable the Azure SDK's TestConfig reads."""
    return os.environ.get("AZURE_TEST_RUN_LIVE", "").lower() in ("true", "yes")


def require_live() -> None:
    if not is_live():
        raise RuntimeError("this devtools_testutils stand-in runs tests live only: set AZURE_TEST_RUN_LIVE=true")


class AzureRecordedTestCase:
    """The members of Azure's base class that the suite uses."""

    @property
    def is_live(self) -> bool:
        return is_live()

    @property
    def in_recording(self) -> bool:
        return False

    def is_playback(self) -> bool:
        return not is_live()


def recorded_by_proxy(test: Callable[P, R]) -> Callable[P, R]:
    """Live without recording: run the test as it is."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        require_live()
        return test(*args, **kwargs)

    return run


@pytest.fixture(scope="session")
def test_proxy() -> None:
    """Azure's fixture starts the recording proxy; live without recording needs none."""
    require_live()


# Recording configuration: nothing is recorded, so there is nothing to sanitize or match.
def set_bodiless_matcher(**_: Any) -> None:
    return None


def set_default_session_settings(**_: Any) -> None:
    return None


def add_oauth_response_sanitizer(**_: Any) -> None:
    return None


def add_general_string_sanitizer(**_: Any) -> None:
    return None


def add_body_key_sanitizer(**_: Any) -> None:
    return None


def add_header_regex_sanitizer(**_: Any) -> None:
    return None
