"""The test suite's local Bot API server (tests/fake_telegram.py), instrumented for benchmarks.

It notes when each reply reaches it, so an applicant can wait for exactly the reply it
expects and the time from its message (pushed into the update queue) to that reply is known.
getUpdates is the test server's own: a long poll that returns as soon as an update is pushed
(it waits at most 1 s when there is nothing), so no poll delay is added to any round trip.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import _common  # noqa: F401 - puts the project root on sys.path

from tests.fake_telegram import FakeTelegram

_jitter = random.Random(1)


@dataclass
class Expectation:
    """A reply an applicant waits for: `count` messages to its chat."""

    count: int
    future: asyncio.Future
    first: float | None = None
    last: float | None = None
    received: int = 0


@dataclass
class ChatLog:
    count: int = 0
    last: float = 0.0
    documents: int = 0
    texts: list[str] = field(default_factory=list)


class BenchTelegram(FakeTelegram):
    def __init__(self, token: str, *, keep_texts: bool = False) -> None:
        super().__init__(token)
        self.ready = asyncio.Event()  # the bot is polling
        self.expected: dict[int, Expectation] = {}
        self.unexpected = 0  # replies nobody waited for (a miscounted script shows here)
        self.chats: dict[int, ChatLog] = {}
        self.keep_texts = keep_texts
        self.get_updates_calls = 0
        self.send_calls = 0

    def expect(self, chat_id: int, count: int) -> Expectation:
        expectation = Expectation(count, asyncio.get_running_loop().create_future())
        self.expected[chat_id] = expectation
        return expectation

    def press_data(self, user_id: int, data: str, name: str = "用户") -> None:
        """Tap an inline button with this callback data (on a message the server need not know)."""
        self._push("callback_query", {
            "id": f"cb{self._update_id + 1}", "from": self.user(user_id, name), "chat_instance": "ci",
            "data": data, "message": {"message_id": 1, "date": int(time.time()),
                                      "chat": self.chat(user_id, name), "text": "…"},
        })

    def _arrived(self, chat_id: int, at: float, text: str, document: bool) -> None:
        log = self.chats.setdefault(chat_id, ChatLog())
        log.count += 1
        log.last = at
        log.documents += document
        if self.keep_texts:
            log.texts.append(text)
        expectation = self.expected.get(chat_id)
        if expectation is None or expectation.future.done():
            self.unexpected += 1
            return
        expectation.received += 1
        if expectation.first is None:
            expectation.first = at
        if expectation.received >= expectation.count:
            expectation.last = at
            expectation.future.set_result(at)

    async def _m_getUpdates(self, params: dict) -> list[dict]:
        self.get_updates_calls += 1
        self.ready.set()
        return await super()._m_getUpdates(params)

    async def _m_sendMessage(self, params: dict) -> dict:
        at = time.perf_counter()
        self.send_calls += 1
        result = await super()._m_sendMessage(params)
        self._arrived(int(params["chat_id"]), at, result.get("text", ""), False)
        return result

    async def _m_sendDocument(self, params: dict) -> dict:
        at = time.perf_counter()
        result = await super()._m_sendDocument(params)
        self._arrived(int(params["chat_id"]), at, "", True)
        return result

    def trim(self) -> None:
        """Forget what the test helpers keep (every call and message), so a long run stays small."""
        self.calls.clear()
        self.sent.clear()

    def stats(self) -> dict[str, Any]:
        return {"getUpdates_calls": self.get_updates_calls, "sendMessage_calls": self.send_calls,
                "unexpected_replies": self.unexpected}


async def converse(server: BenchTelegram, user: int, steps: list[str], counts: list[int],
                   think: float = 0.0, until: asyncio.Event | None = None, latencies: list[float] | None = None,
                   name: str = "申报人") -> int:
    """Send each step when the whole reply to the previous one (counts: its messages) is in.

    Once through the steps, or round and round until `until` is set; `think` seconds after each
    reply (on average); the time of each reply (its last message) from the message appended to `latencies`.
    """
    received = 0
    while True:
        for message, count in zip(steps, counts, strict=True):
            expectation = server.expect(user, count)
            pushed = time.perf_counter()
            server.send_text(user, message, name)
            await asyncio.wait_for(expectation.future, 300)
            if latencies is not None:
                latencies.append(expectation.future.result() - pushed)
            received += count
            if think:
                # Jittered, so that applicants who started together do not stay in step.
                await asyncio.sleep(think * _jitter.uniform(0.5, 1.5))
            if until is not None and until.is_set():
                return received
        if until is None:
            return received
