"""`devtools_testutils.aio` of the live-mode stand-in: the async test decorator."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from . import require_live

P = ParamSpec("P")
R = TypeVar("R")


def recorded_by_proxy_async(test: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Live without recording: await the test as it is."""

    @functools.wraps(test)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        require_live()
        return await test(*args, **kwargs)

    return run
