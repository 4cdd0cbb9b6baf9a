"""`award-bot`: the command line. Each verb is a thin shell around a module that does the work.

The verbs and options are in bot/cli_parser.py; the commands that serve people (run, web, invite,
office-link, console) in bot/cli_start.py; the office's commands on files and the database (backup,
export, remind, render, demo, check, criteria validate) in bot/cli_office.py.
"""

from __future__ import annotations

import asyncio
import os
import sys

from bot import logs
from bot.cli_office import (
    backup_main,
    check_answer,
    demo_main,
    export_main,
    render_main,
    validate_criteria,
    with_storage,
)
from bot.cli_parser import build_parser
from bot.cli_start import console_main, run_main, web_main
from bot.config import ConfigError, Settings, load_settings
from bot.remind_report import remind_main
from bot.wording import say

# `X as X` above: re-exported for tests/web_browser.py and benchmarks (web_load.py, _bot.py), which
# import them from here.

# They read an existing database, never make an empty one.
NEEDS_DATABASE = ("backup", "export", "remind", "invite", "office-link")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Every file the bot writes holds someone's application: readable by this user only.
    os.umask(0o077)
    # `run --webhook URL` is AWARD_WEBHOOK_URL for this run, checked as the setting is.
    overrides = {"AWARD_WEBHOOK_URL": args.webhook} if getattr(args, "webhook", None) else {}
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 2
    logs.setup(settings.log_level, secrets=[settings.telegram_bot_token, *smtp_secrets(settings)])
    if getattr(args, "db", None):  # another database: its files go beside it too, unless AWARD_DATA_DIR says where
        settings = settings.model_copy(update={"db": args.db})
    if args.verb in NEEDS_DATABASE and not settings.db.exists():
        print(say("cli_no_database", path=settings.db.absolute()), file=sys.stderr)
        return 1
    if args.verb == "criteria":
        return validate_criteria(args.file or settings.criteria)
    if args.verb == "check":
        return check_answer(settings, args.question, args.attachments)
    if args.verb == "backup":
        return backup_main(settings.db, args.path)
    if args.verb == "export":
        return asyncio.run(with_storage(settings, lambda storage, criteria: export_main(
            settings, args.output, storage, criteria)))
    if args.verb == "remind":
        return asyncio.run(with_storage(settings, lambda storage, criteria: remind_main(
            settings, args.dry_run, storage, criteria)))
    if args.verb == "render":
        return render_main(settings, args.answers, args.output, args.no_pdf)
    if args.verb == "demo":
        return demo_main(settings, args.output, args.no_pdf)
    if args.verb == "run":
        return run_main(settings)
    if args.verb in ("web", "invite", "office-link"):
        return web_main(settings, args)
    if args.verb == "console":
        return console_main(settings, args)
    parser.print_help()
    return 0


def smtp_secrets(settings: Settings) -> list[str]:
    """What of AWARD_SMTP_URL no log line may show: the password, and the URL that holds it."""
    config = settings.smtp()
    return [secret for secret in (config.password if config else "", settings.smtp_url.strip()) if len(secret) >= 4]


if __name__ == "__main__":
    sys.exit(main())
