"""One running bot per database.

Two `award-bot run` on one database would both poll Telegram (which answers 409 Conflict every
second or two) and both send reminders, twice as fast as Telegram allows. The first takes an
exclusive lock on a file beside the database; a second start finds it taken and stops, saying
which process holds it. The lock goes with the process, even when it is killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO


class AlreadyRunning(Exception):
    """Another award-bot serves this database, or none can take the lock; the message says so in Chinese."""


class InstanceLock:
    def __init__(self, database: Path) -> None:
        # The real file, whatever link or relative path names it: two names of one database are one lock.
        real = database.resolve()
        self.path = real.with_name(real.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            file = open(self.path, "a+")
        except OSError as error:
            raise AlreadyRunning(
                f"无法在 {self.path.parent} 建立锁文件（{error.strerror or type(error).__name__}）："
                "数据库所在的文件夹是否只读、已满或不存在？请检查，或用 AWARD_DB 指定一个可写的位置。"
            ) from error
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "?"
            file.close()
            raise AlreadyRunning(
                f"另一个 award-bot（进程 {holder}）正在使用数据库 {self.path.with_suffix('')}，"
                "同一个数据库只能运行一个。请先停止它，或为这个实例另设 AWARD_DB。"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
