"""Applicants answering at once through the real Telegram Application, against a minimal echo bot.

    .venv/bin/python benchmarks/interview_load.py                     # 100 applicants (about 2 minutes)
    .venv/bin/python benchmarks/interview_load.py --applicants 1000   # about 8 minutes

N simulated applicants talk to the bot through the local Bot API server of the tests
(tests/fake_telegram.py, on 127.0.0.1). The bot runs in a process of its own, exactly as
`award-bot run` runs it (bot.cli_start.serve: Router with the interview and the award office, the
outbox sender, PDFs off, a temporary database), polling the server with poll_interval=0.
The server and the applicants share the other process, so the two cores are split between
the bot and everything around it.

Closed loop: each applicant sends its next message only when the whole reply to the previous
one has reached the server. By default the applicants have consented already and stand on
question 1.1a (seeded in the database); each then answers the question (a realistic answer
from examples/answers.sample.json, about 410 characters) and sends /next, question after
question (/jump 1.1a after the last). --from-start begins with /start and the consent button
instead. Every step has a reply of exactly one message (two for consent and the first jump).

Latency: from the applicant's message entering the server's update queue to the reply's
last sendMessage reaching the server. Round trips per second: replies completed in the
measuring window. The window opens when every applicant has had a first reply (and the
warm-up time has passed) and lasts --duration seconds, longer if fewer than --min-samples
round trips were done by then.

The same run measures a minimal python-telegram-bot echo bot (Application + MessageHandler
replying the text, PTB's defaults) with the same N and the same messages, and one applicant alone
(N=1) for both, pausing 50 ms after each reply (--single-think).

Targets (issue #18), with pacing off as a deployment switches it off (AWARD_SEND_RATE=unlimited,
ours-nolimit): throughput >= 0.9 x the echo bot's, p99 <= 1.2 x the echo bot's at the same load,
a lone applicant's reply p99 <= 1.2 x the echo bot's; every answer is committed before its reply
as always. Diagnostics (--no-diagnostics skips them): the bot as shipped, paced to Telegram's
30/s (ours), against the echo bot under the same limiter (echo-limited); and the echo bot on our
HTTP requests (echo-aiohttp, bot/telegram_http.py), which shows the bot's own cost above the
framework as it runs here, since the echo bot with PTB's defaults pays for httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    TOKEN,
    BotProcess,
    create_database,
    latency_summary,
    proc_cpu_seconds,
    rel,
    sample,
    seed_applicants,
    table,
    write_results,
)
from _server import BenchTelegram

FIRST_ID = 100_000


@dataclass
class Step:
    label: str
    push: Callable[[BenchTelegram, int], Any]
    replies: int


def text(message: str) -> Callable[[BenchTelegram, int], Any]:
    return lambda server, user: server.send_text(user, message, f"申报人{user - FIRST_ID}")


def press(data: str) -> Callable[[BenchTelegram, int], Any]:
    return lambda server, user: server.press_data(user, data, f"申报人{user - FIRST_ID}")


async def reply_counts(answers: dict[str, str], profile: dict[str, str]) -> list[list[int]]:
    """How many Telegram messages our bot sends for each step of the first lap and of the later ones
    (its advice on a weak answer comes once, an extra message), read off the interview itself in
    this process for an applicant seeded as the benchmark's are: the waiting applicant must count
    exactly, or a late message would end the next step's wait early."""
    from bot.criteria import load_criteria
    from bot.flows.events import Command, Sender, Text
    from bot.flows.interview import Interview
    from bot.storage import Storage
    from bot.telegram_limits import pack, split_text

    laps: list[list[int]] = []
    with tempfile.TemporaryDirectory(prefix="bench-counts-") as folder:
        db = Path(folder) / "counts.db"
        await create_database(db)
        seed_applicants(db, 1, first_id=FIRST_ID, profile=profile)
        storage = await Storage.open(db)
        interview = Interview(storage, load_criteria(), data_dir=Path(folder) / "files")
        me = Sender("telegram", str(FIRST_ID), "申报人0")
        for lap in range(2):
            counts = []
            for n, question in enumerate(answers):
                for event in (Text(me, answers[question], f"{lap}-{n}"), Command(me, "next", "")):
                    counts.append(sum(len(split_text(r.text)) or 1 for r in pack(await interview.handle(event))))
            counts.append(len(pack(await interview.handle(Command(me, "jump", "1.1a")))))
            laps.append(counts)
        await storage.close()
    return laps


def script(kind: str, answers: dict[str, str], from_start: bool, counts: list[list[int]]) -> Iterator[Step]:
    """What one applicant sends, with how many messages the reply has (always 1 for the echo bot)."""
    ours = kind.startswith("ours")
    questions = list(answers)
    if from_start:
        yield Step("start", text("/start"), 1)
        yield Step("consent", press("consent:yes") if ours else text("同意并开始"), 2 if ours else 1)
        # From the 申报表 to the first question: a note that the 自评报告 begins, then the question.
        yield Step("jump", text("/jump 1.1a"), 2 if ours else 1)
    for lap in itertools.count():
        expected = iter(counts[min(lap, 1)] if ours else itertools.repeat(1))
        for question in questions:
            yield Step("answer", text(answers[question]), next(expected))
            yield Step("next", text("/next"), next(expected))
        yield Step("jump", text("/jump 1.1a"), next(expected))


@dataclass
class Sample:
    label: str
    pushed: float
    first: float
    last: float


async def measure(kind: str, applicants: int, args: argparse.Namespace, workdir: Path,
                  answers: dict[str, str], profile: dict[str, str], counts: list[list[int]]) -> dict[str, Any]:
    server = BenchTelegram(TOKEN)
    await server.start()
    label = f"{kind}-{applicants}-{round(args.think * 1000)}ms"
    db = workdir / f"{label}.db"
    for old in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        old.unlink(missing_ok=True)
    if kind.startswith("ours"):
        await create_database(db)
        if not args.from_start:
            seed_applicants(db, applicants, first_id=FIRST_ID, profile=profile)
    profile_path = workdir / f"{label}.prof" if args.profile else None
    bot = BotProcess(kind, f"http://127.0.0.1:{server.port}", workdir, db=db, profile=profile_path, label=label)
    samples: list[Sample] = []
    done = [0] * applicants
    timeouts = 0
    stop = asyncio.Event()

    async def applicant(index: int) -> None:
        nonlocal timeouts
        user = FIRST_ID + index
        for step in script(kind, answers, args.from_start, counts):
            if stop.is_set():
                return
            expectation = server.expect(user, step.replies)
            pushed = time.perf_counter()
            step.push(server, user)
            try:
                await asyncio.wait_for(asyncio.shield(expectation.future), args.reply_timeout)
            except TimeoutError:
                timeouts += 1
                continue
            done[index] += 1
            assert expectation.first is not None and expectation.last is not None
            samples.append(Sample(step.label, pushed, expectation.first, expectation.last))
            if args.think:
                await asyncio.sleep(args.think)

    try:
        await asyncio.wait_for(server.ready.wait(), 60)
    except TimeoutError:
        raise RuntimeError(f"{kind} bot did not start polling:\n{bot.log_tail()}") from None
    started = time.perf_counter()
    tasks = [asyncio.create_task(applicant(n)) for n in range(applicants)]
    try:
        # Warm-up: every applicant has had a reply, and the warm-up time has passed.
        while min(done) < 1 or time.perf_counter() - started < args.warmup:
            if not bot.alive():
                raise RuntimeError(f"{kind} bot died:\n{bot.log_tail()}")
            if time.perf_counter() - started > args.max_duration:
                raise RuntimeError(f"{kind}: not every applicant had a reply after {args.max_duration} s")
            server.trim()
            await asyncio.sleep(0.05)
        window_start = time.perf_counter()
        cpu_start, own_cpu_start = proc_cpu_seconds(bot.pid), time.process_time()
        first_sample = len(samples)
        warmup_s = window_start - started
        while True:
            await asyncio.sleep(0.05)
            server.trim()
            elapsed = time.perf_counter() - window_start
            if elapsed >= args.duration and len(samples) - first_sample >= args.min_samples:
                break
            if elapsed >= args.max_duration:
                break
            if not bot.alive():
                raise RuntimeError(f"{kind} bot died:\n{bot.log_tail()}")
        window_end = time.perf_counter()
        cpu_end, own_cpu_end = proc_cpu_seconds(bot.pid), time.process_time()
        stop.set()
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        report = await asyncio.to_thread(bot.stop)  # the server must go on answering meanwhile
        await server.stop()
    window = [s for s in samples if window_start <= s.last <= window_end]
    length = window_end - window_start
    full = [s.last - s.pushed for s in window]
    first = [s.first - s.pushed for s in window]
    per_label = {label: latency_summary([s.last - s.pushed for s in window if s.label == label])
                 for label in sorted({s.label for s in window})}
    bot_cpu = (cpu_end - cpu_start) if cpu_start is not None and cpu_end is not None else None
    result = {
        "bot": kind,
        "applicants": applicants,
        "think_ms": round(args.think * 1000),
        "warmup_s": round(warmup_s, 1),
        "window_s": round(length, 1),
        "round_trips": len(window),
        "round_trips_per_s": round(len(window) / length, 1),
        "latency": latency_summary(full),
        "latency_first_message": latency_summary(first),
        "latency_by_step": per_label,
        "timeouts": timeouts,
        "bot_cpu_s": round(bot_cpu, 2) if bot_cpu is not None else None,
        "bot_cpu_share": round(bot_cpu / length, 2) if bot_cpu is not None else None,
        "bot_cpu_ms_per_round_trip": round(bot_cpu / len(window) * 1000, 2) if bot_cpu and window else None,
        "server_process_cpu_share": round((own_cpu_end - own_cpu_start) / length, 2),
        "server": server.stats(),
        "bot_process": report,
    }
    if profile_path:
        result["profile"] = rel(profile_path)
    return result


def row(result: dict[str, Any]) -> list[Any]:
    latency = result["latency"]
    return [result["bot"], result["applicants"], result["think_ms"], result["round_trips_per_s"], latency["p50_ms"],
            latency["p95_ms"], latency["p99_ms"], result["round_trips"], result["bot_cpu_share"],
            result["bot_cpu_ms_per_round_trip"], result["timeouts"]]


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


async def main(args: argparse.Namespace) -> int:
    data = sample()
    answers, profile = data["answers"], {k: v for k, v in data["profile"].items() if k != "name"}
    n = args.applicants
    counts = await reply_counts(answers, profile)
    # (bot, applicants, pause between a reply and the next message)
    plan = [("ours-nolimit", n, args.think), ("echo", n, args.think),
            ("ours-nolimit", 1, args.single_think), ("echo", 1, args.single_think)]
    if args.diagnostics:
        plan += [("echo-aiohttp", n, args.think), ("echo-aiohttp", 1, args.single_think),
                 ("ours", n, args.think), ("echo-limited", n, args.think)]
    if args.only:
        plan = [entry for entry in plan if entry[0] in args.only]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-interview-") as folder:
        workdir = Path(folder) if not args.keep else Path(tempfile.mkdtemp(prefix="bench-interview-keep-"))
        for kind, count, think in plan:
            run_args = argparse.Namespace(**vars(args))
            run_args.think = think
            if count == 1:
                run_args.warmup, run_args.duration = 1.0, args.single_duration
                run_args.min_samples = args.single_samples
            print(f"… {kind}, {count} applicant{'s' if count > 1 else ''}, {think * 1000:.0f} ms between messages",
                  flush=True)
            result = await measure(kind, count, run_args, workdir, answers, profile, counts)
            results.append(result)
            print(f"  {result['round_trips_per_s']} round trips/s, p99 {result['latency']['p99_ms']} ms "
                  f"({result['round_trips']} in {result['window_s']} s after {result['warmup_s']} s warm-up)",
                  flush=True)
        if args.profile:
            print(f"cProfile stats kept in {workdir}" if args.keep else "(use --keep to keep the cProfile stats)")

    def find(kind: str, count: int, think: float | None = None) -> dict[str, Any] | None:
        think_ms = round((args.think if think is None else think) * 1000)
        return next((r for r in results if r["bot"] == kind and r["applicants"] == count
                     and r["think_ms"] == think_ms), None)

    print()
    print(table(["bot", "N", "pause ms", "round trips/s", "p50 ms", "p95 ms", "p99 ms", "samples", "bot CPU",
                 "CPU ms/rt", "timeouts"], [row(r) for r in results]))
    ours, echo, floor = find("ours-nolimit", n), find("echo", n), find("echo-aiohttp", n)
    ours1, echo1 = find("ours-nolimit", 1, args.single_think), find("echo", 1, args.single_think)
    floor1 = find("echo-aiohttp", 1, args.single_think)
    paced, limited = find("ours", n), find("echo-limited", n)

    def versus(a: dict[str, Any] | None, b: dict[str, Any] | None, name: str) -> None:
        if a and b:
            comparison[f"throughput_vs_{name}"] = ratio(a["round_trips_per_s"], b["round_trips_per_s"])
            comparison[f"p99_vs_{name}"] = ratio(a["latency"]["p99_ms"], b["latency"]["p99_ms"])

    comparison: dict[str, Any] = {}
    versus(ours, echo, "echo")
    versus(ours, floor, "echo_aiohttp")
    versus(paced, limited, "echo_limited")
    if ours1 and echo1:
        comparison["single_p99_vs_echo"] = ratio(ours1["latency"]["p99_ms"], echo1["latency"]["p99_ms"])
    if ours1 and floor1:
        comparison["single_p99_vs_echo_aiohttp"] = ratio(ours1["latency"]["p99_ms"], floor1["latency"]["p99_ms"])
    if ours1:
        comparison["single_applicant_p99_ms"] = ours1["latency"]["p99_ms"]
    targets = {
        "throughput >= 0.9 x echo (pacing off)": (comparison.get("throughput_vs_echo"), lambda v: v >= 0.9),
        "p99 <= 1.2 x echo (pacing off)": (comparison.get("p99_vs_echo"), lambda v: v <= 1.2),
        "single applicant p99 <= 1.2 x echo": (comparison.get("single_p99_vs_echo"), lambda v: v <= 1.2),
    }
    verdicts = {name: {"value": value, "met": check(value) if value is not None else None}
                for name, (value, check) in targets.items()}
    print()
    print(table(["target", "measured", "met"],
                [[name, v["value"], {True: "yes", False: "NO", None: "—"}[v["met"]]] for name, v in verdicts.items()]))
    extra = {k: v for k, v in comparison.items() if k.endswith(("echo_aiohttp", "echo_limited"))}
    if extra:
        print("also: " + ", ".join(f"{k} {v}" for k, v in extra.items()))
    path = write_results(args.name or "interview_load" + ("" if n == 100 else f"_{n}"), {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "results": results, "comparison": comparison, "targets": verdicts,
    }, args.output)
    print(f"\nwritten: {rel(path)}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--applicants", type=int, default=100, help="N applicants at once (default 100)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at least before measuring (default 5)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured at least (default 10)")
    parser.add_argument("--min-samples", type=int, default=None,
                        help="round trips measured at least (default 2 per applicant)")
    parser.add_argument("--max-duration", type=float, default=300.0, help="give up waiting after this (default 300)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds an applicant pauses after a reply before its next message (default 0)")
    parser.add_argument("--single-think", type=float, default=0.05,
                        help="the pause of the lone applicant of the single-applicant run (default 0.05: 20 "
                             "messages/s at most, under the bot's 30/s cap; a run without pause follows it)")
    parser.add_argument("--single-duration", type=float, default=3.0, help="seconds measured for N=1 (default 3)")
    parser.add_argument("--single-samples", type=int, default=400,
                        help="round trips measured for N=1 (default 400: the p99 is then the fifth slowest, "
                             "not the second)")
    parser.add_argument("--reply-timeout", type=float, default=180.0, help="seconds to wait for one reply")
    parser.add_argument("--from-start", action="store_true", help="begin with /start and consent, not on 1.1a")
    parser.add_argument("--no-diagnostics", dest="diagnostics", action="store_false",
                        help="skip echo-aiohttp, ours (paced) and echo-limited")
    parser.add_argument("--only", nargs="+", choices=["ours", "echo", "ours-nolimit", "echo-limited", "echo-aiohttp"],
                        help="run only these bots")
    parser.add_argument("--profile", action="store_true", help="cProfile each bot process (with --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (databases, logs, profiles)")
    parser.add_argument("--name", default=None, help="results file name (default interview_load[_N])")
    parser.add_argument("--output", type=Path, default=None, help="results file (default benchmarks/results/NAME.json)")
    args = parser.parse_args(argv)
    if args.min_samples is None:
        args.min_samples = 2 * args.applicants
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
