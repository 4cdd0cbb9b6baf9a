"""Short statements on the event loop's own thread, and everything else on aiosqlite's.

Every aiosqlite statement is a trip to its thread and back: about 60 µs of CPU and, under load, a
wait for the interpreter lock, while the statement itself takes 5 µs. An answer took thirteen such
trips; under load they were a third of the bot's time per update (benchmarks/interview_load.py,
issue #18). So a second connection to the same file runs statements where the coroutine is, as
long as that cannot keep the loop waiting:

- it never waits for a lock: another program writing (the console, a backup) makes SQLite answer
  "busy" at once, and the statement goes to aiosqlite's thread, which waits there (busy_timeout);
- a statement alone may run FAST_BUDGET seconds of CPU at most: a longer one (the office's list
  of a thousand applications) is stopped and runs on aiosqlite's thread, and so does that SQL
  from its third time on. One that waits on the disk past WAIT_BUDGET (a cold cache, a slow
  disk) is stopped too, at SQLite's next step, but may come back: the disk was the cause. A
  statement stopped or refused changed nothing: it was alone in its transaction. What is likely
  not in memory at all (an application's answers read the first time) is read on aiosqlite's
  thread from the start (Connection._fetchall's off_loop);
- a transaction here begins only if the write lock is free, and then runs on this connection to
  its end. The few units that may write thousands of rows ask for aiosqlite's thread themselves.

Both connections are serialized by Connection's lock, so they never wait for each other.

Copying the write-ahead log into the database (a checkpoint) writes and syncs the file: SQLite does
it after a commit once the log is long, which here would be on the event loop's thread. This
connection never does it; Connection asks aiosqlite's thread to once the log passes
CHECKPOINT_BYTES, SQLite's own default (1,000 pages).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FAST_BUDGET = 0.005  # seconds of CPU a statement alone may keep the event loop
WAIT_BUDGET = 0.03  # seconds by the clock, waiting on the disk included
OVERRUNS = 3  # a statement over the CPU budget this often runs on aiosqlite's thread from then on
CHECK_EVERY = 100  # SQLite virtual machine steps between two looks at the clocks
WAITS = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
CHECKPOINT_BYTES = 1000 * 4096  # the write-ahead log's size that calls for a checkpoint
LOOK_EVERY = 16  # statements between two looks at that size
Params = Sequence[Any] | Mapping[str, Any]


class Elsewhere(Exception):
    """This statement or transaction must run on aiosqlite's thread (the lock is taken, or it is long)."""


class FastConnection:
    """The second connection; usable only on the thread that opened it (the event loop's)."""

    def __init__(self, path: str, pragmas: Iterable[str]) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._log = Path(path + "-wal")
        self._thread = threading.get_ident()
        self._deadline = float("inf")  # CPU time (thread_time)
        self._wait_deadline = float("inf")  # by the clock (perf_counter)
        self._over_cpu = False
        # SQL that ran past the budget: how often. Once may be a cold cache (the other connection wrote).
        self._overruns: dict[str, int] = {}
        for pragma in pragmas:
            self._db.execute(pragma)
        self._db.execute("PRAGMA busy_timeout = 0")  # never wait here: aiosqlite's thread waits instead
        self._db.execute("PRAGMA wal_autocheckpoint = 0")  # nor sync the file here: see checkpoint_due
        self._statements = 0
        self._db.set_progress_handler(self._past_deadline, CHECK_EVERY)

    def usable(self) -> bool:
        """Not from another thread (an event loop of its own): sqlite3 refuses that."""
        return threading.get_ident() == self._thread

    def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """One statement in its own transaction, within the budget; Elsewhere if it cannot be."""
        return self._statement(sql, params)[0]

    def write(self, sql: str, params: Params = ()) -> int:
        """As fetchall, for a statement that changes rows: how many it changed."""
        return self._statement(sql, params)[1]

    def _statement(self, sql: str, params: Params) -> tuple[list[sqlite3.Row], int]:
        if self._overruns.get(sql, 0) >= OVERRUNS:
            raise Elsewhere()
        # The thread's own CPU time: a statement the system paused (a busy machine) is not a long one.
        self._deadline = time.thread_time() + FAST_BUDGET
        self._wait_deadline = time.perf_counter() + WAIT_BUDGET
        self._over_cpu = False
        try:
            cursor = self._db.execute(sql, params)
            return cursor.fetchall(), cursor.rowcount  # run to its end, which commits it
        except sqlite3.OperationalError as exc:
            code = _code(exc)
            # Stopped by the clock alone, it waited (the disk, a busy machine): not long in itself.
            if code == sqlite3.SQLITE_INTERRUPT and self._over_cpu:
                self._overruns[sql] = overruns = self._overruns.get(sql, 0) + 1
                if overruns == OVERRUNS:
                    log.info("a statement took over %.0f ms %d times; on aiosqlite's thread from now on: %.60s",
                             FAST_BUDGET * 1000, OVERRUNS, " ".join(sql.split()))
            if code == sqlite3.SQLITE_INTERRUPT or code in WAITS:
                raise Elsewhere() from exc
            raise
        finally:
            self._deadline = self._wait_deadline = float("inf")

    def begin(self) -> FastTransaction:
        """BEGIN IMMEDIATE, or Elsewhere if another program holds the write lock."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _code(exc) in WAITS:
                raise Elsewhere() from exc
            raise
        return FastTransaction(self._db)

    def checkpoint_due(self) -> bool:
        """After a statement here: whether the write-ahead log grew long enough for a checkpoint (its
        size is looked at every LOOK_EVERY statements: a long answer rewritten writes a hundred pages)."""
        self._statements += 1
        if self._statements % LOOK_EVERY:
            return False
        try:
            return self._log.stat().st_size >= CHECKPOINT_BYTES
        except OSError:
            return False

    def close(self) -> None:
        self._db.close()

    def _past_deadline(self) -> int:
        if self._deadline == float("inf"):
            return 0  # in a transaction: never stopped (no clock read either, every 100 steps)
        if time.thread_time() > self._deadline:
            self._over_cpu = True
            return 1
        return 1 if time.perf_counter() > self._wait_deadline else 0


class FastTransaction:
    """What a unit of work sees inside `Connection._tx()`, the same calls as an aiosqlite connection's."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Params = ()) -> _Result:
        return _Result(self._db.execute(sql, params))

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return self._db.execute(sql, params).fetchall()

    async def executemany(self, sql: str, rows: Iterable[Params]) -> FastCursor:
        return FastCursor(self._db.executemany(sql, rows))

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")


class FastCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> sqlite3.Row | None:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[sqlite3.Row]:
        return self._cursor.fetchall()

    def close(self) -> None:
        self._cursor.close()


class _Result:
    """Awaited, or used with `async with`, as aiosqlite's execute() is."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = FastCursor(cursor)

    def __await__(self) -> Generator[Any, None, FastCursor]:
        return self._done().__await__()

    async def _done(self) -> FastCursor:
        return self._cursor

    async def __aenter__(self) -> FastCursor:
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()


def _code(exc: sqlite3.Error) -> int:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
