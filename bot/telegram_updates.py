"""Updates in: a Telegram update becomes a flow event, its replies go back to the chat.

One user's updates run one at a time, in order; different users' side by side (PerApplicantUpdates).
Private chats only; an edit is routed as an edit, never as a new answer; a file is fetched and
checked before the flows see it; an album, which arrives as one update per file, is answered once.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from telegram import Bot, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, BaseUpdateProcessor, ContextTypes, TypeHandler

from bot import logs
from bot.flows.dispatch import Lanes, answer_safely
from bot.flows.events import ButtonPress, Command, EditedText, Event, FileReceived, Reply, Sender, Text, person_name
from bot.telegram_records import CHANNEL, TelegramRecords
from bot.telegram_send import ReplySender
from bot.uploads import check_declared, check_upload, refusal_text
from bot.wording import say

log = logging.getLogger(__name__)

ALBUM_QUIET_SECONDS = 1.0  # after an album's last file has been handled, before its one reply


class Flows(Protocol):
    async def handle(self, event: Event) -> list[Reply]: ...


def _utf8(text: str) -> str:
    """Text Telegram will take back: without lone surrogates (only a broken client sends one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(char for char in text if not "\ud800" <= char <= "\udfff")
    return text


def _ref(message: Message) -> str:
    return f"{message.chat_id}:{message.message_id}"


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


class TelegramChannel:
    def __init__(self, flows: Flows, records: TelegramRecords, replies: ReplySender) -> None:
        self.flows = flows
        self.records = records
        self.replies = replies
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

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one update; whatever goes wrong, the person gets a short apology, never silence."""
        try:
            await self._on_update(update, context)
        except Exception:
            logs.unexpected(log, "update %s could not be handled", update.update_id)
            chat = update.effective_chat
            if chat is not None and chat.type == ChatType.PRIVATE:
                try:
                    await self.replies.send(context.bot, chat.id, None, [Reply(say("unexpected_error"))])
                except Exception as exc:  # the apology itself could not go: nothing more to do
                    log.error("could not send the apology for update %s: %s", update.update_id, type(exc).__name__)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or user.is_bot:
            return
        # After a crash Telegram hands out again what the bot fetched but had not confirmed.
        if not await self.records.first_sight(update.update_id):
            log.info("update %s was handled before the restart; skipped", update.update_id)
            await self._album_item_skipped(context, update)
            return
        if chat.type != ChatType.PRIVATE:
            # Only commands reach a bot in a group; answer those, store nothing.
            text = update.message.text if update.message else None
            if text and text.startswith("/"):
                await self.replies.send(context.bot, chat.id, None, [Reply(say("private_only"))])
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
            event = await self._event(update, context.bot, sender)
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
            await self.replies.send(context.bot, chat.id, user.id, replies)

    async def _event(self, update: Update, bot: Bot, sender: Sender) -> Event | Reply | None:
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
            return await self._file(bot, message, sender)
        if message.voice or message.audio or message.video or message.video_note or message.sticker or \
                message.location or message.venue or message.contact or message.animation:
            return Reply(say("please_type"))
        return None  # service messages (pins, joins, themes) need no answer

    async def _file(self, bot: Bot, message: Message, sender: Sender) -> FileReceived | Reply:
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
            data = bytes(await (await bot.get_file(file_id)).download_as_bytearray())
        except TelegramError as exc:
            log.warning("file download failed: %s", type(exc).__name__)
            return Reply(say("file_download_failed", name=name))
        # Decoding a photo in full takes a moment: off the event loop.
        refused = await asyncio.to_thread(check_upload, data, mime)
        if refused is not None:
            return Reply(refusal_text(refused, name, len(data)))
        return FileReceived(sender, name, mime, data, _utf8(message.caption or ""), _ref(message))

    # -- albums ----------------------------------------------------------------------------

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
        await self.replies.send(context.bot, pending.chat_id, user_id, [*refusals.values(), *pending.replies])
