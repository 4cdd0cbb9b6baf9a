"""The commands that serve applicants and the award office: `award-bot run` (Telegram, with the web
channel and e-mail beside it when configured), `web` (the web channel alone) with its `invite` and
`office-link`, and `console` (the interview in a terminal); and the wiring they share."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli_office import reason, with_storage
from bot.config import Settings
from bot.console import Console
from bot.criteria import Criteria, CriteriaError, load_criteria
from bot.document import DocumentError, check_template
from bot.export import export_all
from bot.files import FilesError, claim_folder
from bot.flows.coordinator import Coordinator, Coordinators
from bot.flows.dispatch import Dispatcher
from bot.flows.events import Sender
from bot.flows.interview import Interview
from bot.flows.router import Router
from bot.instance import AlreadyRunning, InstanceLock
from bot.mail import EMAIL
from bot.pdf_server import PdfServer
from bot.reminders import (
    current_deadline,
    queue_automatic,
    reminder_gate,
)
from bot.sender import OutboxSender, Transport
from bot.storage import Storage, StorageError
from bot.validation import clean_text
from bot.web.mail_links import email_transport
from bot.wording import say


def run_main(settings: Settings) -> int:
    """`award-bot run`: the Telegram bot, after the token and the template are known to be usable."""
    if not settings.telegram_bot_token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from telegram.error import InvalidToken, TelegramError

    try:
        problem = template_problem(settings, load_criteria(settings.criteria))
        if problem:
            print(problem, file=sys.stderr)
            return 1
        with InstanceLock(settings.db.absolute()):
            return asyncio.run(serve(settings))
    except (CriteriaError, StorageError, FilesError, AlreadyRunning) as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"无法启动：{reason(exc)}", file=sys.stderr)
        return 1
    except InvalidToken:
        # PTB's own message repeats the token: never print it.
        print(BAD_TOKEN, file=sys.stderr)
        return 2
    except TelegramError as exc:
        print(f"无法连接 Telegram (cannot reach Telegram): {type(exc).__name__}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def console_main(settings: Settings, args: argparse.Namespace) -> int:
    """`award-bot console`: the interview (or the office's desk) in this terminal."""
    # The terminal is for the applicant: keep routine log lines out of the conversation.
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        return asyncio.run(serve_console(settings, args))
    except (CriteriaError, StorageError, FilesError) as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def web_main(settings: Settings, args: argparse.Namespace) -> int:
    """`award-bot web` (the web channel alone) and `award-bot invite` (a personal link made in advance)."""
    from bot.web.serve import invite, office_link, serve_web

    try:
        criteria = load_criteria(settings.criteria)
        if args.verb == "office-link":
            async def signed(storage: Storage, _criteria: Criteria) -> int:
                link = await office_link(storage, settings, args.coordinator)
                if link is None:
                    print(say("cli_office_not_coordinator", who=args.coordinator), file=sys.stderr)
                    return 2
                print(say("cli_office_link", who=args.coordinator, link=link))
                return 0
            return asyncio.run(with_storage(settings, signed))
        if args.verb == "invite":
            # The same cleaning as the start page's form: a name prints on the office's list.
            name = " ".join(clean_text(args.name).split())[:40]
            if not name:
                print(say("cli_invite_no_name"), file=sys.stderr)
                return 2

            async def made(storage: Storage, _criteria: Criteria) -> int:
                unit = " ".join(clean_text(args.unit).split())[:80]
                link, png = await invite(storage, settings, name, unit, args.qr)
                print(say("cli_invite_link", name=name, link=link))
                if png is not None:
                    print(say("cli_invite_qr", path=png))
                return 0
            return asyncio.run(with_storage(settings, made))
        problem = template_problem(settings, criteria)
        if problem:
            print(problem, file=sys.stderr)
            return 1
        host = args.host or settings.web_host
        port = args.port or settings.web_port or 8080
        with InstanceLock(settings.db.absolute()):
            return asyncio.run(serve_web(settings, host, port, make_flows, criteria, claim_files))
    except (CriteriaError, StorageError, FilesError, AlreadyRunning) as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"无法启动：{reason(exc)}", file=sys.stderr)
        return 1


def template_problem(settings: Settings, criteria: Criteria) -> str | None:
    """Why the 申报书 template cannot be used, found before any applicant finishes; None if fine."""
    try:
        check_template(criteria, settings.template)
    except DocumentError as exc:
        return f"申报书模板不能用（AWARD_TEMPLATE={settings.template}）：{exc}"
    return None


async def serve_console(settings: Settings, args: argparse.Namespace) -> int:
    criteria = load_criteria(settings.criteria)
    problem = template_problem(settings, criteria)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    storage = await Storage.open(settings.db)  # main() put --db there
    try:
        await claim_files(settings, storage)
        router = make_flows(settings, storage, criteria)
        user = args.user or getpass.getuser()
        sender = Sender("console", user, args.name)
        console = Console(Dispatcher(router.handle), sender, sys.stdout, echo=not sys.stdin.isatty())
        # Someone of the award office (console:NAME in AWARD_COORDINATORS) comes to the office's desk.
        opening = "/admin" if sender in Coordinators.parse(settings.coordinators) else "/start"
        await console.run(sys.stdin, opening=opening)
    finally:
        await storage.close()
    return 0


WEBHOOK_PORT = 8080  # where `award-bot run` receives the webhook when AWARD_WEB_PORT is not set
OFFICE_MENUS = "office_menus"  # setting: who was given the office's command menu at the last start


def office_ids(settings: Settings) -> list[str]:
    """The coordinators who use Telegram, for their command menu."""
    return [user for channel, user in Coordinators.parse(settings.coordinators) if channel == "telegram"]


def make_flows(settings: Settings, storage: Storage, criteria: Criteria) -> Router:
    """The interview and the award office's side, wired as configured."""
    # One LibreOffice kept running for the PDFs (where python3-uno is installed); else one a PDF.
    pdf = PdfServer.find(settings.libreoffice_profile) if settings.pdf else None
    coordinators = Coordinators.parse(settings.coordinators)
    interview = Interview(storage, criteria, timezone=settings.timezone, data_dir=settings.files,
                          template=settings.template, pdf=pdf, coordinators=coordinators)
    tz = ZoneInfo(settings.timezone)

    async def exporter() -> Path:
        # Kept on the server too: the office may want yesterday's export again.
        return (await export_all(storage, criteria, settings.files / "exports", tz=tz)).zip_path

    desk_link = None
    if settings.web_port:
        from bot.web.serve import office_link

        async def desk_link(sender: Sender) -> str:
            # The coordinator asking is the one signed in: checked again by the desk on every request.
            return await office_link(storage, settings, f"{sender.channel}:{sender.user_id}") or ""

    coordinator = Coordinator(storage, criteria, coordinators, settings.policy(),
                              default_deadline=settings.default_deadline(), exporter=exporter,
                              refuse=interview.handle, desk_link=desk_link, email=settings.email)
    return Router(interview, coordinator)


NO_TOKEN = """没有设置 TELEGRAM_BOT_TOKEN，无法连接 Telegram。
TELEGRAM_BOT_TOKEN is not set.

1. 在 Telegram 里找 @BotFather，发送 /newbot，按提示创建机器人，得到 token。
2. 把它写进 .env 文件：TELEGRAM_BOT_TOKEN=123456:ABC…（或设为环境变量），再运行 award-bot run。

不用 Telegram 也能试用：award-bot console 在终端里运行同样的访谈。"""


BAD_TOKEN = """Telegram 拒绝了 TELEGRAM_BOT_TOKEN：请在 @BotFather 里核对 token 后再运行。
Telegram rejected TELEGRAM_BOT_TOKEN."""


async def claim_files(settings: Settings, storage: Storage) -> None:
    """Check, before anyone is served, that the files folder can be written and is this database's own."""
    await asyncio.to_thread(claim_folder, settings.files, await storage.database_id())


CONFLICT = """Telegram 报告另一个程序正在用同一个机器人 token 接收消息（409 Conflict），本程序已停止，以免两边抢消息。
请只运行一个 award-bot run；如果另一个在别的机器上，先停掉它。"""


async def serve(settings: Settings) -> int:
    """Run the Telegram bot until SIGINT/SIGTERM (0) or another poller takes its updates (1)."""
    import signal

    from bot.telegram import (
        TelegramTransport,
        build_application,
        start_background,
        start_polling,
        stop_background,
        stop_polling,
    )

    criteria = load_criteria(settings.criteria)
    storage = await Storage.open(settings.db)
    try:
        await claim_files(settings, storage)
        router = make_flows(settings, storage, criteria)
        from bot.web.serve import mini_app_url

        application = build_application(router, storage, settings.telegram_bot_token,
                                        settings.telegram_api_url or None, rate=settings.send_rate,
                                        per_chat_rate=settings.chat_rate, web_app_url=mini_app_url(settings))
        policy = settings.policy()

        async def planner() -> int:
            deadline = await current_deadline(storage, settings.default_deadline())
            return await queue_automatic(storage, criteria, policy, deadline, datetime.now(UTC),
                                         email=settings.email)

        stop = asyncio.Event()
        conflict = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)

        def conflicted() -> None:
            conflict.set()
            stop.set()

        async with application:
            office = office_ids(settings)
            former = [user for user in (await storage.setting(OFFICE_MENUS) or "").split(",") if user]
            from bot.telegram_webhook import new_secret, replay_received, start_webhook, webhook_path, webhook_routes

            # A new secret token at each start; the webhook's route goes on the web server started below.
            secret = new_secret()
            hook = webhook_routes(application, storage, webhook_path(settings.webhook_url), secret) \
                if settings.webhook_url else []
            if not hook:
                await start_polling(application, office=office, former=former, on_conflict=conflicted)
                await replay_received(application, storage)  # left by an earlier run in webhook mode
            await storage.set_setting(OFFICE_MENUS, ",".join(office))
            transport: Transport = TelegramTransport(application.bot)
            site = None
            if settings.web_port:
                # One process, one database, one outbox: the web channel beside Telegram.
                from bot.web.channel import WebTransport
                from bot.web.serve import RoutedTransport, start_site
                from bot.web.store import CHANNEL as WEB
                from bot.web.store import WebStore

                site = await start_site(router, storage, criteria, settings, settings.web_host, settings.web_port,
                                        extra=hook)
                transport = RoutedTransport({"telegram": transport, WEB: WebTransport(WebStore(storage))})
            elif hook:
                # The webhook alone on the web server's port (8080 unless AWARD_WEB_PORT says).
                from bot.web.serve import start_routes

                site = await start_routes(hook, settings.web_host, WEBHOOK_PORT)
            if hook:
                # Listening first: Telegram posts as soon as the webhook is set.
                await start_webhook(application, storage, settings.webhook_url, secret, office=office, former=former)
            username = getattr(application.bot, "username", None)
            mail = email_transport(settings, storage, criteria,
                                   telegram_link=f"https://t.me/{username}" if username else None)
            if mail is not None:
                # Reminders and 退回修改 notices to those who gave an e-mail address: the same outbox.
                from bot.web.serve import RoutedTransport

                routes = dict(transport.transports) if isinstance(transport, RoutedTransport) \
                    else {"telegram": transport}
                transport = RoutedTransport({**routes, EMAIL: mail})
            sender = OutboxSender(storage, transport, rate=settings.send_rate,
                                  gate=reminder_gate(storage, policy, Coordinators.parse(settings.coordinators)))
            task = start_background(application, sender, planner, settings.reminder_check_seconds)
            # What was made to start (criteria, wording, templates, the libraries' classes: about
            # 100,000 objects) lives as long as the bot: kept out of the garbage collector's full
            # passes, each of which stopped every reply for 50 ms (issue #18).
            gc.collect()  # nothing left to free is frozen with the rest
            gc.freeze()
            # A thread holding the interpreter (an evidence check, a 申报书 being made) hands it back
            # to the replies after 1 ms rather than Python's 5: the slowest replies under load were
            # those waiting behind one (p99 1.31× the echo bot's at 50 applicants, 1.01–1.05× so).
            sys.setswitchinterval(0.001)
            logging.getLogger(__name__).info("bot is running; stop with Ctrl+C")
            await stop.wait()
            if conflict.is_set():
                logging.getLogger(__name__).error("409 Conflict: another program polls this bot; stopping")
            await stop_background(sender, task)
            if mail is not None:
                await mail.close()
            if site is not None:
                await site.cleanup()
            if settings.webhook_url:
                await application.stop()  # the webhook stays set: Telegram keeps updates until the next start
            else:
                await stop_polling(application)
    finally:
        await storage.close()
    if conflict.is_set():
        print(CONFLICT, file=sys.stderr)
        return 1
    return 0

