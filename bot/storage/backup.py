"""A consistent copy of a live database (award-bot backup)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from bot.files import temporary_beside
from bot.storage.connection import StorageError, _open_failure


def backup_database(source: Path, target: Path) -> dict[str, int]:
    """A consistent copy of a live database, with SQLite's backup API; returns row counts of the copy.

    One step (pages=-1) copies a single snapshot under a read transaction: in WAL mode the bot
    keeps writing meanwhile, and no restart loop can starve the copy as in step-wise backups.
    """
    if not source.exists():
        raise StorageError(f"{source}: 数据库不存在")
    if target.exists():
        raise StorageError(f"{target}: 已存在，为免覆盖请换一个文件名")
    try:
        # Private (0600) from the start, as the database is: the copy holds everyone's answers.
        partial = temporary_beside(target)
    except OSError as exc:
        raise StorageError(f"{target}: 无法在 {target.parent} 里写文件（{exc.strerror or exc}）") from exc
    try:
        try:
            live = sqlite3.connect(source, timeout=30)
            live.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        except sqlite3.DatabaseError as exc:
            raise StorageError(_open_failure(source, exc)) from exc
        try:
            copy = sqlite3.connect(partial)
            try:
                live.backup(copy, pages=-1)
                copy.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
                if copy.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise StorageError(f"{target}: 副本未通过完整性检查")
                counts = {table: copy.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                          for table in ("applicants", "applications", "answers", "attachments", "documents")}
            finally:
                copy.close()
        finally:
            live.close()
        os.replace(partial, target)
    except BaseException:
        # A full disk or an interrupted copy leaves nothing half-written behind.
        for leftover in (partial, partial.with_name(partial.name + "-journal")):
            leftover.unlink(missing_ok=True)
        raise
    return counts
