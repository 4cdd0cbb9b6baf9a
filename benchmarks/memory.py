"""Peak memory (RSS) of the running bot: 1,000 complete applications stored, 100 applicants talking.

    .venv/bin/python benchmarks/memory.py                 # about 2 minutes
    .venv/bin/python benchmarks/memory.py --stored 5000 --talking 200

The bot runs in a process of its own, as `award-bot run` runs it (bot.cli_start.serve, PDFs off,
polling the tests' local Bot API server on 127.0.0.1), so its memory is its own. Measured:

  empty        the bot started on an empty database, idle (the reminder planner has run once)
  stored       the bot started on a database with --stored applications, each with the full
               申报表 and all 39 answers of examples/answers.sample.json (15,978 字), idle
  talking      then --talking of those applicants at once, each in a closed loop (next message when
               the whole reply to the last one is in): /start, /progress, /review (every answer in
               full), an answer, /next, /draft (a 申报书 rendered and uploaded), /mydata; and the
               award office: /admin, /list all. How many messages each reply has is learnt first
               from one other applicant alone.
  answering    then --answering other applicants answer at a human pace (one message a second
               each: an answer, /next, …), their reply times noted
  export       then the award office's /export (a ZIP of everyone's latest 申报书 and the 汇总.xlsx
               with one row per applicant) while those applicants go on answering: its memory, how
               long it takes, and their reply times meanwhile

RSS is read from /proc/PID/status while it runs (VmRSS, and VmHWM, the kernel's peak); the
bot's own resource.getrusage(RUSAGE_SELF).ru_maxrss at exit is the final peak.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    COORDINATOR_ID,
    TOKEN,
    BotProcess,
    create_database,
    latency_summary,
    proc_memory_mb,
    rel,
    sample,
    seed_applicants,
    table,
    write_results,
)
from _server import BenchTelegram, converse

FIRST_ID = 300_000


class Watcher:
    """Samples the bot's RSS every 50 ms; remembers the highest seen per phase."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            rss = proc_memory_mb(self.pid).get("VmRSS")
            if rss is not None:
                self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss)
            await asyncio.sleep(0.05)

    def now(self) -> dict[str, float]:
        return proc_memory_mb(self.pid)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def settle(server: BenchTelegram, chat: int, before: int, quiet: float, limit: float) -> int:
    """Wait until the bot has answered the chat and then said nothing more for `quiet` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        log = server.chats.get(chat)
        if log is not None and log.count > before and time.perf_counter() - log.last >= quiet:
            return log.count - before
        await asyncio.sleep(0.02)
    raise TimeoutError(f"no reply to {chat}")


async def calibrate(server: BenchTelegram, user: int, steps: list[str], quiet: float) -> list[int]:
    """How many messages each step's reply has, found by one chat alone (it waits for quiet)."""
    counts = []
    for message in steps:
        before = server.chats[user].count if user in server.chats else 0
        server.send_text(user, message, f"申报人{user - FIRST_ID}")
        counts.append(await settle(server, user, before, quiet, 300))
    return counts


async def start_bot(workdir: Path, db: Path, label: str) -> tuple[BenchTelegram, BotProcess, Watcher]:
    server = BenchTelegram(TOKEN)
    await server.start()
    bot = BotProcess("ours", f"http://127.0.0.1:{server.port}", workdir, db=db, label=label)
    try:
        await asyncio.wait_for(server.ready.wait(), 60)
    except TimeoutError:
        raise RuntimeError(f"the bot did not start:\n{bot.log_tail()}") from None
    return server, bot, Watcher(bot.pid)


async def main(args: argparse.Namespace) -> int:
    data = sample()
    profile = {k: v for k, v in data["profile"].items() if k != "name"}
    answers = data["answers"]
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as name:
        workdir = Path(tempfile.mkdtemp(prefix="bench-memory-keep-")) if args.keep else Path(name)
        if args.keep:
            print(f"work folder (kept): {workdir}")

        print("… empty database, idle", flush=True)
        empty_db = workdir / "empty.db"
        await create_database(empty_db)
        server, bot, watcher = await start_bot(workdir, empty_db, "empty")
        await asyncio.sleep(args.idle)
        result["empty_idle"] = watcher.now()
        await watcher.stop()
        result["empty_report"] = await asyncio.to_thread(bot.stop)
        await server.stop()

        print(f"… {args.stored} complete applications stored", flush=True)
        db = workdir / "award.db"
        await create_database(db)
        started = time.perf_counter()
        users = seed_applicants(db, args.stored, first_id=FIRST_ID, profile=profile, answers=answers)
        result["seed_s"] = round(time.perf_counter() - started, 1)
        result["database_mb"] = round(sum(p.stat().st_size for p in workdir.glob("award.db*")) / 1024 / 1024, 1)
        server, bot, watcher = await start_bot(workdir, db, "stored")
        try:
            await asyncio.sleep(args.idle)
            result["stored_idle"] = watcher.now()

            # Every stored applicant has the same answers, so every reply has the same number of
            # messages: learnt from one applicant alone (not one of the talking ones), then expected.
            steps = ["/start", "/progress", "/review", "2025年本人牵头的改进项目使一次交检合格率再提升0.4个百分点。",
                     "/next", "/draft", "/mydata"]
            office = ["/admin", "/list all"]
            counts = await calibrate(server, users[-1], steps, args.quiet)
            office_counts = await calibrate(server, COORDINATOR_ID, office, args.quiet)
            result["reply_messages_per_step"] = dict(zip(steps, counts, strict=True)) | dict(
                zip(office, office_counts, strict=True))
            result["after_calibration"] = watcher.now()

            talking = users[:args.talking]
            result["talking_rounds"] = []
            for round_number in range(1, args.rounds + 1):
                print(f"… {args.talking} applicants talking at once, and the award office"
                      + (f" (round {round_number})" if args.rounds > 1 else ""), flush=True)
                watcher.phase = "talking" if round_number == 1 else f"talking {round_number}"
                started = time.perf_counter()
                received = await asyncio.gather(*[converse(server, user, steps, counts) for user in talking],
                                                converse(server, COORDINATOR_ID, office, office_counts))
                result["talking_rounds"].append({
                    "seconds": round(time.perf_counter() - started, 1), "messages_received": sum(received[:-1]),
                    "after": watcher.now()})
            result["talking_s"] = result["talking_rounds"][0]["seconds"]
            result["talking_messages_received"] = result["talking_rounds"][0]["messages_received"]
            result["talking_documents_received"] = sum(server.chats[u].documents for u in talking)
            result["after_talking"] = watcher.now()

            # A few applicants keep answering at a human pace (one message a second each): their
            # reply times, first without and then during the export, show what an export costs them.
            answering = users[args.talking:args.talking + args.answering]
            loop_steps, loop_counts = ["补充：2025年本人牵头完成改进项目3项。", "/next"], [1, 1]
            print(f"… {len(answering)} applicants answering at one message a second, for {args.idle * 2:.0f} s",
                  flush=True)
            watcher.phase = "answering"
            quiet_latencies: list[float] = []
            stop = asyncio.Event()
            loops = [asyncio.create_task(converse(server, user, loop_steps, loop_counts, 1.0, stop, quiet_latencies))
                     for user in answering]
            await asyncio.sleep(args.idle * 2)
            stop.set()
            await asyncio.gather(*loops)

            print("… the award office's /export, while they go on answering", flush=True)
            watcher.phase = "export"
            export_latencies: list[float] = []
            stop = asyncio.Event()
            loops = [asyncio.create_task(converse(server, user, loop_steps, loop_counts, 1.0, stop, export_latencies))
                     for user in answering]
            started = time.perf_counter()
            expectation = server.expect(COORDINATOR_ID, 1)  # the ZIP, its line as the caption
            server.send_text(COORDINATOR_ID, "/export", "办公室")
            await asyncio.wait_for(expectation.future, 600)
            result["export_s"] = round(time.perf_counter() - started, 1)
            stop.set()
            await asyncio.gather(*loops)
            result["export_document_received"] = server.chats[COORDINATOR_ID].documents == 1
            result["after_export"] = watcher.now()
            result["answering_latency_without_export"] = latency_summary(quiet_latencies)
            result["answering_latency_during_export"] = latency_summary(export_latencies)
        finally:
            await watcher.stop()
            result["stored_report"] = await asyncio.to_thread(bot.stop)
            await server.stop()
        result["peaks_by_phase_mb"] = watcher.peaks

    empty, stored = result["empty_idle"], result["stored_idle"]
    peaks = result["peaks_by_phase_mb"]
    rows = [
        ["empty database, idle", empty.get("VmRSS"), empty.get("VmHWM")],
        [f"{args.stored} stored, idle", stored.get("VmRSS"), stored.get("VmHWM")],
        *[[f"+ {args.talking} talking (+ office)" + (f", round {n}" if n > 1 else ""), r["after"].get("VmRSS"),
           peaks.get("talking" if n == 1 else f"talking {n}")] for n, r in enumerate(result["talking_rounds"], 1)],
        [f"{args.answering} answering once a second", None, peaks.get("answering")],
        ["+ office /export", result["after_export"].get("VmRSS"), peaks.get("export")],
        ["peak of the whole run (ru_maxrss)", None, result["stored_report"].get("peak_rss_mb")],
    ]
    print()
    print(table(["state", "RSS MB", "peak MB"], rows))
    print(f"\ndatabase {result['database_mb']} MB; {result['talking_messages_received']} messages "
          f"(documents: {result['talking_documents_received']} over all rounds) to the talking applicants in "
          f"{result['talking_s']} s; export {result['export_s']} s")
    before, during = result["answering_latency_without_export"], result["answering_latency_during_export"]
    print(f"reply time of {args.answering} applicants answering once a second: p50 {before['p50_ms']} ms, "
          f"p99 {before['p99_ms']} ms; during the export p50 {during['p50_ms']} ms, p99 {during['p99_ms']} ms, "
          f"max {during['max_ms']} ms")
    result["peak_rss_mb"] = result["stored_report"].get("peak_rss_mb")
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    path = write_results("memory", {"settings": settings, **result}, args.output)
    print(f"written: {rel(path)}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stored", type=int, default=1000, help="complete applications in the database (default 1000)")
    parser.add_argument("--talking", type=int, default=100, help="applicants talking at once (default 100)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="times the talking applicants go through their messages (2: does memory keep growing?)")
    parser.add_argument("--answering", type=int, default=10,
                        help="applicants answering once a second before and during the export (default 10)")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before reading the idle RSS")
    parser.add_argument("--quiet", type=float, default=0.3,
                        help="a reply is complete when the bot has been quiet this long towards the chat")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (database, bot logs)")
    parser.add_argument("--output", type=Path, default=None,
                        help="results file (default benchmarks/results/memory.json)")
    args = parser.parse_args()
    if args.talking + args.answering >= args.stored:
        parser.error("--talking + --answering must be fewer than --stored")
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
