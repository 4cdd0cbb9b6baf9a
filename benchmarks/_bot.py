"""One bot in a process of its own, for the benchmarks (started by _common.BotProcess).

    python benchmarks/_bot.py ours         --api-url URL --token T --report R.json
    python benchmarks/_bot.py echo         ...

Kinds:
  ours          the real thing: bot.cli_start.serve() with the settings from the environment (Router with the
                interview and the award office, outbox sender, reminder planner, AIORateLimiter)
  ours-nolimit  the same, with build_application's AIORateLimiter left out (a diagnostic only:
                it shows what the bot's own code can do without the 30 messages/s overall cap)
  echo          a minimal python-telegram-bot echo bot: Application + MessageHandler replying the text
  echo-limited  the echo bot configured as ours is: bot.telegram.shared_limiter (PTB's AIORateLimiter
                at 95 % of 30/s), concurrent updates
  echo-aiohttp  the echo bot with ours' HTTP requests (bot.telegram_http, aiohttp instead of PTB's httpx):
                the floor of the framework as ours uses it

Stops on SIGTERM and writes a JSON report: peak RSS (resource.getrusage) and CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import resource
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def echo_bot(api_url: str, token: str, limited: bool, aiohttp: bool = False) -> None:
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    from bot.telegram import shared_limiter
    from bot.telegram_http import make_request

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text)

    builder = Application.builder().token(token).base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
    if limited:
        builder = builder.rate_limiter(shared_limiter(30.0)).concurrent_updates(True)
    if aiohttp:
        builder = builder.request(make_request()).get_updates_request(make_request(updates=True))
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=10)
        await stop.wait()
        await application.updater.stop()
        await application.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["ours", "ours-nolimit", "echo", "echo-limited", "echo-aiohttp"])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile stats of the whole run here")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    started = time.monotonic()

    if args.kind.startswith("ours"):
        from bot.cli_start import serve
        from bot.config import Settings

        # Pacing off as a deployment would switch it off (#18): no overall pace, each chat at the most.
        unpaced = {"AWARD_SEND_RATE": "unlimited", "AWARD_CHAT_RATE": "100"} if args.kind == "ours-nolimit" else {}
        run = serve(Settings(**unpaced))
    else:
        run = echo_bot(args.api_url, args.token, limited=args.kind == "echo-limited",
                       aiohttp=args.kind == "echo-aiohttp")

    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    try:
        asyncio.run(run)
    finally:
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(args.profile))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        args.report.write_text(json.dumps({
            "kind": args.kind,
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
            "cpu_user_s": round(usage.ru_utime, 2),
            "cpu_system_s": round(usage.ru_stime, 2),
            "wall_s": round(time.monotonic() - started, 2),
        }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
