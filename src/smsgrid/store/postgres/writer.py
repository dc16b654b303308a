"""Group commit over one PostgreSQL connection: many concurrent callers' writes share one transaction.

A commit costs a round trip and a WAL flush; under load the send path must not pay that per request. Callers queue
their work; the writer takes everything queued (at most MAX_GROUP), runs it in one transaction and commits once;
each caller's await resolves only after that COMMIT, so a 202 is never answered for work that is not durable.

If one piece of work fails (a constraint, a bad value), the transaction is rolled back and the group is run again
with each piece in its own SAVEPOINT, so one failing request never undoes its neighbours (as the SQLite executor).
If the connection itself fails (the database restarts, fails over, refuses connections), every piece of the group
fails with StoreUnavailableError and the next group connects afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from smsgrid.errors import StoreError, StoreUnavailableError

log = logging.getLogger("smsgrid.store.postgres")

T = TypeVar("T")

# Bounded so one commit never holds thousands of requests' replies hostage behind one flush.
MAX_GROUP = 512

# What means "the database cannot take this right now" (as opposed to "this request is wrong").
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08: the connection is gone or could not be made
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, starting up, cancelled
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: disk full, out of memory, too many connections
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a standby after failover
    asyncpg.InterfaceError,  # "connection is closed"
    asyncpg.exceptions.InternalClientError,  # the protocol lost its footing as the connection broke
    OSError,  # refused, reset, unreachable
    TimeoutError,
)


def unavailable(exc: BaseException) -> bool:
    return isinstance(exc, _UNAVAILABLE)


def wrap(exc: BaseException) -> BaseException:
    """Driver errors become the store's errors; anything else (our own bugs, StoreError) passes unchanged."""
    if isinstance(exc, StoreError):
        return exc
    if unavailable(exc):
        wrapped: StoreError = StoreUnavailableError(f"the database cannot commit right now: {exc}")
    elif isinstance(exc, asyncpg.PostgresError):
        wrapped = StoreError(f"database error: {exc}")
    else:
        return exc
    wrapped.__cause__ = exc
    return wrapped


class Transaction:
    """What one piece of work sees: the connection (inside the group's transaction) and the channels to NOTIFY."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.channels: set[str] = set()

    def notify(self, channel: str) -> None:
        """NOTIFY `channel` when this work commits (PostgreSQL delivers it only then, once per transaction)."""
        self.channels.add(channel)


Work = Callable[[Transaction], Awaitable[Any]]
_Item = tuple[Work, "asyncio.Future[Any]"]


class GroupWriter:
    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]]) -> None:
        self._connect = connect
        self._conn: asyncpg.Connection | None = None
        self._queue: deque[_Item] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def submit(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        if self._closing:
            raise StoreUnavailableError("the store is closing")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._queue.append((work, future))
        self._wakeup.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="smsgrid-postgres-writer")
        # shield: a caller that goes away (client disconnect, shutdown) does not stop its work from committing.
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Finish everything already submitted, then close the connection."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        await self._discard()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            group = [self._queue.popleft() for _ in range(min(MAX_GROUP, len(self._queue)))]
            try:
                results = await self._run_group(group)
            except BaseException as exc:  # pragma: no cover - cancelled while closing
                for _, future in group:
                    if not future.done():
                        future.set_exception(StoreUnavailableError(f"the store stopped: {exc!r}"))
                raise
            for (_, future), (ok, value) in zip(group, results, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect()
        return self._conn

    async def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)
            if not conn.is_closed():
                conn.terminate()

    async def _run_group(self, group: list[_Item]) -> list[tuple[bool, Any]]:
        try:
            conn = await self._connection()
            results = await self._all_or_nothing(conn, group)
            if results is None:
                results = await self._one_by_one(conn, group)
            return results
        except Exception as exc:
            if not unavailable(exc):
                log.exception("unexpected failure of a write group")
            # The connection may be mid-transaction or gone; either way the next group starts on a fresh one.
            await self._discard()
            failure = wrap(exc)
            if not isinstance(failure, StoreError):
                failure = StoreUnavailableError(f"the write failed: {exc!r}")
            return [(False, failure)] * len(group)

    async def _all_or_nothing(self, conn: asyncpg.Connection, group: list[_Item]) -> list[tuple[bool, Any]] | None:
        """Every piece in one transaction; None when a piece failed on its own (the caller then goes one by one)."""
        tx = Transaction(conn)
        await conn.execute("BEGIN")
        results: list[tuple[bool, Any]] = []
        for work, _ in group:
            try:
                results.append((True, await work(tx)))
            except Exception as exc:
                if unavailable(exc):
                    raise
                await conn.execute("ROLLBACK")
                return None
        await _commit(conn, tx.channels)
        return results

    async def _one_by_one(self, conn: asyncpg.Connection, group: list[_Item]) -> list[tuple[bool, Any]]:
        await conn.execute("BEGIN")
        channels: set[str] = set()
        results: list[tuple[bool, Any]] = []
        for work, _ in group:
            tx = Transaction(conn)
            await conn.execute("SAVEPOINT piece")
            try:
                value = await work(tx)
            except Exception as exc:
                if unavailable(exc):
                    raise
                await conn.execute("ROLLBACK TO SAVEPOINT piece")
                results.append((False, wrap(exc)))
            else:
                await conn.execute("RELEASE SAVEPOINT piece")
                channels |= tx.channels
                results.append((True, value))
        await _commit(conn, channels)
        return results


def _retrieve(future: asyncio.Future[Any]) -> None:
    # The caller may have gone away (shield): mark the outcome seen so asyncio does not log it as lost.
    if not future.cancelled():
        future.exception()


async def _commit(conn: asyncpg.Connection, channels: set[str]) -> None:
    # One round trip: the NOTIFYs ride with the COMMIT (channel names are our own constants, never user input).
    notifies = "".join(f"NOTIFY {channel}; " for channel in sorted(channels))
    await conn.execute(f"{notifies}COMMIT")
