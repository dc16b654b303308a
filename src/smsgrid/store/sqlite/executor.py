"""Run SQLite work on one dedicated thread; many callers' writes share one transaction (group commit).

SQLite allows one writer at a time and an fsync per commit is the cost that matters, so all writes go through
one thread that takes everything queued, runs each piece in its own SAVEPOINT (one failing request must not
undo its neighbours), and commits once. Callers await a future that resolves only after the commit.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from smsgrid.errors import StoreError, StoreUnavailableError

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]
_Item = tuple[Work, asyncio.AbstractEventLoop, "asyncio.Future[Any]"]

# Bounded so one commit never holds thousands of requests' replies hostage behind a single fsync.
MAX_GROUP = 512


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    uri = f"file:{path.as_posix()}{'?mode=ro' if readonly else ''}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before any 202 goes out; group commit keeps the fsync count low.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteExecutor:
    """One thread, one connection. `write` groups work into transactions; `read` runs it as is."""

    def __init__(self, conn: sqlite3.Connection, *, name: str, transactional: bool) -> None:
        self._conn = conn
        self._transactional = transactional
        self._queue: queue.SimpleQueue[list[_Item] | None] = queue.SimpleQueue()
        self._pending: list[_Item] = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    async def submit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        # Hand work over once per event-loop iteration, not once per call: every hand-over wakes the writer
        # thread, which then competes with the event loop for the GIL.
        if not self._pending:
            loop.call_soon(self._hand_over)
        self._pending.append((work, loop, future))
        return await future

    def _hand_over(self) -> None:
        pending, self._pending = self._pending, []
        self._queue.put(pending)

    def close(self) -> None:
        if self._pending:
            self._hand_over()
        self._queue.put(None)
        self._thread.join(timeout=30)
        self._conn.close()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = list(first)
            stop = False
            while len(group) < MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True  # finish this group, then stop
                    break
                group.extend(more)
            if self._transactional:
                results = self._run_group(group)
            else:
                results = [self._run_one(work) for work, _, _ in group]
            self._resolve(group, results)
            if stop:
                return

    def _run_one(self, work: Work) -> tuple[bool, Any]:
        try:
            return True, work(self._conn)
        except Exception as exc:
            return False, _wrap(exc)

    def _run_group(self, group: list[_Item]) -> list[tuple[bool, Any]]:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            failure = _wrap(exc)
            return [(False, failure)] * len(group)
        results: list[tuple[bool, Any]] = []
        for work, _, _ in group:
            try:
                conn.execute("SAVEPOINT w")
                value = work(conn)
                conn.execute("RELEASE w")
                results.append((True, value))
            except Exception as exc:
                try:
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
                except sqlite3.Error:
                    pass
                results.append((False, _wrap(exc)))
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            failure = _wrap(exc)
            return [(False, failure)] * len(group)
        return results

    @staticmethod
    def _resolve(group: list[_Item], results: list[tuple[bool, Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], tuple[bool, Any]]]] = {}
        for (_, loop, future), result in zip(group, results, strict=True):
            by_loop.setdefault(loop, []).append((future, result))
        for loop, pairs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, pairs)
            except RuntimeError:
                pass  # the loop closed while we worked: nobody is waiting any more


def _settle(pairs: list[tuple[asyncio.Future[Any], tuple[bool, Any]]]) -> None:
    for future, (ok, value) in pairs:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _wrap(exc: BaseException) -> BaseException:
    if isinstance(exc, StoreError | sqlite3.IntegrityError) or not isinstance(exc, sqlite3.Error):
        return exc
    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError) and any(
        word in text for word in ("readonly", "read-only", "disk", "full", "locked", "unable to open", "i/o")
    ):
        unavailable = StoreUnavailableError(f"the database cannot commit right now: {exc}")
        unavailable.__cause__ = exc
        return unavailable
    failure = StoreError(f"database error: {exc}")
    failure.__cause__ = exc
    return failure
