"""The database's connections: opening them, the schema's migrations, and units of work.

Statements run on aiosqlite's thread, or, when short and free to go, on the event loop's own
thread through a second connection (bot/storage/fast.py says when and why). Either way one
connection at a time: a lock wraps every unit of work, so concurrent coroutines never share a
transaction, one applicant's rollback can never undo another's answer, and a reader never sees a
half-written transaction of someone else.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

import aiosqlite

from bot.clock import now_utc  # noqa: F401  (re-exported: the stamp every table keeps)
from bot.files import private_folder
from bot.storage.fast import Elsewhere, FastConnection, FastTransaction
from bot.storage.kept import Memory
from bot.storage.migrations import FOREIGN_KEYS_OFF, MIGRATIONS, SCHEMA_VERSION, statements

# Each connection's own settings (WAL is the file's, set once).
PRAGMAS = (
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    # An erased answer is overwritten with zeros, not left in free pages of the file: some SQLite
    # builds do this by default, others not, and /delete must mean deleted everywhere.
    "PRAGMA secure_delete = ON",
    # 32 MB of page cache instead of 2: a thousand applications' answers stay in memory.
    "PRAGMA cache_size = -32768",
    # The write-ahead log cut back to 1 MB when it starts again, whatever one burst made it: below
    # the size that calls for a checkpoint (bot/storage/fast.py), or every look would call for one.
    "PRAGMA journal_size_limit = 1048576",
)
T = TypeVar("T")
# What a unit of work writes with: aiosqlite's connection, or the event loop's (same calls).
Db = aiosqlite.Connection | FastTransaction


log = logging.getLogger(__name__)


class StorageError(Exception):
    pass


class Connection:
    """The connection and its lock; each concern's methods (the mixins beside this module) build on these."""

    def __init__(self, conn: aiosqlite.Connection, path: Path | None = None) -> None:
        self._conn = conn
        self._fast: FastConnection | None = None  # none for an in-memory database: it would be another one
        self._lock = asyncio.Lock()
        self._kept = Memory()  # the answers of those writing now (bot/storage/kept.py)
        self._checkpoint: asyncio.Task[None] | None = None
        self.path = path  # None for an in-memory database

    @classmethod
    async def open(cls, path: str | Path) -> Self:
        location = None if str(path) == ":memory:" else await asyncio.to_thread(Path(path).absolute)
        try:
            if location is not None:
                if await asyncio.to_thread(Path(path).is_dir):
                    # Said here: a failed aiosqlite.connect leaves its worker thread behind.
                    raise IsADirectoryError(f"{path} 是一个文件夹")
                await asyncio.to_thread(private_folder, location.parent)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing commits behind our back.
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"无法打开数据库 {path}：{exc}") from exc
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute("PRAGMA busy_timeout = 5000")
            await _wal(conn)
            for pragma in PRAGMAS:
                await conn.execute(pragma)
            if location is not None:
                # Its reads are the cold and the long ones now (bot/storage/fast.py): 8 MB of cache will do.
                await conn.execute("PRAGMA cache_size = -8192")
            storage = cls(conn, location)
            await storage._migrate()
            if location is not None:
                storage._fast = FastConnection(str(location), PRAGMAS)
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StorageError(_open_failure(path, exc)) from exc
        except BaseException:
            await conn.close()
            raise
        return storage

    async def close(self) -> None:
        if self._checkpoint is not None:
            await self._checkpoint
        async with self._lock:
            if self._fast is not None:
                self._fast.close()
                self._fast = None
            await self._conn.close()

    async def _migrate(self) -> None:
        version = await self.schema_version()
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"数据库版本 {version} 比本程序支持的 {SCHEMA_VERSION} 新：请升级 award-bot 后再打开。"
            )
        for number, (_name, script) in enumerate(MIGRATIONS[version:], start=version + 1):
            rebuild = number in FOREIGN_KEYS_OFF
            if rebuild:
                await self._conn.execute("PRAGMA foreign_keys = OFF")
            try:
                async with self._tx() as db:
                    # Read again under the write lock: two programs opening a new database at once
                    # (award-bot run and console) would otherwise both run a migration.
                    async with db.execute("PRAGMA user_version") as cursor:
                        done = await cursor.fetchone()
                    if done and int(done[0]) >= number:
                        continue
                    for statement in statements(script):
                        await db.execute(statement)
                    if rebuild and await db.execute_fetchall("PRAGMA foreign_key_check"):
                        raise StorageError(f"升级到数据库版本 {number} 后外键不一致，已撤销升级")
                    await db.execute(f"PRAGMA user_version = {number}")
            finally:
                if rebuild:
                    await self._conn.execute("PRAGMA foreign_keys = ON")

    async def schema_version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def _tx(self, *, off_loop: bool = False) -> AsyncIterator[Db]:
        """One write transaction, alone on the connection, committed before we return.

        `off_loop`: on aiosqlite's thread in any case, for a unit that may write thousands of rows."""
        async with self._lock:
            fast = None if off_loop else self._fast_transaction()
            if fast is not None:
                try:
                    yield fast
                    fast.commit()
                except BaseException:
                    fast.rollback()  # a failed COMMIT (a foreign key) leaves the transaction open
                    raise
                self._after_fast()
                return
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                await self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # a failed COMMIT (a foreign key) leaves it open
                    await self._conn.execute("ROLLBACK")
                raise

    def _on_loop(self, run: Callable[[FastConnection], T]) -> T | Elsewhere:
        """`run` on the event loop's connection, or Elsewhere (returned, not raised) when it must go to
        aiosqlite's thread (bot/storage/fast.py). Called holding the lock."""
        if self._fast is None or not self._fast.usable():
            return Elsewhere()
        try:
            done = run(self._fast)
        except Elsewhere as elsewhere:
            return elsewhere
        self._after_fast()
        return done

    def _after_fast(self) -> None:
        if self._fast is not None and self._fast.checkpoint_due() and self._checkpoint is None:
            self._checkpoint = asyncio.get_running_loop().create_task(self._copy_log())

    async def _copy_log(self) -> None:
        """A checkpoint on aiosqlite's thread (see bot/storage/fast.py), in two passes. The first
        copies the log while the event loop's connection goes on writing (PASSIVE waits for no one);
        the second, holding the lock, copies only what came meanwhile, so that the log is copied
        whole and the next write starts it again from the beginning, cut to journal_size_limit.
        Without it, under steady writing the log never came back and grew to tens of MB."""
        try:
            await self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            async with self._lock:
                await self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except (sqlite3.Error, ValueError) as exc:  # in a unit of work there, or closed: the next one will do
            log.info("checkpoint put off: %s", type(exc).__name__)
        finally:
            self._checkpoint = None

    def _fast_transaction(self) -> FastTransaction | None:
        if self._fast is None or not self._fast.usable():
            return None
        try:
            return self._fast.begin()
        except Elsewhere:
            return None

    async def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement on its own, committed by SQLite itself (isolation_level=None), without
        BEGIN and COMMIT around it. Returns the rows changed."""
        async with self._lock:
            changed = self._on_loop(lambda fast: fast.write(sql, params))
            if not isinstance(changed, Elsewhere):
                return changed
            cursor = await self._conn.execute(sql, params)
            return cursor.rowcount

    # For the stores of one concern each (bot/web/store.py) that share this connection and its lock.
    transaction = _tx

    async def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._write(sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[aiosqlite.Row]:
        return await self._fetchall(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> aiosqlite.Row | None:
        return await self._fetchone(sql, params)

    async def _fetchall(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), *,
                        off_loop: bool = False) -> list[aiosqlite.Row]:
        """`off_loop`: on aiosqlite's thread in any case, for what is likely not in memory yet."""
        async with self._lock:
            # Perhaps a write (UPDATE … RETURNING): one statement either way.
            rows = Elsewhere() if off_loop else self._on_loop(lambda fast: fast.fetchall(sql, params))
            if not isinstance(rows, Elsewhere):
                return rows
            # execute_fetchall is one trip to aiosqlite's thread; execute + fetch + close would be three.
            return list(await self._conn.execute_fetchall(sql, params))

    async def _fetchone(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> aiosqlite.Row | None:
        """For queries of one row at most (a key or LIMIT 1)."""
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None


def _open_failure(path: str | Path, exc: sqlite3.DatabaseError) -> str:
    """Why a database could not be opened, as the person starting the bot can act on it."""
    text = str(exc).lower()
    folder = Path(path).parent
    # In WAL mode SQLite must create files beside the database: on a read-only disk even a valid
    # database fails to open ("unable to open database file"), which is no reason to call it broken.
    read_only = folder.is_dir() and not os.access(folder, os.W_OK)
    if read_only or "readonly" in text or "read-only" in text or "read only" in text:
        return (f"数据库 {path} 所在的位置只读，无法写入：请把它放到可写的文件夹（AWARD_DB），"
                "或检查磁盘是否以只读方式挂载。")
    if "disk is full" in text or "disk i/o" in text:
        return f"无法写入数据库 {path}（{exc}）：请检查磁盘空间。"
    if "unable to open" in text:
        return f"无法打开数据库 {path}：请检查文件夹是否存在、是否可写。"
    if "locked" in text or "busy" in text:
        return f"数据库 {path} 正被另一个程序占用，请稍后再试。"
    return f"{path} 不是本程序可用的 SQLite 数据库：{exc}"


async def _wal(conn: aiosqlite.Connection) -> None:
    """WAL mode. Switching a new database to it needs the file to itself, and SQLite does not wait
    for that (busy_timeout does not apply): a second program opening it at the same moment waits here."""
    for _ in range(100):
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            await asyncio.sleep(0.05)
    await conn.execute("PRAGMA journal_mode = WAL")
