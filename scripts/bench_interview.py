"""Measure the interview core: N applicants complete the whole interview at once on one database.

Prints events per second and per-event latency (median, p95, max). Not a test: run it by hand,
    .venv/bin/python scripts/bench_interview.py --applicants 50
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bot.criteria import load_criteria
from bot.flows.dispatch import Dispatcher
from bot.flows.events import ButtonPress, Command, Event, Sender, Text
from bot.flows.interview import Interview
from bot.storage import Storage

PROFILE = ["张三", "pc:gender:0", "1985-06", "pc:political:0", "大学本科", "某公司", "经理", "工程师", "12",
           "13812345678", "a@example.com", "2010—2025 某公司", "keep:experience"]


async def one_applicant(dispatcher: Dispatcher, user: str, criteria, latencies: list[float]) -> None:
    sender = Sender("bench", user, user)
    events: list[Event] = [Command(sender, "start"), ButtonPress(sender, "consent:yes")]
    for value in PROFILE:
        events.append(ButtonPress(sender, value) if ":" in value and value[0].isalpha() and "@" not in value
                      else Text(sender, value))
    for question in criteria.questions:
        events.append(Text(sender, f"{question.id}：2023—2025年合格率由96.1%提升至99.2%，高于行业平均。" * 5))
        events.append(Command(sender, "next"))
    events += [Command(sender, "finish"), ButtonPress(sender, "fin:yes")]
    for event in events:
        started = time.perf_counter()
        await dispatcher.handle(event)
        latencies.append(time.perf_counter() - started)


async def main(applicants: int) -> None:
    criteria = load_criteria()
    with tempfile.TemporaryDirectory() as folder:
        storage = await Storage.open(Path(folder) / "bench.db")
        dispatcher = Dispatcher(Interview(storage, criteria).handle)
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(*[one_applicant(dispatcher, f"u{n}", criteria, latencies) for n in range(applicants)])
        elapsed = time.perf_counter() - started
        submitted = await storage._fetchone("SELECT COUNT(*) FROM applications WHERE status = 'submitted'")
        await storage.close()
    latencies.sort()
    rate = len(latencies) / elapsed
    print(f"{applicants} applicants, {len(latencies)} events in {elapsed:.2f} s: {rate:.0f} events/s")
    print(f"latency per event: median {statistics.median(latencies) * 1000:.1f} ms, "
          f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    print(f"submitted: {submitted[0]}/{applicants}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applicants", type=int, default=50)
    asyncio.run(main(parser.parse_args().applicants))
