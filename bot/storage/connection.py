"""The one connection every statement runs on: opening it, the schema's migrations, and units of work.

One aiosqlite connection runs every statement on one thread, so concurrent coroutines
would share one transaction. A lock therefore wraps every unit of work: one
applicant's rollback can never undo another's answer, and a reader never sees a
half-written transaction of someone else.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self

import aiosqlite

from bot.clock import now_utc  # noqa: F401  (re-exported: the stamp every table keeps)
from bot.files import private_folder
from bot.storage.migrations import FOREIGN_KEYS_OFF, MIGRATIONS, SCHEMA_VERSION, statements


class StorageError(Exception):
    pass




class Connection:
    """The connection and its lock; each concern's methods (the mixins beside this module) build on these."""

    def __init__(self, conn: aiosqlite.Connection, path: Path | None = None) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
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
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            # An erased answer is overwritten with zeros, not left in free pages of the file: some SQLite
            # builds do this by default, others not, and /delete must mean deleted everywhere.
            await conn.execute("PRAGMA secure_delete = ON")
            # 32 MB of page cache instead of 2: a thousand applications' answers stay in memory.
            await conn.execute("PRAGMA cache_size = -32768")
            storage = cls(conn, location)
            await storage._migrate()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StorageError(_open_failure(path, exc)) from exc
        except BaseException:
            await conn.close()
            raise
        return storage

    async def close(self) -> None:
        async with self._lock:
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
    async def _tx(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, alone on the connection, committed before we return."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement on its own, committed by SQLite itself (isolation_level=None): one trip to
        aiosqlite's thread instead of three with BEGIN and COMMIT. Returns the rows changed."""
        async with self._lock:
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

    # execute_fetchall is one trip to aiosqlite's thread; execute + fetch + close would be three,
    # and each trip wakes the event loop (a quarter of the bot's CPU per update went on them).
    async def _fetchall(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[aiosqlite.Row]:
        async with self._lock:
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
