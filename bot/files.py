"""Files with personal data on the server: written whole or not at all, readable by the bot's user only.

Every file the bot writes (received evidence, 申报书, /mydata, exports) goes through here, so that
- a crash or a full disk never leaves a cut-off file under the final name, nor a `.part` behind;
- two writers of the same file (two uploads of one photo at once) never share a temporary name;
- files are 0600 and folders 0700 whatever the process's umask: answers are nobody else's business.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
FOLDER_MODE = 0o700

# A database's files folder says which database it belongs to, so that two databases never share one.
MARKER = ".award-database"


class FilesError(Exception):
    """A files folder that cannot be used; the message says why, in Chinese, for the person starting the bot."""


def default_data_dir(database: Path | None) -> Path:
    """Where a database keeps its files unless AWARD_DATA_DIR says otherwise: beside it, named after it
    (data/award.db keeps them in data/award-files), so that two databases never share files."""
    if database is None:  # an in-memory database: its files are as temporary as it is
        return Path(tempfile.mkdtemp(prefix="award-files-"))
    return database.with_name(database.stem + "-files")


def private_folder(path: Path) -> Path:
    """Create the folder and any missing parents as 0700 (mkdir's mode is masked by the umask).

    Folders that exist already are left as they are: they may be someone else's (/tmp).
    """
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another writer
            folder.mkdir(mode=FOLDER_MODE)
            folder.chmod(FOLDER_MODE)
    if not path.is_dir():
        raise NotADirectoryError(f"not a folder: {path}")
    return path


def write_private(path: Path, data: bytes | str) -> Path:
    """Write `data` to `path` through a unique temporary file beside it, then rename it into place."""
    with written_whole(path) as (temporary,), open(temporary, "wb") as file:
        file.write(data.encode("utf-8") if isinstance(data, str) else data)
        file.flush()
        os.fsync(file.fileno())
    return path


@contextlib.contextmanager
def written_whole(*finals: Path) -> Iterator[list[Path]]:
    """Write `finals` whole or not at all: the block writes the private temporary files this gives, one
    beside each final path; when it ends without an error they are renamed into place, in order.

    Every one or none: if the block fails, or a rename does, no final path is left replaced by this
    (the ones renamed already are removed: a ZIP is never left without its spreadsheet), and no
    temporary file is left behind.
    """
    pending: list[Path] = []  # temporary files not (yet) renamed into place
    try:
        for final in finals:
            pending.append(temporary_beside(final))
        yield list(pending)
        placed: list[Path] = []
        try:
            for final in finals:
                os.replace(pending[0], final)
                pending.pop(0)
                placed.append(final)
        except BaseException:
            remove_files(placed)
            raise
    finally:
        remove_files(pending)


def temporary_beside(final: Path) -> Path:
    """An empty private file beside `final`, to be written by someone else and renamed into place
    (`written_whole` does both, and cleans up)."""
    private_folder(final.parent)
    handle, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name[:40]}.", suffix=".part")  # 0600
    os.close(handle)
    return Path(name)


def keep_by_content(folder: Path, data: bytes, suffix: str) -> tuple[str, Path]:
    """Store received bytes once per content (named by their SHA-256); returns the digest and the path."""
    digest = hashlib.sha256(data).hexdigest()
    path = folder / f"{digest}{suffix}"
    if not path.exists():
        write_private(path, data)
    return digest, path


def remove_files(paths: Iterable[str | Path]) -> int:
    """Remove these files if they are there; returns how many went. A failure is logged, never raised."""
    removed = 0
    for name in paths:
        try:
            Path(name).unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as error:
            log.warning("could not remove a file: %s", error.strerror or type(error).__name__)
    return removed


def remove_folder(folder: Path) -> int:
    """Remove a folder and all in it; returns how many files could not be removed (0: all gone)."""
    if not folder.exists():
        return 0
    failures: list[str] = []

    def failed(_function: object, path: str, _error: object) -> None:
        failures.append(path)

    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=failed)
    else:
        shutil.rmtree(folder, onerror=failed)
    if failures:
        log.warning("%d item(s) of a folder could not be removed", len(failures))
    return sum(1 for path in folder.rglob("*") if path.is_file()) if folder.exists() else 0


def claim_folder(folder: Path, database_id: str) -> None:
    """Check that `folder` can hold this database's files, and mark it as this database's.

    Raises FilesError when it cannot be written (read-only, a file in the way, no space) or when
    another database already keeps its files there: a /delete in one would remove the other's files.
    """
    try:
        private_folder(folder)
        marker = folder / MARKER
        if marker.exists():
            owner = marker.read_text(encoding="utf-8").strip()
            if owner and owner != database_id:
                raise FilesError(f"文件夹 {folder} 已被另一个数据库使用。每个数据库要有自己的文件夹："
                                 "请用 AWARD_DATA_DIR 为这个数据库指定另一个文件夹。")
        probe = write_private(folder / ".write-test", b"ok")
        probe.unlink()
        if not marker.exists():
            write_private(marker, database_id + "\n")
    except FilesError:
        raise
    except OSError as error:
        raise FilesError(f"无法写入文件夹 {folder}（{error.strerror or type(error).__name__}）："
                         "请检查它是否存在、可写、磁盘是否已满，或用 AWARD_DATA_DIR 指定另一个文件夹。") from error
