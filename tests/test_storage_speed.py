"""What makes storage fast never costs an answer: short statements run where the bot is, but it
never waits there for another program or a long query, and the answers it keeps in memory are
never stale, nor ever another applicant's."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.flows import later
from bot.flows.dispatch import Lanes
from bot.storage import Storage
from bot.storage.fast import CHECKPOINT_BYTES

T = TypeVar("T")


async def longest_pause(work: Awaitable[T]) -> tuple[T, float]:
    """`work`'s result, and the longest the event loop went without turning meanwhile."""
    longest = 0.0
    done = False

    async def tick() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    try:
        result = await work
    finally:
        done = True
        await ticker
    return result, longest


async def new_application(storage: Storage, who: str) -> int:
    applicant = await storage.applicant("test", who, who)
    return (await storage.create_application(applicant.id, "x", 1)).id


async def test_an_answer_sent_while_another_program_writes_is_saved_once_it_is_done(storage, db_path) -> None:
    app = await new_application(storage, "甲")
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the console, say, in the middle of its own write
    saving = asyncio.create_task(storage.append_answer(app, "1.1a", "等对方写完再保存"))
    _, longest = await longest_pause(asyncio.sleep(0.3))
    assert not saving.done()
    assert longest < 0.1, "the bot stopped answering everyone else while it waited"
    other.execute("COMMIT")
    assert await asyncio.wait_for(saving, 5) == "等对方写完再保存"
    assert other.execute("SELECT text FROM answers").fetchall() == [("等对方写完再保存",)]
    other.close()


async def test_a_long_query_never_holds_up_everyone_elses_replies(storage, caplog) -> None:
    long_count = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
                  "SELECT COUNT(*) AS c FROM n")
    caplog.set_level(logging.INFO, logger="bot.storage.fast")
    for _ in range(4):
        rows, longest = await longest_pause(storage.fetchall(long_count))
        assert rows[0]["c"] == 300000
        assert longest < 0.1, f"the event loop stood still {longest * 1000:.0f} ms"
    # Tried where the bot is three times, then sent straight to aiosqlite's thread, and said once.
    assert sum("on aiosqlite's thread from now on" in r.message for r in caplog.records) == 1


async def test_an_answer_written_by_another_program_is_seen_at_the_next_message(storage, db_path) -> None:
    app = await new_application(storage, "甲")
    await storage.append_answer(app, "1.1a", "第一段")
    applicant = await storage.find_applicant("test", "甲")
    assert applicant is not None
    assert (await storage.snapshot_for(applicant.id)).answers == {"1.1a": "第一段"}
    console = await Storage.open(db_path)  # the terminal, a second program on the same database
    await console.append_answer(app, "1.1a", "第二段")
    await console.set_profile_value(app, "name", "张三")
    await console.close()
    snap = await storage.snapshot_for(applicant.id)
    assert snap.answers == {"1.1a": "第一段\n第二段"}
    assert snap.profile == {"name": "张三"}


async def test_an_erased_applicants_answers_never_reach_the_next_one_given_the_same_number(storage, db_path) -> None:
    first = await new_application(storage, "甲")
    await storage.append_answer(first, "1.1a", "甲的回答")
    gone = await storage.find_applicant("test", "甲")
    assert gone is not None
    assert (await storage.snapshot(first)).answers == {"1.1a": "甲的回答"}  # now kept in memory
    # Another program erases 甲 and takes in 乙, whose application gets the number 甲's had (SQLite
    # may give a freed number again), and 乙's answer moves the revision as many times as 甲's did.
    other = await Storage.open(db_path)
    await other.delete_applicant(gone.id, {"text": "已删除"})
    await other.close()
    with sqlite3.connect(db_path) as raw:
        now = "2026-11-29T08:00:00+00:00"
        raw.execute("INSERT INTO applicants (id, channel, external_id, display_name, created_at, last_active_at) "
                    "VALUES (?, 'test', '乙', '乙', ?, ?)", (gone.id, now, now))
        raw.execute("INSERT INTO applications (id, applicant_id, criteria_id, criteria_version, created_at, "
                    "updated_at) VALUES (?, ?, 'x', 1, ?, ?)", (first, gone.id, now, now))
        raw.execute("INSERT INTO answers (application_id, question_id, text, updated_at) VALUES (?, '1.1b', ?, ?)",
                    (first, "乙的回答", now))
    snap = await storage.snapshot(first)
    assert snap.answers == {"1.1b": "乙的回答"}


async def test_the_answers_kept_in_memory_stay_within_their_size(storage, monkeypatch) -> None:
    monkeypatch.setattr(storage._kept, "most_chars", 100_000)
    apps = [await new_application(storage, f"申报人{n}") for n in range(5)]
    for n, app in enumerate(apps):
        await storage.append_answer(app, "1.1a", f"{n}" + "长" * 30_000)
        assert (await storage.snapshot(app)).answers["1.1a"].startswith(f"{n}长")
    assert sum(kept.chars for kept in storage._kept.values()) == storage._kept.chars <= 100_000
    assert storage._kept.has(apps[-1])  # the one read last stays


async def test_an_applicant_erased_here_leaves_no_answer_in_the_bots_memory(storage) -> None:
    app = await new_application(storage, "甲")
    await storage.append_answer(app, "1.1a", "甲的回答")
    await storage.snapshot(app)
    gone = await storage.find_applicant("test", "甲")
    assert gone is not None
    await storage.delete_applicant(gone.id, {"text": "已删除"})
    assert all("甲的回答" not in kept.answers.values() for kept in storage._kept.values())


async def test_the_write_ahead_log_is_copied_into_the_database_and_stays_small(storage, db_path: Path) -> None:
    """Long answers rewritten again and again: the -wal file is checkpointed on aiosqlite's thread as
    it passes SQLite's usual size, and cut back, instead of growing with every rewrite."""
    app = await new_application(storage, "甲")
    wal = db_path.with_name(db_path.name + "-wal")

    def sizes() -> tuple[int, int]:
        return db_path.stat().st_size, wal.stat().st_size if wal.exists() else 0

    before, _ = await asyncio.to_thread(sizes)
    largest = 0
    for n in range(60):
        await storage.replace_answer(app, "1.1a", f"{n}" + "答" * 45_000)
        largest = max(largest, (await asyncio.to_thread(sizes))[1])
    await asyncio.sleep(0.2)  # the last checkpoint runs beside the bot
    after, _ = await asyncio.to_thread(sizes)
    assert after > before, "every write is still only in the -wal file"
    assert largest < 5 * CHECKPOINT_BYTES, f"the -wal file grew to {largest / 2**20:.0f} MB"
    assert await storage.answer(app, "1.1a") == "59" + "答" * 45_000


async def test_under_steady_answers_the_log_starts_again_and_quiet_writes_call_no_checkpoint(
        storage, db_path: Path, monkeypatch) -> None:
    app = await new_application(storage, "甲")
    wal = db_path.with_name(db_path.name + "-wal")
    largest = 0
    for n in range(1200):  # answers coming all the time: no quiet moment for a checkpoint to catch up
        await storage.append_answer(app, f"q{n % 39}", f"第{n}段：2024年合格率98.{n % 10}%。" * 8)
        if n % 50 == 0:
            largest = max(largest, (await asyncio.to_thread(wal.stat)).st_size)
    assert largest < 3 * CHECKPOINT_BYTES, f"the -wal file grew to {largest / 2**20:.0f} MB"
    checkpoints = 0
    copy = storage._copy_log

    async def counted() -> None:
        nonlocal checkpoints
        checkpoints += 1
        await copy()

    monkeypatch.setattr(storage, "_copy_log", counted)
    for _ in range(160):  # quiet: one small write at a time
        await storage.mark_blocked("test", "甲")
    assert checkpoints <= 1


async def test_a_statement_waiting_on_the_disk_lets_the_bot_go_on(storage) -> None:
    """As a cold cache or a slow disk would (here SQLite calls a function that waits): stopped by
    the clock and run on aiosqlite's thread, every time, since waiting is no sign of a long query."""
    storage._fast._db.create_function("wait_a_little", 0, lambda: time.sleep(0.002))
    waiting = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150) "
               "SELECT SUM(wait_a_little() IS NULL) AS c FROM n")
    # aiosqlite's connection has the function too, where the statement goes on.
    await storage._conn.create_function("wait_a_little", 0, lambda: time.sleep(0.002))
    for _ in range(4):
        rows, longest = await longest_pause(storage.fetchall(waiting))
        assert rows[0]["c"] == 150
        assert longest < 0.15, f"the event loop stood still {longest * 1000:.0f} ms"
    assert not storage._fast._overruns


async def test_work_left_for_later_runs_after_the_reply_and_before_the_applicants_next_message() -> None:
    lanes = Lanes()
    seen: list[str] = []

    async def message(name: str) -> str:
        async def afterwards() -> None:
            await asyncio.sleep(0.01)
            seen.append(f"{name}: advice queued")

        await later.later(afterwards)
        seen.append(f"{name}: reply sent")
        return name

    first = asyncio.create_task(lanes.run("甲", message("1")))
    second = asyncio.create_task(lanes.run("甲", message("2")))
    assert await first == "1" and await second == "2"
    assert seen == ["1: reply sent", "1: advice queued", "2: reply sent", "2: advice queued"]


async def test_work_left_for_later_without_a_lane_runs_at_once() -> None:
    seen: list[str] = []

    async def afterwards() -> None:
        seen.append("done")

    await later.later(afterwards)
    assert seen == ["done"]


@pytest.mark.parametrize("fails", [True, False])
async def test_later_work_that_fails_is_logged_and_the_lane_goes_on(fails: bool, caplog) -> None:
    lanes = Lanes()

    async def afterwards() -> None:
        if fails:
            raise RuntimeError("boom")

    async def message() -> str:
        await later.later(afterwards)
        return "回复"

    assert await lanes.run("甲", message()) == "回复"
    assert await lanes.run("甲", message()) == "回复"
    assert any("after a reply" in r.message for r in caplog.records) == fails
