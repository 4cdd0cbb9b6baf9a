"""Applicants answering at once through the web channel (aiohttp), against a minimal aiohttp handler.

    .venv/bin/python benchmarks/web_load.py                    # 50 applicants, 10 answers each (about 10 s)
    .venv/bin/python benchmarks/web_load.py --applicants 1
    .venv/bin/python benchmarks/web_load.py --profile          # also cProfile the N-applicant run

The real web server runs in this process, as `award-bot web` runs it (bot.web.serve.start_site:
bot.cli_start.make_flows's Router with the interview and the award office, AWARD_PDF off, a temporary
SQLite database, no access log) on 127.0.0.1. Beside it, on another port, the floor: a minimal
aiohttp handler, a POST that reads a small JSON body and returns a small JSON.

Each applicant is a browser of its own (aiohttp ClientSession, its own cookie jar, unsafe=True to
keep cookies for 127.0.0.1): it registers (the start page's form), opens /chat (the CSRF token
from data-csrf), taps 同意并开始, sends /jump 1.1a, then answers M questions, each a POST
/api/send of a realistic answer (the first ~150 characters of examples/answers.sample.json's)
followed by a POST /api/send of /next. Each comes from an address of its own (X-Forwarded-For,
as behind the README's reverse proxy), so the sign-in limit per address is the real one.

Pacing: the server lets a person send 10 messages at once, then 1 a second (bot/web/guard.py).
A closed loop of simulated applicants, answering the moment a reply arrives, would measure only
that pace; the web Site is therefore given a relaxed message bucket (still taken on every
request, so its cost is counted). The output says so.

Closed loop: each applicant sends its next message when the reply to the previous one has been
read whole. Everyone's setup is done (and one warm-up applicant has gone through the whole
script) before the measured phase starts for all at once; it ends when the last applicant has
had its last reply. The floor's applicants send the same bodies the same way, repeating them for
at least --floor-seconds (its N x 2M requests alone would be over in a tenth of a second). The
lone applicant answers --lone-answers questions (default 100: 200 replies for a p99 worth the
name). Servers and browsers share one process and one event loop.

Measured: round trips per second over the phase; the latency of each reply (the POST until its
JSON is read); CPU seconds per request (time.process_time over the phase, divided by requests:
the whole process, so the clients' own cost is in it, the same for the web and the floor; the
difference between the two is the web channel's own cost). Also the event-loop thread's share
of a core (time.thread_time): near 1.0 means the loop is saturated. Targets: at N applicants the
web channel does at least half the floor's round trips per second; a lone applicant's reply p99
under 30 ms.

--profile runs the N applicants once more under cProfile (the event-loop thread, the answering
phase only) and counts the SQL statements SQLite runs per request (sqlite3's trace callback).

Exits 0 whatever is measured (a measurement, not a test); --output writes the results as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import LOAD_AT_START, latency_summary, rel, sample, table, write_results
from aiohttp import ClientSession, ClientTimeout, CookieJar, web

ANSWER_CHARS = 150
LONE_TARGET_MS = 30.0
THROUGHPUT_TARGET = 0.5
RELAXED_BURST = 1e9  # the relaxed per-person message bucket: never empty during a run


@dataclass
class Outcome:
    """One measured phase: N applicants, each sending `requests` messages."""

    run: str  # "concurrent" or "lone"
    server: str
    applicants: int
    answers: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    cpu_s: float = 0.0
    loop_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def summary(self) -> dict[str, Any]:
        n = max(self.requests, 1)
        return {"run": self.run, "server": self.server, "applicants": self.applicants, "answers": self.answers,
                "requests": self.requests, "errors": self.errors, "seconds": round(self.seconds, 2),
                "round_trips_per_s": round(self.requests / self.seconds, 1) if self.seconds else None,
                "latency": latency_summary(self.latencies),
                "cpu_ms_per_request": round(self.cpu_s / n * 1000, 2),
                "process_cpu_share": round(self.cpu_s / self.seconds, 2) if self.seconds else None,
                "loop_cpu_share": round(self.loop_cpu_s / self.seconds, 2) if self.seconds else None}


# -- the servers -----------------------------------------------------------------------------

async def start_web(workdir: Path) -> tuple[web.AppRunner, Any, str]:
    """The real web channel, wired as `award-bot web` wires it; returns (runner, storage, base URL)."""
    from bot.cli_start import claim_files, make_flows
    from bot.config import Settings
    from bot.criteria import load_criteria
    from bot.storage import Storage
    from bot.web.app import SITE
    from bot.web.guard import Bucket
    from bot.web.serve import start_site

    # _env_file=None and every setting that matters given: neither a .env nor the environment counts.
    settings = Settings(_env_file=None, **{
        "AWARD_DB": str(workdir / "award.db"), "AWARD_DATA_DIR": str(workdir / "files"), "AWARD_PDF": False,
        "AWARD_COORDINATORS": "", "AWARD_DEADLINE": "", "AWARD_WEB_BASE_URL": "", "AWARD_WEB_REGISTRATION": True,
        "TELEGRAM_BOT_TOKEN": "", "AWARD_LOG_LEVEL": "WARNING"})
    criteria = load_criteria(settings.criteria)
    storage = await Storage.open(settings.db)
    await claim_files(settings, storage)
    router = make_flows(settings, storage, criteria)
    runner = await start_site(router, storage, criteria, settings, "127.0.0.1", 0)
    # The relaxed pace (see the module's docstring): the bucket is still consulted on every message.
    runner.app[SITE].messages = Bucket(burst=RELAXED_BURST, rate=RELAXED_BURST)
    return runner, storage, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def floor_handler(request: web.Request) -> web.Response:
    body = await request.json()
    text = str(body.get("text", "")) if isinstance(body, dict) else ""
    return web.json_response({"ok": True, "chars": len(text)})


async def start_floor() -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.add_routes([web.post("/api/send", floor_handler)])
    runner = web.AppRunner(app, access_log=None)  # as start_site: no access log
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


# -- the applicants --------------------------------------------------------------------------

class Browser:
    """One applicant's browser: its own cookies and address, the Origin a browser sends."""

    def __init__(self, base: str, number: int) -> None:
        self.origin = base
        address = f"10.{number // 62500 % 250 + 1}.{number // 250 % 250}.{number % 250 + 1}"
        self.client = ClientSession(base_url=base, cookie_jar=CookieJar(unsafe=True),
                                    headers={"X-Forwarded-For": address}, timeout=ClientTimeout(total=60))
        self.csrf = ""
        self.last = 0

    async def close(self) -> None:
        await self.client.close()

    async def send(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        headers = {"X-CSRF-Token": self.csrf, "Origin": self.origin}
        async with self.client.post(path, json={**body, "after": self.last}, headers=headers) as response:
            data = await response.json() if response.content_type == "application/json" else {}
            if data.get("messages"):
                self.last = data["messages"][-1]["id"]
            return response.status, data


async def sign_up(browser: Browser, name: str, times: dict[str, list[float]] | None = None) -> None:
    """Register, open the chat, consent and go to question 1.1a, as a person does in the browser."""
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        if times is not None:
            times.setdefault(step, []).append(now - clock)
        clock = now

    async with browser.client.get("/") as response:
        form = re.search(r'name="csrf" value="([0-9a-f]+)"', await response.text())
    if form is None:
        raise RuntimeError("no registration form on the start page")
    lap("GET /")
    async with browser.client.post("/register", data={"name": name, "unit": "连云港瀚海精密机械有限公司",
                                                      "csrf": form[1]}, headers={"Origin": browser.origin}) as response:
        if response.status != 200:
            raise RuntimeError(f"registration refused: {response.status} {await response.text()}")
        await response.read()
    lap("POST /register")
    async with browser.client.get("/chat") as response:
        page = await response.text()
        found = re.search(r'data-csrf="([0-9a-f]+)"', page)
        last = re.search(r'data-last="([0-9]+)"', page)
    if found is None:
        raise RuntimeError("no CSRF token on the chat page")
    browser.csrf, browser.last = found[1], int(last[1]) if last else 0
    lap("GET /chat")
    async with browser.client.get("/api/messages?after=0") as response:
        shown = await response.json()
    consent = next((b for m in shown["messages"] for row in m["buttons"] for b in row if "同意并开始" in b[0]), None)
    if consent is None:
        raise RuntimeError("no consent button in the welcome")
    lap("GET /api/messages")
    status, _ = await browser.send("/api/press", {"data": consent[1], "label": consent[0]})
    lap("POST /api/press consent")
    status2, _ = await browser.send("/api/send", {"text": "/jump 1.1a"})
    lap("POST /api/send /jump")
    if (status, status2) != (200, 200):
        raise RuntimeError(f"consent or /jump refused: {status} {status2}")


def messages_for(answers: list[str], count: int, questions: int) -> list[str]:
    """What one applicant sends: an answer and /next, `count` times (back to 1.1a after the last question)."""
    sent: list[str] = []
    for n in range(count):
        if n and n % questions == 0:
            sent.append("/jump 1.1a")
        sent += [answers[n % len(answers)], "/next"]
    return sent


async def answer_all(browsers: list[Browser], messages: list[str], outcome: Outcome, at_least: float,
                     profile: cProfile.Profile | None = None) -> None:
    """Everyone at once, each closed-loop; CPU and wall time over the whole phase.

    Each sends `messages`, then sends them again from the start until the phase has lasted
    `at_least` seconds (the floor's script alone would be over in a tenth of a second).
    """
    async def one(browser: Browser) -> None:
        sent = 0
        while sent < len(messages) or time.perf_counter() - started < at_least:
            text = messages[sent % len(messages)]
            sent += 1
            began = time.perf_counter()
            try:
                status, data = await browser.send("/api/send", {"text": text})
            except (TimeoutError, OSError, ValueError):
                status, data = 0, {}
            outcome.latencies.append(time.perf_counter() - began)
            if status != 200 or not data:
                outcome.errors += 1

    if profile is not None:
        profile.enable()
    cpu, loop_cpu, started = time.process_time(), time.thread_time(), time.perf_counter()
    await asyncio.gather(*(one(b) for b in browsers))
    if profile is not None:
        profile.disable()
    outcome.seconds = time.perf_counter() - started
    outcome.cpu_s, outcome.loop_cpu_s = time.process_time() - cpu, time.thread_time() - loop_cpu


async def run_phase(run: str, server: str, base: str, applicants: int, answers: int, texts: list[str], questions: int,
                    first: int, at_least: float = 0.0, setup_times: dict[str, list[float]] | None = None,
                    profile: cProfile.Profile | None = None, traced: SqlTrace | None = None) -> Outcome:
    outcome = Outcome(run, server, applicants, answers)
    browsers = [Browser(base, first + n) for n in range(applicants)]
    try:
        if server == "web":
            await asyncio.gather(*(sign_up(b, f"申报人{first + n}", setup_times) for n, b in enumerate(browsers)))
        else:
            # One unmeasured POST each, so every floor connection is open, as the web's are after sign-up.
            await asyncio.gather(*(b.send("/api/send", {"text": "你好"}) for b in browsers))
        if traced is not None:
            traced.on = True
        await answer_all(browsers, messages_for(texts, answers, questions), outcome, at_least, profile)
    finally:
        if traced is not None:
            traced.on = False
        await asyncio.gather(*(b.close() for b in browsers))
    return outcome


class SqlTrace:
    """Counts the SQL statements SQLite runs (sqlite3's trace callback, on aiosqlite's thread) while on."""

    def __init__(self) -> None:
        self.on = False
        self.statements: Counter[str] = Counter()

    def __call__(self, sql: str) -> None:
        if self.on:
            # SQLite hands over the statement with its values: without them, one line per statement.
            shape = re.sub(r"\b\d+(\.\d+)?\b", "?", re.sub(r"'(?:[^']|'')*'", "?", sql))
            self.statements[" ".join(shape.split())[:100]] += 1


# -- the report ------------------------------------------------------------------------------

def row(summary: dict[str, Any]) -> list[Any]:
    latency = summary["latency"]
    return [summary["run"], summary["server"], summary["applicants"], summary["requests"], summary["seconds"],
            summary["round_trips_per_s"], latency["p50_ms"], latency["p99_ms"], latency["max_ms"],
            summary["cpu_ms_per_request"], summary["process_cpu_share"], summary["loop_cpu_share"], summary["errors"]]


def where(filename: str, function: str) -> str:
    """The part of the program a profiled function belongs to."""
    if function == "<method 'poll' of 'select.epoll' objects>":
        return "idle: the loop waiting in epoll (for the network or SQLite's thread)"
    path = filename.replace("\\", "/")
    for marker, name in (("/bot/web/", "bot/web (the web channel)"), ("/bot/flows/", "bot/flows (the interview)"),
                         ("/bot/storage/", "bot/storage"), ("/bot/", "bot (other)"),
                         ("/benchmarks/", "benchmarks (the simulated browsers)"), ("/aiosqlite/", "aiosqlite"),
                         ("/aiohttp/", "aiohttp (server and client)"), ("/multidict/", "aiohttp (server and client)"),
                         ("/yarl/", "aiohttp (server and client)"), ("/jinja2/", "jinja2"),
                         ("/asyncio/", "asyncio"), ("/selectors.py", "asyncio"), ("/json/", "json")):
        if marker in path:
            return name
    if filename == "~":
        return {"put_nowait": "aiosqlite"}.get(function.split("'")[1] if "'" in function else "", "built-ins")
    return "other"


def profile_report(profile: cProfile.Profile, lines: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    # Where the event-loop thread's time went, by part of the program (self time, so nothing counts twice).
    parts: Counter[str] = Counter()
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        parts[where(filename, function)] += tottime
    total = sum(parts.values()) or 1.0
    grouped = table(["event-loop thread, self time by part", "seconds", "share"],
                    [[part, round(seconds, 3), f"{seconds / total:.0%}"] for part, seconds in parts.most_common()])
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(lines)
    # Only the interesting part: drop pstats's header lines about the order and the file name.
    return grouped + "\n\n" + "\n".join(line for line in out.getvalue().splitlines() if line.strip())


async def main(args: argparse.Namespace) -> int:
    from bot.criteria import load_criteria

    questions = len(load_criteria().questions)
    texts = [answer[:ANSWER_CHARS] for answer in sample()["answers"].values()]
    n, m = args.applicants, args.answers
    results: list[dict[str, Any]] = []
    outcomes: dict[tuple[str, str], Outcome] = {}
    sign_ups: dict[str, dict[str, list[float]]] = {"concurrent": {}, "lone": {}}
    profile_text, statements = "", None
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        web_runner, storage, web_base = await start_web(Path(folder))
        floor_runner, floor_base = await start_floor()
        print(f"web channel at {web_base} (bot.web.serve.start_site, make_flows's Router, AWARD_PDF off, "
              f"SQLite in {folder}); floor at {floor_base}")
        print(f"pacing: the web Site's per-person message bucket is RELAXED for this measurement "
              f"(burst {RELAXED_BURST:g}, {RELAXED_BURST:g}/s instead of 10 then 1/s); no think time. "
              "Each applicant signs up from its own address (X-Forwarded-For): the sign-in limit is the real one.")
        print(f"load average at start {', '.join(f'{x:.2f}' for x in LOAD_AT_START)} on {os.cpu_count()} cores; "
              "servers and simulated browsers share this one process (one event loop)")
        print(f"each answer: {ANSWER_CHARS} characters of examples/answers.sample.json, then /next; "
              f"the floor repeats the same messages for at least {args.floor_seconds:g} s")
        try:
            # Warm-up (not measured): one applicant through the whole script on each server.
            await run_phase("warm-up", "web", web_base, 1, 2, texts, questions, first=900_000)
            await run_phase("warm-up", "floor", floor_base, 1, 2, texts, questions, first=900_000)
            plan = [("concurrent", "floor", n, m, 0), ("concurrent", "web", n, m, 0),
                    ("lone", "floor", 1, args.lone_answers, 500_000), ("lone", "web", 1, args.lone_answers, 500_000)]
            for run, server, count, answers, first in plan:
                web_side = server == "web"
                print(f"… {server}, {count} applicant{'s' if count > 1 else ''}, {answers} answers + /next each",
                      flush=True)
                outcome = await run_phase(run, server, web_base if web_side else floor_base, count, answers, texts,
                                          questions, first, at_least=0.0 if web_side else args.floor_seconds,
                                          setup_times=sign_ups[run] if web_side else None)
                outcomes[(run, server)] = outcome
                summary = outcome.summary()
                results.append(summary)
                print(f"  {summary['round_trips_per_s']} round trips/s, p99 {summary['latency']['p99_ms']} ms "
                      f"({summary['requests']} in {summary['seconds']} s, {summary['errors']} errors)", flush=True)
            if args.profile:
                print(f"… web, {n} applicants again under cProfile (the event-loop thread, the answering phase "
                      "only), counting SQL statements", flush=True)
                trace = SqlTrace()
                await storage._conn.set_trace_callback(trace)
                profile = cProfile.Profile()
                profiled = await run_phase("profiled", "web", web_base, n, m, texts, questions, first=700_000,
                                           profile=profile, traced=trace)
                await storage._conn.set_trace_callback(None)
                per = max(profiled.requests, 1)
                statements = [[count / per, sql] for sql, count in trace.statements.most_common(args.profile_lines)]
                statements.insert(0, [sum(trace.statements.values()) / per, "(all statements)"])
                profile_text = profile_report(profile, args.profile_lines)
            saved = await storage.fetchone("SELECT COUNT(*) AS n FROM answers")
            expected = (min(2, questions) + n * min(m, questions) * (2 if args.profile else 1)
                        + min(args.lone_answers, questions))
        finally:
            await floor_runner.cleanup()
            await web_runner.cleanup()
            await storage.close()

    print()
    print(table(["run", "server", "N", "requests", "seconds", "round trips/s", "p50 ms", "p99 ms", "max ms",
                 "CPU ms/req", "process CPU", "loop CPU", "errors"], [row(r) for r in results]))
    print("CPU ms/req: CPU time of the whole process (server, clients, SQLite's thread) in the phase / requests.\n"
          "process CPU, loop CPU: cores busy in the phase, the whole process and its event-loop thread.")
    print()
    together, alone = sign_ups["concurrent"], sign_ups["lone"]
    print(table(["web sign-up step (not in the figures above)", f"p50 ms N={n}", f"p99 ms N={n}", "lone ms"],
                [[step, latency_summary(together[step])["p50_ms"], latency_summary(together[step])["p99_ms"],
                  latency_summary(alone.get(step, []))["p50_ms"]] for step in together]))
    print(f"answers saved in the database: {saved['n'] if saved else 0} (expected {expected})")

    web_n, floor_n = outcomes[("concurrent", "web")].summary(), outcomes[("concurrent", "floor")].summary()
    web_1, floor_1 = outcomes[("lone", "web")].summary(), outcomes[("lone", "floor")].summary()
    ratio = (round(web_n["round_trips_per_s"] / floor_n["round_trips_per_s"], 3)
             if web_n["round_trips_per_s"] and floor_n["round_trips_per_s"] else None)
    lone_p99 = web_1["latency"]["p99_ms"]
    extra_cpu = round(web_n["cpu_ms_per_request"] - floor_n["cpu_ms_per_request"], 2)
    targets = {
        f"{n} applicant{'s' if n > 1 else ''}: web round trips/s >= {THROUGHPUT_TARGET} x floor's": (
            ratio, ratio is not None and ratio >= THROUGHPUT_TARGET,
            f"web {web_n['round_trips_per_s']}/s, floor {floor_n['round_trips_per_s']}/s"),
        f"lone applicant: web reply p99 < {LONE_TARGET_MS:g} ms": (
            lone_p99, lone_p99 is not None and lone_p99 < LONE_TARGET_MS,
            f"{web_1['requests']} replies; floor p99 {floor_1['latency']['p99_ms']} ms"),
    }
    print()
    print(table(["target", "measured", "met", "beside"],
                [[name, value, "yes" if met else "NO", beside] for name, (value, met, beside) in targets.items()]))
    print(f"the web channel's own CPU per request at N={n} (web minus floor): {extra_cpu} ms")
    if statements is not None:
        print()
        print(table(["SQL statements per request (profiled run: answers and /next)", "per request"],
                    [[sql, round(count, 2)] for count, sql in statements]))
    if profile_text:
        print()
        print(profile_text)
    if args.output:
        path = write_results("web_load", {
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "pacing": "relaxed message bucket", "results": results,
            "targets": {name: {"value": v, "met": met} for name, (v, met, _b) in targets.items()},
            "sign_up": {run: {step: latency_summary(v) for step, v in steps.items()}
                        for run, steps in sign_ups.items()}}, args.output)
        print(f"\nwritten: {rel(path)}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--applicants", type=int, default=50, help="N applicants at once (default 50)")
    parser.add_argument("--answers", type=int, default=10, help="M answers each, each followed by /next (default 10)")
    parser.add_argument("--lone-answers", type=int, default=100,
                        help="answers of the lone applicant (default 100: 200 replies for its p99; past the "
                             "last question it goes back to 1.1a and adds to its answers)")
    parser.add_argument("--floor-seconds", type=float, default=2.0,
                        help="the floor repeats its script for at least this long (default 2)")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, run the N applicants again under cProfile and print what dominates")
    parser.add_argument("--profile-lines", type=int, default=25, help="functions shown per profile order")
    parser.add_argument("--output", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.applicants < 1 or args.answers < 1 or args.lone_answers < 1:
        parser.error("--applicants, --answers and --lone-answers must be at least 1")
    return args


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
