"""`award-bot`: the command line. Each verb is a thin shell around a module that does the work."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import evidence, logs
from bot.answers_file import Answers, AnswersFileError, load_answers_file
from bot.cli_parser import build_parser
from bot.config import ConfigError, Settings, load_settings
from bot.console import Console
from bot.criteria import Criteria, CriteriaError, load_criteria
from bot.document import DocumentError, check_template, render_application
from bot.export import export_all
from bot.files import FilesError, claim_folder
from bot.flows.coordinator import Coordinator, Coordinators
from bot.flows.dispatch import Dispatcher
from bot.flows.events import Sender
from bot.flows.interview import Interview
from bot.flows.router import Router
from bot.glyphs import missing_glyphs
from bot.instance import AlreadyRunning, InstanceLock
from bot.mail import EMAIL, email_transport
from bot.pdf import PdfConverter, PdfError
from bot.remind_report import remind_main
from bot.reminders import (
    current_deadline,
    queue_automatic,
    reminder_gate,
)
from bot.sender import OutboxSender, Transport
from bot.shipped import shipped
from bot.storage import Storage, StorageError, backup_database
from bot.validation import clean_text
from bot.wording import say

SAMPLE = shipped("examples") / "answers.sample.json"


# They read an existing database, never make an empty one.
NEEDS_DATABASE = ("backup", "export", "remind", "invite", "office-link")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Every file the bot writes holds someone's application: readable by this user only.
    os.umask(0o077)
    try:
        settings = load_settings()
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
        try:
            counts = backup_database(settings.db, args.path)
        except (StorageError, sqlite3.Error, OSError) as exc:
            print(f"备份失败：{_reason(exc)}", file=sys.stderr)
            return 1
        print(f"{args.path}: {counts['applicants']} 位申报人，{counts['answers']} 条回答，"
              f"{counts['documents']} 份申报书记录（完整性检查通过）")
        return 0
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
            print(f"无法启动：{_reason(exc)}", file=sys.stderr)
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
    if args.verb in ("web", "invite", "office-link"):
        return web_main(settings, args)
    if args.verb == "console":
        # The terminal is for the applicant: keep routine log lines out of the conversation.
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
        try:
            return asyncio.run(console_main(settings, args))
        except (CriteriaError, StorageError, FilesError) as exc:
            print(exc, file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
    parser.print_help()
    return 0


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
        print(f"无法启动：{_reason(exc)}", file=sys.stderr)
        return 1


def check_answer(settings: Settings, question_id: str, attachments: int) -> int:
    try:
        criteria = load_criteria(settings.criteria)
    except CriteriaError as exc:
        print(exc, file=sys.stderr)
        return 1
    question = criteria.question(question_id.strip().lower())
    if question is None:
        valid = " ".join(q.id for q in criteria.questions)
        print(f"未知题号 (unknown question id) {question_id!r}；可用的题号：{valid}", file=sys.stderr)
        return 2
    if sys.stdin.isatty():  # a person at the keyboard may not know the program waits for them
        print(say("cli_check_reading"), file=sys.stderr)
    warnings = evidence.check(question, sys.stdin.read(), attachments)
    print(json.dumps([{"code": w.code, "message": w.message} for w in warnings], ensure_ascii=False, indent=2))
    return 0


def validate_criteria(path: Path) -> int:
    try:
        criteria = load_criteria(path)
    except CriteriaError as exc:
        print(exc, file=sys.stderr)
        return 1
    items = sum(len(c.items) for c in criteria.categories)
    print(
        f"{path}: OK — {criteria.award}（版本 {criteria.version}）："
        f"{len(criteria.core_concepts)} 条核心理念，{len(criteria.categories)} 个类目，{items} 个条目，"
        f"{len(criteria.questions)} 道题，申报表 {len(criteria.profile)} 项"
    )
    return 0


def demo_main(settings: Settings, output: Path | None, no_pdf: bool) -> int:
    """The example application rendered; without -o into a new temporary folder, never the current one."""
    if output is not None:
        return render_main(settings, SAMPLE, output, no_pdf)
    folder = Path(tempfile.mkdtemp(prefix="award-bot-demo-"))
    print(say("cli_demo_folder", folder=folder))
    # LibreOffice's profile goes there too: the default files folder is data/ in the current folder.
    return render_main(settings, SAMPLE, folder / "sample.docx", no_pdf, profile=folder / ".libreoffice")


def render_main(settings: Settings, answers_path: Path, output: Path, no_pdf: bool,
                profile: Path | None = None) -> int:
    try:
        criteria = load_criteria(settings.criteria)
        loaded = load_answers_file(answers_path, criteria, today=datetime.now(ZoneInfo(settings.timezone)).date())
    except (CriteriaError, AnswersFileError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if output.suffix.lower() != ".docx":
        print(f"{output}: 输出文件应以 .docx 结尾", file=sys.stderr)
        return 1
    day = loaded.day or datetime.now(ZoneInfo(settings.timezone)).date()
    try:
        rendered = render_application(criteria, loaded.profile, loaded.answers, output, attachments=loaded.attachments,
                                      day=day, draft=loaded.draft, template=settings.template)
    except DocumentError as exc:
        print(f"申报书没有生成：{exc}", file=sys.stderr)
        return 1
    print(f"{output}: {len(loaded.answers)}/{len(criteria.questions)} 题，{rendered.images} 张图片")
    for note in loaded.notes:
        print(f"提示：{note}", file=sys.stderr)
    for attachment in rendered.not_embedded:
        print(f"提示：附件{attachment.number}（{attachment.file_name}）放不进文档，只列在证明材料清单中："
              "Word 显示不了这种格式（能显示的是 JPG、PNG、GIF、BMP、TIFF），或文件不完整、已损坏", file=sys.stderr)
    try:
        return _render_pdf(settings, output, no_pdf, profile)
    finally:
        # After the normal output: characters that would print as a box or not at all.
        missing = missing_glyphs(_texts_of(criteria, loaded))
        if missing:
            listed = "、".join(f"{char}（{'、'.join(places)}）" for char, places in missing.items())
            print(say("render_missing_glyphs", chars=listed), file=sys.stderr)


def _texts_of(criteria: Criteria, loaded: Answers) -> list[tuple[str, str]]:
    """Every text of an answers file with where it is (申报表 label, question id, 附件说明)."""
    labels = {f.key: f.label for f in criteria.profile}
    texts = [(labels.get(key, key), str(value)) for key, value in loaded.profile.items()]
    texts += list(loaded.answers.items())
    texts += [(say("render_glyphs_caption", question=a.question_id), a.caption) for a in loaded.attachments]
    return texts


def _render_pdf(settings: Settings, output: Path, no_pdf: bool, profile: Path | None) -> int:
    if no_pdf or not settings.pdf:
        return 0
    converter = PdfConverter.find(profile or settings.libreoffice_profile)
    if converter is None:
        print("没有安装 LibreOffice，未生成 PDF（Debian: apt-get install libreoffice-writer-nogui fonts-noto-cjk）",
              file=sys.stderr)
        return 0
    pdf = output.with_suffix(".pdf")
    try:
        converter.convert(output, pdf)
    except PdfError as exc:
        print(f"PDF 没有生成：{exc}", file=sys.stderr)
        return 1
    print(f"{pdf}: PDF")
    return 0


async def with_storage(settings: Settings, work: Callable[[Storage, Criteria], Awaitable[int]]) -> int:
    """Run a command-line verb on the configured criteria and database, closing it afterwards."""
    try:
        criteria = load_criteria(settings.criteria)
        storage = await Storage.open(settings.db)
    except (CriteriaError, StorageError) as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        return await work(storage, criteria)
    finally:
        await storage.close()


async def export_main(settings: Settings, folder: Path, storage: Storage, criteria: Criteria) -> int:
    try:
        result = await export_all(storage, criteria, folder, tz=ZoneInfo(settings.timezone))
    except OSError as exc:
        print(f"导出失败：无法写入 {folder}（{_reason(exc)}）。请换一个可写的文件夹。", file=sys.stderr)
        return 1
    print(f"{result.zip_path}: {result.applicants} 人，{result.documents} 个文件")
    print(f"{result.xlsx_path}: 汇总表")
    if result.missing:
        print(f"还没有申报书：{'、'.join(result.missing)}", file=sys.stderr)
    return 0


def template_problem(settings: Settings, criteria: Criteria) -> str | None:
    """Why the 申报书 template cannot be used, found before any applicant finishes; None if fine."""
    try:
        check_template(criteria, settings.template)
    except DocumentError as exc:
        return f"申报书模板不能用（AWARD_TEMPLATE={settings.template}）：{exc}"
    return None


async def console_main(settings: Settings, args: argparse.Namespace) -> int:
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


OFFICE_MENUS = "office_menus"  # setting: who was given the office's command menu at the last start


def office_ids(settings: Settings) -> list[str]:
    """The coordinators who use Telegram, for their command menu."""
    return [user for channel, user in Coordinators.parse(settings.coordinators) if channel == "telegram"]


def make_flows(settings: Settings, storage: Storage, criteria: Criteria) -> Router:
    """The interview and the award office's side, wired as configured."""
    pdf = PdfConverter.find(settings.libreoffice_profile) if settings.pdf else None
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
            await start_polling(application, office=office, former=former, on_conflict=conflicted)
            await storage.set_setting(OFFICE_MENUS, ",".join(office))
            transport: Transport = TelegramTransport(application.bot)
            site = None
            if settings.web_port:
                # One process, one database, one outbox: the web channel beside Telegram.
                from bot.web.channel import WebTransport
                from bot.web.serve import RoutedTransport, start_site
                from bot.web.store import CHANNEL as WEB
                from bot.web.store import WebStore

                site = await start_site(router, storage, criteria, settings, settings.web_host, settings.web_port)
                transport = RoutedTransport({"telegram": transport, WEB: WebTransport(WebStore(storage))})
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
            logging.getLogger(__name__).info("bot is running; stop with Ctrl+C")
            await stop.wait()
            if conflict.is_set():
                logging.getLogger(__name__).error("409 Conflict: another program polls this bot; stopping")
            await stop_background(sender, task)
            if mail is not None:
                await mail.close()
            if site is not None:
                await site.cleanup()
            await stop_polling(application)
    finally:
        await storage.close()
    if conflict.is_set():
        print(CONFLICT, file=sys.stderr)
        return 1
    return 0


def smtp_secrets(settings: Settings) -> list[str]:
    """What of AWARD_SMTP_URL no log line may show: the password, and the URL that holds it."""
    config = settings.smtp()
    return [secret for secret in (config.password if config else "", settings.smtp_url.strip()) if len(secret) >= 4]


def _reason(exc: BaseException) -> str:
    """An error as a person reads it: the OS's words for a file problem, no traceback."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())
