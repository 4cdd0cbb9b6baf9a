"""Each database keeps its own files, the tests keep theirs in temporary folders, and every file
problem the command line meets is said in a sentence, never a traceback."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.files import FilesError, claim_folder, keep_by_content
from bot.storage import Storage, StorageError
from tests.conftest import award_bot, jpeg, small_file_system


def test_two_databases_keep_their_files_apart_by_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("AWARD_DATA_DIR", raising=False)
    first = Settings(AWARD_DB=str(tmp_path / "a.db"))
    second = Settings(AWARD_DB=str(tmp_path / "b.db"))
    assert first.files == tmp_path / "a-files" and second.files == tmp_path / "b-files"
    assert Settings(AWARD_DB=str(tmp_path / "a.db"), AWARD_DATA_DIR=str(tmp_path / "shared")).files == \
        tmp_path / "shared"


async def test_a_files_folder_another_database_uses_is_refused(tmp_path: Path) -> None:
    first, second = await Storage.open(tmp_path / "a.db"), await Storage.open(tmp_path / "b.db")
    try:
        shared = tmp_path / "shared"
        claim_folder(shared, await first.database_id())
        claim_folder(shared, await first.database_id())  # its own: fine, every start
        with pytest.raises(FilesError, match="已被另一个数据库使用"):
            claim_folder(shared, await second.database_id())
    finally:
        await first.close()
        await second.close()


def test_award_bot_refuses_to_share_one_files_folder_between_two_databases(tmp_path: Path) -> None:
    shared = str(tmp_path / "shared")
    first = award_bot("console", "--user", "u", stdin="/start\n",
                      env={"AWARD_DB": str(tmp_path / "a.db"), "AWARD_DATA_DIR": shared})
    assert first.returncode == 0, first.stderr
    second = award_bot("console", "--user", "u", stdin="/start\n",
                       env={"AWARD_DB": str(tmp_path / "b.db"), "AWARD_DATA_DIR": shared})
    assert second.returncode == 1 and "已被另一个数据库使用" in second.stderr


def test_three_uploads_of_one_photo_at_once_are_all_kept(tmp_path: Path) -> None:
    data, results, errors = jpeg("the same certificate"), [], []

    def upload() -> None:
        try:
            results.append(keep_by_content(tmp_path / "attachments", data, ".jpg"))
        except OSError as error:  # two writers sharing one temporary name lost one of them
            errors.append(error)

    for _round in range(20):
        threads = [threading.Thread(target=upload) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for path in (tmp_path / "attachments").iterdir():
            path.unlink()
    assert errors == [] and len(results) == 60
    assert not list((tmp_path / "attachments").glob("*.part"))


def test_a_failed_backup_leaves_no_part_file_and_bad_targets_are_explained(tmp_path: Path) -> None:
    db = tmp_path / "award.db"
    env = {"AWARD_DB": str(db), "AWARD_DATA_DIR": str(tmp_path / "files")}
    assert award_bot("console", "--user", "u", stdin="/start\n", env=env).returncode == 0
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    inside_a_file = award_bot("backup", str(a_file / "copy.db"), env=env)
    assert inside_a_file.returncode == 1 and "备份失败" in inside_a_file.stderr
    assert "Traceback" not in inside_a_file.stderr
    export_to_a_file = award_bot("export", "-o", str(a_file), env=env)
    assert export_to_a_file.returncode == 1 and "导出失败" in export_to_a_file.stderr
    assert "Traceback" not in export_to_a_file.stderr


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    with small_file_system(tmp_path / "tiny", "64k") as disk:
        yield disk


def test_a_backup_that_fills_the_disk_leaves_nothing_behind(tmp_path: Path, tiny_disk: Path) -> None:
    db = tmp_path / "award.db"
    env = {"AWARD_DB": str(db), "AWARD_DATA_DIR": str(tmp_path / "files")}
    lines = ["/start", "#1", "张三", "#1", "1985-06", "#1", "本科", "某公司", "经理", "工程师", "10", "13812345678",
             "a@example.com", "经历", "#1"] + ["回答" * 2000] * 30
    assert award_bot("console", "--user", "u", stdin="\n".join(lines) + "\n", env=env).returncode == 0
    assert db.stat().st_size > 64 * 1024  # more than the disk holds
    full = award_bot("backup", str(tiny_disk / "copy.db"), env=env)
    assert full.returncode == 1 and "备份失败" in full.stderr and "Traceback" not in full.stderr
    assert list(tiny_disk.iterdir()) == []


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    """A disk holding a valid database, mounted read-only (as after a disk error, or a mistaken mount)."""
    with small_file_system(tmp_path / "disk", "4m") as disk:
        db = sqlite3.connect(disk / "award.db")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE t (x)")
        db.close()
        if subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True).returncode:
            pytest.skip("cannot remount read-only here")
        yield disk


async def test_a_database_on_a_read_only_disk_is_said_to_be_read_only(read_only_disk: Path) -> None:
    with pytest.raises(StorageError, match="只读"):
        await Storage.open(read_only_disk / "award.db")


def test_one_lock_for_a_database_whatever_name_it_is_reached_by(tmp_path: Path) -> None:
    from bot.instance import AlreadyRunning, InstanceLock

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with InstanceLock(tmp_path / "real" / "award.db"):
        for other_name in (tmp_path / "link" / "award.db", tmp_path / "real" / ".." / "real" / "award.db"):
            with pytest.raises(AlreadyRunning, match="同一个数据库只能运行一个"):
                InstanceLock(other_name).acquire()
    with InstanceLock(tmp_path / "link" / "award.db"):
        pass  # released: the next start takes it
