"""How many storage calls (reads and writes) the interview makes per applicant event.

Statements are counted as SQLite runs them, on either connection (bot/storage/fast.py): most run
on the event loop's own thread now, so a statement no longer costs a trip to aiosqlite's.

Prints the count per kind of event: a typed answer (first part and a second part), a 下一题
tap, /progress, a 申报表 field. Run: .venv/bin/python benchmarks/storage_calls.py
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.criteria import load_criteria
from bot.flows.events import ButtonPress, Command, Sender, Text
from bot.flows.interview import Interview
from bot.storage import Storage

ROOT = Path(__file__).resolve().parent.parent


class Counting:
    """Counts the Storage methods called (public ones) and the SQL statements they run."""

    def __init__(self, storage: Storage) -> None:
        self.calls: Counter[str] = Counter()
        self.statements = 0
        for name, method in inspect.getmembers(storage, inspect.iscoroutinefunction):
            if name.startswith("_") or name in ("close",):
                continue
            setattr(storage, name, self._wrap(name, method))

    async def watch(self, storage: Storage) -> None:
        """Count the statements SQLite runs on both connections (the event loop's and aiosqlite's),
        not those a trigger runs inside them."""
        await storage._conn.set_trace_callback(self._statement)
        if storage._fast is not None:
            storage._fast._db.set_trace_callback(self._statement)

    def _statement(self, sql: str) -> None:
        if not sql.startswith("--"):
            self.statements += 1

    def _wrap(self, name, method):
        async def counted(*args, **kwargs):
            self.calls[name] += 1
            return await method(*args, **kwargs)
        return counted


async def main() -> None:
    criteria = load_criteria(ROOT / "criteria" / "lyg-etdz-individual.yaml")
    with tempfile.TemporaryDirectory() as folder:
        storage = await Storage.open(Path(folder) / "bench.db")
        interview = Interview(storage, criteria, data_dir=Path(folder) / "files")
        me = Sender("console", "bench", "测试")
        await interview.handle(ButtonPress(me, "consent:yes"))
        counter = Counting(storage)
        await counter.watch(storage)
        question = criteria.questions[0].id
        cases = [
            ("jump to a question (/jump)", Command(me, "jump", question)),
            ("typed answer, first part", Text(me, "第一段回答：2023年合格率98%。", "m1")),
            ("typed answer, second part", Text(me, "第二段：2024年提高到99%。", "m2")),
            ("下一题 tap", ButtonPress(me, f"nx:{question}")),
            ("/progress", Command(me, "progress", "")),
            ("/back", Command(me, "back", "")),
        ]
        print(f"{'event':32} calls  SQL  (storage methods called)")
        for label, event in cases:
            counter.calls.clear()
            counter.statements = 0
            await interview.handle(event)
            detail = ", ".join(f"{name}×{n}" for name, n in sorted(counter.calls.items()))
            print(f"{label:32} {sum(counter.calls.values()):5} {counter.statements:4}  ({detail})")
        await storage.close()


if __name__ == "__main__":
    asyncio.run(main())
