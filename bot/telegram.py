"""The Telegram channel: updates in, flow events out; replies in, Bot API calls out.

It knows Telegram's rules so that the flows never have to: 4096-character messages,
HTML escaping, 64-byte callback data, 429 and 403 answers, private chats only.
"""

from __future__ import annotations

import asyncio
import html
import logging
import mimetypes
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, TypeVar

# Opt in to the coming python-telegram-bot behaviour (RetryAfter.retry_after as a timedelta),
# which _seconds() already handles, instead of a deprecation warning on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")

import httpx
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    WebAppInfo,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, BaseUpdateProcessor, ContextTypes, TypeHandler

from bot import logs
from bot.flows.dispatch import Lanes, answer_safely
from bot.flows.events import ButtonPress, Command, EditedText, Event, FileReceived, Reply, Sender, Text, person_name
from bot.sender import (
    DeliveryError,
    MaybeSent,
    NotSent,
    OutboxSender,
    RateLimited,
    RecipientBlocked,
    Refused,
)
from bot.storage import OutboxMessage, Storage
from bot.telegram_limits import CAPTION_LIMIT, DOCUMENT_LIMIT, PacedLimiter, pack, split_text, units
from bot.uploads import check_declared, check_upload, refusal_text
from bot.wording import say

log = logging.getLogger(__name__)

CHANNEL = "telegram"
CALLBACK_DATA_LIMIT = 64
ALBUM_QUIET_SECONDS = 1.0
SEND_ATTEMPTS = 5

T = TypeVar("T")


def _utf8(text: str) -> str:
    """Text Telegram will take back: without lone surrogates (only a broken client sends one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(char for char in text if not "\ud800" <= char <= "\udfff")
    return text


class PerApplicantUpdates(BaseUpdateProcessor):
    """Updates run concurrently, except that one user's updates run one at a time, in order.

    What must not wait behind a user's slow step happens here, on arrival: a button tap is
    answered at once, and an album photo is counted before its predecessors are handled.
    """

    def __init__(self, channel: TelegramChannel, max_concurrent_updates: int = 4096) -> None:
        # A generous limit: an update holds a slot while it waits in its user's lane.
        super().__init__(max_concurrent_updates)
        self.channel = channel

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update) or update.effective_user is None:
            await coroutine
            return
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError as exc:
                log.info("callback answer failed: %s", exc)
        self.channel.arrived(update)
        await self.channel.lanes.run(str(update.effective_user.id), coroutine)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


@dataclass
class PendingAlbum:
    """The reply to an album, held until its last photo has been handled."""

    group: str
    chat_id: int
    handled: int = 0
    replies: list[Reply] = field(default_factory=list)
    refusals: list[Reply] = field(default_factory=list)  # files of the album that were not taken


class Blocked(Exception):
    """The user blocked the bot; nothing more can be sent to them."""


class TelegramChannel:
    def __init__(self, flows: Flows, storage: Storage, web_app_url: str | None = None) -> None:
        self.flows = flows
        self.storage = storage
        # The web page as a Mini App (an https address): a question's message offers it for long answers.
        self.web_app_url = web_app_url
        self.lanes = Lanes()
        self._album_arrivals: dict[str, int] = {}  # media_group_id -> photos arrived so far
        self._album_pending: dict[int, PendingAlbum] = {}  # by user id

    def install(self, application: Application) -> None:
        application.add_handler(TypeHandler(Update, self.on_update))

    def arrived(self, update: Update) -> None:
        message = update.message
        if message is not None and message.media_group_id and message.chat.type == ChatType.PRIVATE:
            group = message.media_group_id
            self._album_arrivals[group] = self._album_arrivals.get(group, 0) + 1

    # -- incoming ------------------------------------------------------------------------

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one update; whatever goes wrong, the person gets a short apology, never silence."""
        try:
            await self._on_update(update, context)
        except Exception:
            logs.unexpected(log, "update %s could not be handled", update.update_id)
            chat = update.effective_chat
            if chat is not None and chat.type == ChatType.PRIVATE:
                try:
                    await self._send(context, chat.id, None, [Reply(say("unexpected_error"))])
                except Exception as exc:  # the apology itself could not go: nothing more to do
                    log.error("could not send the apology for update %s: %s", update.update_id, type(exc).__name__)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or user.is_bot:
            return
        # After a crash Telegram hands out again what the bot fetched but had not confirmed.
        if not await self.storage.first_sight(CHANNEL, update.update_id):
            log.info("update %s was handled before the restart; skipped", update.update_id)
            await self._album_item_skipped(context, update)
            return
        if chat.type != ChatType.PRIVATE:
            # Only commands reach a bot in a group; answer those, store nothing.
            text = update.message.text if update.message else None
            if text and text.startswith("/"):
                await self._send(context, chat.id, None, [Reply(say("private_only"))])
            return
        message = update.message
        pending = self._album_pending.get(user.id)
        if pending is not None and (message is None or message.media_group_id != pending.group):
            await self._flush_album(context, user.id)
        sender = Sender(CHANNEL, str(user.id), person_name(user.first_name, user.last_name))
        in_album = message is not None and bool(message.media_group_id)
        replies: list[Reply] = []
        event: Event | Reply | None = None
        try:
            event = await self._event(update, context, sender)
            if isinstance(event, Reply):
                replies = [event]  # a file refused on arrival, or a message it cannot take
            elif event is not None:
                replies = await answer_safely(self.flows.handle, event)
        finally:
            if in_album:
                # Every file of an album counts, whatever became of it (even an error), or the
                # album never looks complete and its stored files are never confirmed. A refusal
                # is said together with the album's reply.
                refused = isinstance(event, Reply)
                self._album_item_done(context, update, replies=None if refused or not replies else replies,
                                      refusal=replies[0] if refused else None)
        if not in_album:
            await self._send(context, chat.id, user.id, replies)

    async def _event(self, update: Update, context: ContextTypes.DEFAULT_TYPE,
                     sender: Sender) -> Event | Reply | None:
        if update.callback_query is not None:
            return ButtonPress(sender, _utf8(update.callback_query.data or ""))
        # Edits arrive as updates of their own; route them on purpose, never as new answers.
        if update.edited_message is not None:
            edited = update.edited_message
            if edited.text is None:
                return None
            return EditedText(sender, _utf8(edited.text), _ref(edited))
        message = update.message
        if message is None:
            return None
        if message.text is not None:
            text = _utf8(message.text)
            if text.startswith("/"):
                name, _, args = text[1:].partition(" ")
                return Command(sender, name.split("@")[0], args.strip())
            return Text(sender, text, _ref(message))
        if message.photo or message.document:
            return await self._file(context, message, sender)
        if message.voice or message.audio or message.video or message.video_note or message.sticker or \
                message.location or message.venue or message.contact or message.animation:
            return Reply(say("please_type"))
        return None  # service messages (pins, joins, themes) need no answer

    async def _file(self, context: ContextTypes.DEFAULT_TYPE, message: Message,
                    sender: Sender) -> FileReceived | Reply:
        """Download and check a file; it is handed to the flows in memory, which decide if it is kept."""
        if message.photo:
            photo = message.photo[-1]  # the largest size
            file_id, size, mime, name = photo.file_id, photo.file_size, "image/jpeg", f"照片_{message.message_id}.jpg"
        else:
            document = message.document
            assert document is not None
            mime = document.mime_type or mimetypes.guess_type(document.file_name or "")[0] or ""
            file_id, size, name = document.file_id, document.file_size, document.file_name or "文件"
        name = _utf8(name)
        # Refused before fetching, as declared; checked again, as received.
        refused = check_declared(mime, size)
        if refused is not None:
            return Reply(refusal_text(refused, name, size or 0))
        try:
            data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
        except TelegramError as exc:
            log.warning("file download failed: %s", type(exc).__name__)
            return Reply(say("file_download_failed", name=name))
        # Decoding a photo in full takes a moment: off the event loop.
        refused = await asyncio.to_thread(check_upload, data, mime)
        if refused is not None:
            return Reply(refusal_text(refused, name, len(data)))
        return FileReceived(sender, name, mime, data, _utf8(message.caption or ""), _ref(message))

    async def _album_item_skipped(self, context: ContextTypes.DEFAULT_TYPE, update: Update) -> None:
        message, user = update.message, update.effective_user
        if message is None or not message.media_group_id or user is None:
            return
        pending = self._album_pending.get(user.id)
        if pending is not None and pending.group != message.media_group_id:
            await self._flush_album(context, user.id)
        self._album_item_done(context, update)

    def _album_item_done(self, context: ContextTypes.DEFAULT_TYPE, update: Update, *,
                         replies: list[Reply] | None = None, refusal: Reply | None = None) -> None:
        """An album arrives as one update per file: answer once, after the last one.

        Every file that arrived counts, whatever became of it (stored, refused, skipped as already
        seen); otherwise the album never looks complete and its stored files are never confirmed.
        """
        message, user = update.message, update.effective_user
        if message is None or not message.media_group_id or user is None or message.chat.type != ChatType.PRIVATE:
            return
        pending = self._album_pending.setdefault(user.id, PendingAlbum(message.media_group_id, message.chat_id))
        pending.handled += 1
        if replies is not None:
            pending.replies = replies  # the latest reply counts all the files so far
        if refusal is not None:
            pending.refusals.append(refusal)
        user_id = user.id

        async def later() -> None:
            await asyncio.sleep(ALBUM_QUIET_SECONDS)
            # In the user's lane, so the reply keeps its place among the user's other replies.
            await self.lanes.run(str(user_id), self._flush_album(context, user_id, only_if_complete=True))

        context.application.create_task(later())

    async def _flush_album(self, context: ContextTypes.DEFAULT_TYPE, user_id: int, *,
                           only_if_complete: bool = False) -> None:
        pending = self._album_pending.get(user_id)
        if pending is None:
            return
        if only_if_complete and pending.handled < self._album_arrivals.get(pending.group, 0):
            return  # more photos of this album are still waiting to be handled
        del self._album_pending[user_id]
        self._album_arrivals.pop(pending.group, None)
        refusals: dict[str, Reply] = {}
        for refusal in pending.refusals:
            refusals.setdefault(refusal.text, refusal)  # an album of ten videos: one "please type"
        await self._send(context, pending.chat_id, user_id, [*refusals.values(), *pending.replies])

    # -- outgoing ------------------------------------------------------------------------

    async def _send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int | None,
                    replies: list[Reply]) -> None:
        try:
            for reply in pack(replies):
                await self._send_one(context, chat_id, reply)
        except Blocked:
            if user_id is not None:  # a group that removed the bot says nothing about the user
                log.warning("user %s blocked the bot; marked", user_id)
                await self.storage.mark_blocked(CHANNEL, str(user_id))

    async def _send_one(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply: Reply) -> None:
        bot = context.bot
        markup = None
        if reply.buttons:
            # Telegram refuses the whole message over one button with more than 64 bytes of data.
            rows = [[b for b in row if len(b.data.encode()) <= CALLBACK_DATA_LIMIT] for row in reply.buttons]
            if any(len(b.data.encode()) > CALLBACK_DATA_LIMIT for b in reply.all_buttons):
                log.error("dropped a button with callback data over %d bytes", CALLBACK_DATA_LIMIT)
            keyboard = [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows if row]
            if self.web_app_url and any(b.data.startswith("nx:") for b in reply.all_buttons):
                keyboard.append([InlineKeyboardButton(say("btn_web_app"), web_app=WebAppInfo(url=self.web_app_url))])
            markup = InlineKeyboardMarkup(keyboard)
        # A document carries its text as the caption when it fits: one message instead of two.
        caption = reply.document is not None and units(reply.text) <= CAPTION_LIMIT
        chunks = split_text(reply.text) if reply.text and not caption else []
        await self._texts(bot, chat_id, chunks, None if reply.document is not None else markup)
        if reply.document is None:
            return
        data = await asyncio.to_thread(reply.document.read_bytes)
        name = reply.document_name or reply.document.name
        if len(data) > DOCUMENT_LIMIT:
            # Telegram takes no bigger file from a bot: say so, with the text the file was to carry.
            note = say("document_too_big_to_send", name=name, mb=round(len(data) / 1024 / 1024))
            await self._texts(bot, chat_id, [*([reply.text] if caption and reply.text else []), note], markup)
            return
        text = html.escape(reply.text, quote=False) if caption and reply.text else None
        sent = await self._call(lambda: bot.send_document(chat_id, data, filename=name, caption=text,
                                                          parse_mode=ParseMode.HTML if text else None,
                                                          reply_markup=markup))
        if sent is None:
            # The text rode on the file ("submitted", "your draft"): it must not be lost with it.
            await self._texts(bot, chat_id, [*([reply.text] if caption and reply.text else []),
                                             say("document_not_sent")], markup)

    async def _texts(self, bot: Bot, chat_id: int, texts: list[str], markup: InlineKeyboardMarkup | None) -> None:
        """Each text as a message (split to Telegram's limit), the buttons on the last one."""
        chunks = [chunk for text in texts for chunk in split_text(text)]
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            await self._call(lambda chunk=chunk, last=last: bot.send_message(
                chat_id, html.escape(chunk, quote=False), parse_mode=ParseMode.HTML,
                reply_markup=markup if last else None))

    async def _call(self, request: Callable[[], Awaitable[T]]) -> T | None:
        """One Bot API call, kept within Telegram's rules: wait out 429s, retry what was not sent."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await request()
            except TelegramError as exc:
                error = delivery_error(exc)
                error.__cause__ = exc
            # The same reading of the failure as the outbox sender's, with a direct reply's policy:
            # the applicant is waiting, so retry briefly, and never risk showing a message twice.
            match error:
                case RecipientBlocked():
                    raise Blocked() from error.__cause__
                case RateLimited(seconds=seconds) if attempt < SEND_ATTEMPTS:
                    await asyncio.sleep(seconds)
                case NotSent() if attempt < SEND_ATTEMPTS:
                    await asyncio.sleep(min(2 ** attempt * 0.5, 10))
                case MaybeSent():
                    # They can always ask for it again with /where.
                    log.warning("request may have been delivered, not repeated: %s", error)
                    return None
                case Refused() if "message is not modified" in str(error):
                    return None
                case _:
                    log.error("reply dropped after %d attempt(s): %s: %s", attempt, type(error).__name__, error)
                    return None
        return None


def delivery_error(exc: TelegramError) -> DeliveryError:
    """What a failed Bot API call means for delivery; replies and the outbox both read it so."""
    if isinstance(exc, RetryAfter):
        return RateLimited(_seconds(exc.retry_after))
    if isinstance(exc, Forbidden):
        return RecipientBlocked(str(exc))
    if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
        name = type(exc.__cause__ or exc).__name__
        return MaybeSent(name) if _maybe_delivered(exc) else NotSent(name)
    return Refused(str(exc))  # a bad request, or anything else Telegram will not take as it is


def _maybe_delivered(exc: NetworkError) -> bool:
    """Whether a failed request may still have reached Telegram (and so must not be repeated)."""
    cause = exc.__cause__
    if isinstance(cause, httpx.PoolTimeout | httpx.ConnectError | httpx.ConnectTimeout):
        return False  # "Request was *not* sent"
    if isinstance(cause, httpx.HTTPError):
        return True  # a read or protocol error after the request went out
    return isinstance(exc, TimedOut)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _ref(message: Message) -> str:
    return f"{message.chat_id}:{message.message_id}"


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


class Flows(Protocol):
    async def handle(self, event: Event) -> list[Reply]: ...


class TelegramTransport:
    """Delivers an outbox message with the Bot API, and says how a failure must be treated."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def __call__(self, message: OutboxMessage) -> None:
        if message.channel != CHANNEL or not message.recipient.lstrip("-").isdecimal():
            # e.g. someone who applied in the terminal: never guess a Telegram chat for them.
            raise Refused(f"not a Telegram chat: {message.channel}")
        rows = message.payload.get("buttons") or []
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
        ) if rows else None
        text = split_text(message.payload["text"])[0]
        try:
            await self.bot.send_message(int(message.recipient), html.escape(text, quote=False),
                                        parse_mode=ParseMode.HTML, reply_markup=markup)
        except TelegramError as exc:
            raise delivery_error(exc) from exc


def shared_limiter(rate: float, per_chat_rate: float = 1.0) -> PacedLimiter:
    """One pace for everything the bot sends: replies and reminders take turns in it (see PacedLimiter)."""
    return PacedLimiter(rate, per_chat_rate)


def build_application(
    flows: Flows, storage: Storage, token: str, api_url: str | None = None, *,
    rate: float = 30.0, per_chat_rate: float = 1.0, web_app_url: str | None = None,
) -> Application:
    """The bot's Application; `rate` is the most messages a second it sends, replies and reminders
    together, and `per_chat_rate` the most to one chat (Telegram's limits: about 30 and 1)."""
    channel = TelegramChannel(flows, storage, web_app_url)
    builder = (
        Application.builder()
        .token(token)
        .concurrent_updates(PerApplicantUpdates(channel))
        .rate_limiter(shared_limiter(rate, per_chat_rate))
    )
    # With max_retries=0 the limiter logs every 429 as an error with a traceback, although
    # _call waits it out: keep its real errors only.
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
