"""The process's long-lived objects, kept out of the cyclic garbage collector's full passes.

Issue 16's hop timing (benchmarks/hops.py) found one generation-2 collection every ~15 s at 200 sends/s, 69-90 ms
each: the event loop and the SQLite writer both stop, and every message in flight waits it out, which sets the
send → webhook maximum and much of its p99. Almost everything that collection walks was built at start-up
(modules, settings, the app, the route tables) and lives as long as the process; `gc.freeze` moves it to the
permanent generation, so full collections walk only what the work itself allocated since.
"""

from __future__ import annotations

import gc


def freeze_start_up_objects() -> None:
    """Call once, after start-up and before serving: later collections skip everything alive now."""
    gc.freeze()
