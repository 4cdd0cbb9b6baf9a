"""`award-bot`: the command line. Each verb is a thin shell around a module that does the work."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import re
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from bot import evidence, logs
from bot.answers_file import AnswersFileError, load_answers_file
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
from bot.instance import AlreadyRunning, InstanceLock
from bot.pdf import PdfConverter, PdfError
from bot.reminders import (
    DEADLINE_SETTING,
    Reason,
    current_deadline,
    plan_automatic,
    queue_automatic,
    reminder_gate,
)
from bot.sender import OutboxSender
from bot.shipped import shipped
from bot.storage import ApplicantRow, Outgoing, Storage, StorageError, backup_database
from bot.wording import say

SAMPLE = shipped("examples") / "answers.sample.json"


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        super().add_usage(usage, actions, groups, say("cli_usage") if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse in Chinese: its headings, its -h, and its errors with a hint (each verb's parser too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = say("cli_positionals")
        self._optionals.title = say("cli_options")
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=say("cli_help_help"))

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, say("cli_error", hint=_argparse_hint(message), message=message, prog=self.prog) + "\n")


def _argparse_hint(message: str) -> str:
    """argparse's own complaint in Chinese, for the common ones."""
    if found := re.match(r"the following arguments are required: (.+)", message):
        return say("cli_error_required", what=found[1])
    if found := re.search(r"invalid choice: '(.*?)' \(choose from (.+)\)", message):
        return say("cli_error_choice", value=found[1], choices=found[2].replace("'", ""))
    if found := re.match(r"unrecognized arguments: (.+)", message):
        return say("cli_error_unknown", what=found[1])
    if found := re.match(r"argument (\S+): invalid \w+ value: '(.*)'", message):
        return say("cli_error_value", argument=found[1], value=found[2])
    if found := re.match(r"argument (\S+): expected one argument", message):
        return say("cli_error_needs_value", argument=found[1])
    return say("cli_error_other")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="award-bot", description=say("cli_description"), epilog=say("cli_epilog"))
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", title=say("cli_commands"))

    def verb(name: str, summary: str) -> argparse.ArgumentParser:
        return verbs.add_parser(name, help=summary, description=summary)

    def db_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--db", type=Path, default=None, metavar="PATH", help=say("cli_help_db"))

    console = verb("console", say("cli_help_console"))
    console.add_argument("--user", default=None, metavar="NAME", help=say("cli_help_user"))
    console.add_argument("--name", default="", metavar="NAME", help=say("cli_help_name"))
    db_option(console)

    verb("run", say("cli_help_run"))

    check = verb("check", say("cli_help_check"))
    check.add_argument("question", metavar="QUESTION_ID", help=say("cli_help_question"))
    check.add_argument("--attachments", type=int, default=0, metavar="N", help=say("cli_help_attachments"))

    render = verb("render", say("cli_help_render"))
    render.add_argument("answers", type=Path, metavar="ANSWERS.json", help=say("cli_help_answers"))
    render.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.docx", help=say("cli_help_output"))
    render.add_argument("--no-pdf", action="store_true", help=say("cli_help_no_pdf"))

    demo = verb("demo", say("cli_help_demo"))
    demo.add_argument("-o", "--output", type=Path, default=None, metavar="OUT.docx", help=say("cli_help_demo_output"))
    demo.add_argument("--no-pdf", action="store_true", help=say("cli_help_no_pdf"))

    export = verb("export", say("cli_help_export"))
    export.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help=say("cli_help_export_output"))
    db_option(export)

    remind = verb("remind", say("cli_help_remind"))
    remind.add_argument("--dry-run", action="store_true", help=say("cli_help_dry_run"))
    db_option(remind)

    backup = verb("backup", say("cli_help_backup"))
    backup.add_argument("path", type=Path, metavar="PATH", help=say("cli_help_backup_path"))
    db_option(backup)

    criteria = verb("criteria", say("cli_help_criteria"))
    criteria_verbs = criteria.add_subparsers(dest="criteria_verb", metavar="ACTION", required=True,
                                             title=say("cli_help_actions"))
    validate = criteria_verbs.add_parser("validate", help=say("cli_help_validate"),
                                         description=say("cli_help_validate"))
    validate.add_argument("file", nargs="?", type=Path, default=None, metavar="FILE",
                          help=say("cli_help_criteria_file"))
    return parser


NEEDS_DATABASE = ("backup", "export", "remind")  # they read an existing database, never make an empty one


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
    logs.setup(settings.log_level, secrets=[settings.telegram_bot_token])
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


Planned = tuple[ApplicantRow, Reason, Outgoing]


@dataclass
class ReminderReport:
    """What `award-bot remind` tells before it acts, and the reminders it may queue now."""

    lines: list[str] = field(default_factory=list)
    due: list[Planned] = field(default_factory=list)  # to queue now (none in quiet hours)
    quiet_until: datetime | None = None  # now is in quiet hours, which end then
    later: list[Planned] = field(default_factory=list)  # due when the quiet hours end


async def reminder_report(settings: Settings, storage: Storage, criteria: Criteria, now: datetime) -> ReminderReport:
    """Where the deadline comes from, and who is reminded now, or when quiet hours end, and why."""
    policy = settings.policy()

    def local(moment: datetime) -> str:
        return moment.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M")

    report = ReminderReport()
    report.lines.append(say("remind_now", when=local(now), timezone=settings.timezone))
    deadline = await current_deadline(storage, settings.default_deadline())
    if deadline is not None and await storage.setting(DEADLINE_SETTING):
        report.lines.append(say("remind_deadline_office", deadline=local(deadline)))
        if settings.deadline.strip():
            report.lines.append(say("remind_deadline_env_ignored", value=settings.deadline.strip()))
    elif deadline is not None:
        report.lines.append(say("remind_deadline_env", deadline=local(deadline), value=settings.deadline.strip()))
    else:
        report.lines.append(say("remind_deadline_none"))
    if deadline is not None and now >= deadline:
        report.lines.append(say("remind_deadline_passed"))
    if policy.is_quiet(now):
        report.quiet_until = policy.quiet_over(now)
        report.later = await plan_automatic(storage, criteria, policy, deadline, report.quiet_until)
        at = local(report.quiet_until)
        report.lines.append(say("remind_quiet", hours=settings.quiet_hours, at=at) if report.later
                            else say("remind_quiet_nobody", hours=settings.quiet_hours, at=at))
        listed = report.later
    else:
        report.due = await plan_automatic(storage, criteria, policy, deadline, now)
        listed = report.due
    for row, reason, _message in listed:
        why = say("remind_why_deadline", days=reason.days) if reason.kind == "deadline" \
            else say("remind_why_inactive", days=reason.days)
        report.lines.append(say("remind_row", who=row.name or row.display_name or row.external_id,
                                unit=row.unit or "—", why=why, answered=row.answered,
                                total=len(criteria.questions)))
    if report.quiet_until is None and not report.due:
        report.lines.append(say("remind_nobody"))
    return report


async def remind_main(settings: Settings, dry_run: bool, storage: Storage, criteria: Criteria) -> int:
    report = await reminder_report(settings, storage, criteria, datetime.now(UTC))
    for line in report.lines:
        print(line)
    listed = report.later if report.quiet_until else report.due
    if dry_run:
        if listed:
            print(say("remind_dry_run", count=len(listed)))
    elif report.quiet_until is not None:
        if report.later:
            print(say("remind_quiet_not_queued",
                      at=report.quiet_until.astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M")))
    elif report.due:
        queued = sum([await storage.enqueue(message) for _row, _reason, message in report.due])
        print(say("remind_queued", count=queued))
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

    coordinator = Coordinator(storage, criteria, coordinators, settings.policy(),
                              default_deadline=settings.default_deadline(), exporter=exporter,
                              refuse=interview.handle)
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
        application = build_application(router, storage, settings.telegram_bot_token,
                                        settings.telegram_api_url or None, rate=settings.send_rate,
                                        per_chat_rate=settings.chat_rate)
        policy = settings.policy()

        async def planner() -> int:
            deadline = await current_deadline(storage, settings.default_deadline())
            return await queue_automatic(storage, criteria, policy, deadline, datetime.now(UTC))

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
            sender = OutboxSender(storage, TelegramTransport(application.bot), rate=settings.send_rate,
                                  gate=reminder_gate(storage, policy, Coordinators.parse(settings.coordinators)))
            task = start_background(application, sender, planner, settings.reminder_check_seconds)
            logging.getLogger(__name__).info("bot is running; stop with Ctrl+C")
            await stop.wait()
            if conflict.is_set():
                logging.getLogger(__name__).error("409 Conflict: another program polls this bot; stopping")
            await stop_background(sender, task)
            await stop_polling(application)
    finally:
        await storage.close()
    if conflict.is_set():
        print(CONFLICT, file=sys.stderr)
        return 1
    return 0


def _reason(exc: BaseException) -> str:
    """An error as a person reads it: the OS's words for a file problem, no traceback."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())
