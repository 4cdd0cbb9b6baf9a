"""The desk's overview (/office) with 2,000 applicants: the first view and repeated ones.

    .venv/bin/python benchmarks/desk_table.py              # 2,000 applicants
    .venv/bin/python benchmarks/desk_table.py --count 500

A temporary database gets N applicants (written with sqlite3 in one transaction, as Storage
would have written them: answer, segment, 'append' revision), on three channels, in every state,
started and submitted over the last 50 days, each with between 0 and 39 answers from the example.
The desk is served in this process (aiohttp's TestServer) and read over HTTP as a browser would.

First view: the evidence warnings of every application are worked out (the cache is empty).
Repeated views: nothing changed, or one applicant changed one answer (one application checked
again). Prints times; writes nothing. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from _common import create_database, sample
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from bot.criteria import load_criteria
from bot.flows.dispatch import Dispatcher
from bot.flows.interview import Interview
from bot.reminders import ReminderPolicy
from bot.storage import Storage
from bot.web.app import WebSettings, build_app
from bot.web.office import OfficeSettings
from bot.web.office_store import OfficeStore
from bot.web.store import Who

CHANNELS = ("telegram", "web", "console")
UNITS = ("连云港某某精密机械有限公司", "开发区质量技术服务中心", "江苏某某新材料股份有限公司", "某某医药集团")
VIEWS = [
    ("default (last active)", "/office"),
    ("sort by 证据提示", "/office?sort=warnings"),
    ("sort by name, page 20", "/office?sort=name&dir=asc&page=19"),
    ("filter 填写中 + web", "/office?state=open&channel=web"),
    ("filter 已退回", "/office?state=returned"),
    ("filter 长期未活动, sort 已答", "/office?state=idle&sort=answered"),
    ("search 精密", "/office?q=%E7%B2%BE%E5%AF%86"),
]


def seed(path: Path, count: int, criteria_id: str, version: int, question_ids: list[str],
         answers: dict[str, str]) -> None:
    rng = random.Random(14)
    now = datetime.now(UTC)
    conn = sqlite3.connect(path)
    try:
        conn.execute("BEGIN")
        for n in range(count):
            started = now - timedelta(days=rng.uniform(0, 50))
            active = started + (now - started) * rng.random()
            answered = rng.choice([0, 3, 12, 25, 39, 39])
            submitted = active if answered == 39 and rng.random() < 0.6 else None
            stamp = started.isoformat(timespec="seconds")
            cursor = conn.execute(
                "INSERT INTO applicants (channel, external_id, display_name, created_at, last_active_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (CHANNELS[n % 3], f"bench{n}", f"申报人{n}", stamp, active.isoformat(timespec="seconds")))
            cursor = conn.execute(
                "INSERT INTO applications (applicant_id, criteria_id, criteria_version, status, step, mode, "
                "consent_at, submitted_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'q:1.1a', '', ?, ?, ?, ?)",
                (cursor.lastrowid, criteria_id, version, "submitted" if submitted else "active", stamp,
                 submitted.isoformat(timespec="seconds") if submitted else None, stamp, stamp))
            app = cursor.lastrowid
            conn.executemany(
                "INSERT INTO profile_values (application_id, field, value, updated_at) VALUES (?, ?, ?, ?)",
                [(app, "name", f"申报人{n:04d}", stamp), (app, "unit", UNITS[n % len(UNITS)], stamp)])
            mine = {q: answers.get(q, "") + f"（{n}）" for q in question_ids[:answered]}
            conn.executemany("INSERT INTO answers (application_id, question_id, text, updated_at) VALUES (?, ?, ?, ?)",
                             [(app, q, t, stamp) for q, t in mine.items()])
            conn.executemany("INSERT INTO answer_segments (application_id, question_id, position, text) "
                             "VALUES (?, ?, 0, ?)", [(app, q, t) for q, t in mine.items()])
            conn.executemany("INSERT INTO answer_revisions (application_id, question_id, text, action, created_at) "
                             "VALUES (?, ?, ?, 'append', ?)", [(app, q, t, stamp) for q, t in mine.items()])
            if not submitted and answered and rng.random() < 0.1:
                conn.execute("INSERT INTO returns (application_id, coordinator_channel, coordinator_id, returned_at) "
                             "VALUES (?, 'telegram', '9000', ?)", (app, stamp))
        conn.execute("COMMIT")
    finally:
        conn.close()


async def timed(session: ClientSession, url: str) -> float:
    began = time.perf_counter()
    response = await session.get(url)
    await response.read()
    assert response.status == 200, (url, response.status)
    return time.perf_counter() - began


async def main(count: int, repeats: int) -> None:
    criteria = load_criteria()
    example = sample()["answers"]
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "award.db"
        await create_database(db)
        began = time.perf_counter()
        seed(db, count, criteria.id, criteria.version, [q.id for q in criteria.questions], example)
        print(f"seeded {count} applicants in {time.perf_counter() - began:.1f} s")
        storage = await Storage.open(db)
        interview = Interview(storage, criteria, data_dir=Path(folder) / "files")
        policy = ReminderPolicy(ZoneInfo("Asia/Shanghai"))
        app = build_app(Dispatcher(interview.handle).handle, storage, criteria, WebSettings(),
                        OfficeSettings(frozenset({("telegram", "9000")}), policy))
        server = TestServer(app)
        await server.start_server()
        try:
            link = await OfficeStore(storage).new_link(Who("telegram", "9000"))
            async with ClientSession(base_url=str(server.make_url("")).rstrip("/"),
                                     cookie_jar=CookieJar(unsafe=True)) as session:
                await session.get(f"/office/in/{link}", allow_redirects=False)
                first = await timed(session, "/office")
                print(f"first view (evidence of all {count} worked out): {first * 1000:.0f} ms")
                print(f"{'view':34} {'median ms':>10} {'max ms':>8}")
                for name, url in VIEWS:
                    times = [await timed(session, url) for _ in range(repeats)]
                    print(f"{name:34} {statistics.median(times) * 1000:10.1f} {max(times) * 1000:8.1f}")
                # One applicant changes one answer: only that application is checked again.
                app_id = (await storage.fetchone("SELECT id FROM applications ORDER BY id LIMIT 1"))[0]
                times = []
                for n in range(repeats):
                    changed = f"改过的回答 {n}：2023年起每月复盘，闭环率由85%提升至98%。"
                    await storage.replace_answer(app_id, "1.1a", changed)
                    times.append(await timed(session, "/office?sort=warnings"))
                print(f"{'after one answer changed':34} {statistics.median(times) * 1000:10.1f} "
                      f"{max(times) * 1000:8.1f}")
        finally:
            await server.close()
            await storage.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=10)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.count, arguments.repeats))
