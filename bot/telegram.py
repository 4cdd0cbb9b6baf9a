"""The Telegram channel: the bot's Application, its command menus, polling and the outbox beside it.

It knows Telegram's rules so that the flows never have to. The rooms:
- bot.telegram_updates: updates in, flow events out (one user's updates in order, albums, files);
- bot.telegram_send: replies in, Bot API calls out (sizes, escaping, 429 and 403 answers);
- bot.telegram_records: the two facts the channel itself keeps in the database;
- bot.telegram_limits: message sizes and the pace of sending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import Conflict, TelegramError
from telegram.ext import Application, ContextTypes

from bot.sender import OutboxSender
from bot.storage import Storage
from bot.telegram_http import make_request
from bot.telegram_limits import PacedLimiter, split_text
from bot.telegram_records import CHANNEL, TelegramRecords
from bot.telegram_send import Blocked, ReplySender, TelegramTransport, delivery_error
from bot.telegram_updates import Flows, PerApplicantUpdates, TelegramChannel
from bot.wording import say

__all__ = [
    "CHANNEL", "Blocked", "Flows", "PerApplicantUpdates", "TelegramChannel", "TelegramTransport", "bot_commands",
    "build_application", "delivery_error", "office_commands", "set_menus", "shared_limiter", "split_text",
    "start_background", "start_polling", "stop_background", "stop_polling",
]

log = logging.getLogger(__name__)


def bot_commands() -> list[BotCommand]:
    """The command menu, in Chinese."""
    return [
        BotCommand("where", say("menu_where")),
        BotCommand("next", say("menu_next")),
        BotCommand("back", say("menu_back")),
        BotCommand("menu", say("menu_menu")),
        BotCommand("progress", say("menu_progress")),
        BotCommand("review", say("menu_review")),
        BotCommand("finish", say("menu_finish")),
        BotCommand("draft", say("menu_draft")),
        BotCommand("document", say("menu_document")),
        BotCommand("files", say("menu_files")),
        BotCommand("mydata", say("menu_mydata")),
        BotCommand("delete", say("menu_delete")),
        BotCommand("help", say("menu_help")),
    ]


def office_commands() -> list[BotCommand]:
    """A coordinator's menu: the applicant's, then the office's commands."""
    return [
        *bot_commands(),
        BotCommand("admin", say("menu_admin")),
        BotCommand("list", say("menu_list")),
        BotCommand("remind", say("menu_remind")),
        BotCommand("export", say("menu_export")),
        BotCommand("deadline", say("menu_deadline")),
    ]


def shared_limiter(rate: float, per_chat_rate: float = 1.0) -> PacedLimiter:
    """One pace for everything the bot sends: replies and reminders take turns in it (see PacedLimiter)."""
    return PacedLimiter(rate, per_chat_rate)


def build_application(
    flows: Flows, storage: Storage, token: str, api_url: str | None = None, *,
    rate: float = 30.0, per_chat_rate: float = 1.0, web_app_url: str | None = None,
) -> Application:
    """The bot's Application; `rate` is the most messages a second it sends, replies and reminders
    together, and `per_chat_rate` the most to one chat (Telegram's limits: about 30 and 1).
    `web_app_url`: the web page as a Mini App (an https address), offered for long answers."""
    records = TelegramRecords(storage)
    channel = TelegramChannel(flows, records, ReplySender(records, web_app_url))
    builder = (
        Application.builder()
        .token(token)
        .concurrent_updates(PerApplicantUpdates(channel))
        .rate_limiter(shared_limiter(rate, per_chat_rate))
        .request(make_request())
        .get_updates_request(make_request(updates=True))
    )
    # With max_retries=0 the limiter logs every 429 as an error with a traceback, although
    # the reply sender waits it out: keep its real errors only.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    # httpx logs every request URL at INFO, and Bot API URLs contain the bot's token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if api_url:
        api_url = api_url.rstrip("/")
        builder = builder.base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
    application = builder.build()
    channel.install(application)
    return application


async def set_menus(bot: Bot, office: Iterable[str] = (), former: Iterable[str] = ()) -> None:
    """Everyone's command menu; the office's commands in each coordinator's own chat.

    `former`: who had the office's menu before; those no longer coordinators lose it.
    """
    await bot.set_my_commands(bot_commands())
    office = list(office)
    for user_id in sorted(set(former) - set(office)):
        try:
            await bot.delete_my_commands(scope=BotCommandScopeChat(int(user_id)))
        except TelegramError as exc:
            log.warning("could not take the office menu away from former coordinator %s: %s", user_id, exc)
    for user_id in office:
        try:
            await bot.set_my_commands(office_commands(), scope=BotCommandScopeChat(int(user_id)))
        except TelegramError as exc:
            # Usually "chat not found": the coordinator has not opened the bot yet. The commands work anyway.
            log.warning("no office menu for coordinator %s (%s); it appears after the next start", user_id, exc)


async def start_polling(application: Application, *, office: Iterable[str] = (), former: Iterable[str] = (),
                        poll_interval: float = 0.0, poll_timeout: int = 10,
                        on_conflict: Callable[[], None] | None = None) -> None:
    """Start an initialised application: command menus (see set_menus), then long polling.

    `on_conflict` is called when Telegram answers 409 Conflict: another program takes this bot's
    updates (a second award-bot with the same token). Polling on would only fight it.
    """
    await application.start()
    await set_menus(application.bot, office, former)
    assert application.updater is not None

    def polling_failed(error: TelegramError) -> None:
        if isinstance(error, Conflict) and on_conflict is not None:
            on_conflict()
        else:
            log.warning("getting updates failed, retrying: %s", type(error).__name__)

    await application.updater.start_polling(
        poll_interval=poll_interval, timeout=poll_timeout,
        allowed_updates=["message", "edited_message", "callback_query"], error_callback=polling_failed,
    )


class _QuietCleanup(logging.Filter):
    """On stopping, PTB calls getUpdates once more and logs any failure of it as an error with a
    traceback (a 409 after the bot said why it stops, a timeout against a slow server). Nothing is
    lost by it (Telegram hands those updates out again, and they were seen): one line says so."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("Error while calling `get_updates` one more time"):
            error = record.exc_info[1]
            log.warning("the last getUpdates on stopping failed (%s); nothing is lost", type(error).__name__)
            return False
        return True


async def stop_polling(application: Application) -> None:
    assert application.updater is not None
    quiet = _QuietCleanup()
    logging.getLogger("telegram.ext.Updater").addFilter(quiet)
    try:
        await application.updater.stop()
    finally:
        logging.getLogger("telegram.ext.Updater").removeFilter(quiet)
    await application.stop()


def start_background(application: Application, sender: OutboxSender,
                     planner: Callable[[], Awaitable[int]] | None = None, interval: float = 600) -> asyncio.Task:
    """The outbox sender as a task of its own; the reminder planner on PTB's JobQueue."""
    task = asyncio.create_task(sender.run(), name="outbox-sender")
    if planner is not None and application.job_queue is not None:
        async def plan(_context: ContextTypes.DEFAULT_TYPE) -> None:
            try:
                if await planner():
                    sender.wake()
            except Exception:
                log.exception("reminder planning failed")

        application.job_queue.run_repeating(plan, interval=interval, first=1, name="reminders")
    return task


async def stop_background(sender: OutboxSender, task: asyncio.Task) -> None:
    sender.stop()
    await task
