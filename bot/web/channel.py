"""The web channel's translation: what the page sends becomes a flow event; replies become the log.

Like bot/telegram.py and bot/console.py it decides nothing: the flows do. Each person's events go
through the shared Dispatcher (one at a time per person, never silent), what they sent and what
came back is recorded in order, and the page is given what it has not shown yet.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.flows.dispatch import Lanes, answer_safely
from bot.flows.events import ButtonPress, Command, Event, FileReceived, Reply, Sender, Text
from bot.sender import Refused
from bot.storage import OutboxMessage
from bot.web.store import CHANNEL, Shown, WebStore, Who, reply_payload

log = logging.getLogger(__name__)

Handle = Callable[[Event], Awaitable[list[Reply]]]


class WebChannel:
    def __init__(self, handle: Handle, store: WebStore) -> None:
        self.handle = handle
        self.store = store
        # One exchange at a time per person: what they sent and its replies stay together in the log.
        self.lanes = Lanes()
        # The last words to someone who has just erased their data, until the page has shown them.
        self.farewells: dict[Who, list[dict[str, object]]] = {}

    def sender(self, who: Who, display_name: str) -> Sender:
        return Sender(who.channel, who.user_id, display_name)

    async def say(self, sender: Sender, who: Who, text: str) -> None:
        """Typed text: a command when it starts with /, as in Telegram; else a message."""
        stripped = text.strip()
        if stripped.startswith(("/", "／")) and len(stripped) > 1:
            name, _, args = stripped[1:].partition(" ")
            event: Event = Command(sender, name.split("@")[0], args.strip())
        else:
            event = Text(sender, text)
        await self._exchange(who, {"text": text}, event)

    async def press(self, sender: Sender, who: Who, data: str, label: str) -> None:
        await self._exchange(who, {"text": label, "pressed": True}, ButtonPress(sender, data))

    async def upload(self, who: Who, received: FileReceived) -> None:
        shown = {"text": received.file_name + (f"（{received.caption}）" if received.caption else ""), "file": True}
        await self._exchange(who, shown, received)

    async def start_once(self, sender: Sender, who: Who) -> None:
        """A first visit: the welcome (or where they left off) without typing /start; once, however
        many tabs open at the same moment (the check and the welcome share the person's lane)."""
        async def welcome() -> None:
            if not await self.store.shown(who, 0, 1):
                await self._exchange_now(who, None, Command(sender, "start"))

        await self.lanes.run(f"{who.channel}:{who.user_id}", welcome())

    async def _exchange(self, who: Who, mine: dict[str, object] | None, event: Event) -> None:
        await self.lanes.run(f"{who.channel}:{who.user_id}", self._exchange_now(who, mine, event))

    async def _exchange_now(self, who: Who, mine: dict[str, object] | None, event: Event) -> None:
        replies = await answer_safely(self.handle, event)
        payloads = [reply_payload(r) for r in replies]
        erasing = isinstance(event, ButtonPress) and event.data == "del:yes"
        if erasing and await self.store.storage.find_applicant(who.channel, who.user_id) is None:
            # They erased everything (/delete): the goodbye is shown once and kept nowhere.
            self.farewells[who] = payloads
            return
        # What they sent and what came back in one transaction: the log never shows one without the other.
        await self.store.record_exchange(who, mine, payloads)

    async def since(self, who: Who, after: int) -> list[Shown]:
        return await self.store.shown(who, after)


class WebTransport:
    """Delivers an outbox message (a reminder, a note from the office) to a web person's page."""

    def __init__(self, store: WebStore) -> None:
        self.store = store

    async def __call__(self, message: OutboxMessage) -> None:
        if message.channel != CHANNEL:
            raise Refused(f"not a web person: {message.channel}")
        payload: dict[str, object] = {"text": message.payload.get("text", "")}
        if message.payload.get("buttons"):
            payload["buttons"] = message.payload["buttons"]
        await self.store.record(Who(CHANNEL, message.recipient), "bot", [payload])
