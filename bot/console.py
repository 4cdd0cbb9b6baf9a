"""The terminal channel: the same interview on the same database, typed at a prompt or piped in.

Buttons are shown as numbered choices; `#2` taps the second one, and where a prompt wants
nothing but a choice a bare `2` does too. Every line is one message.
"""

from __future__ import annotations

import asyncio
import time
from typing import TextIO

from bot.flows.dispatch import Dispatcher
from bot.flows.events import Button, ButtonPress, Command, Event, Reply, Sender, Text
from bot.wording import say


class Console:
    def __init__(self, dispatcher: Dispatcher, sender: Sender, out: TextIO, *, echo: bool = False) -> None:
        self.dispatcher = dispatcher
        self.sender = sender
        self.out = out
        self.echo = echo
        self._buttons: list[Button] = []
        self._choice_only = False
        self._message_no = 0
        # Message refs must not repeat across runs: an edit is matched to its message by them.
        self._run = f"console-{time.time_ns()}"

    def event_for(self, line: str) -> Event | str:
        """The event a typed line stands for, or a console-only notice to print instead."""
        stripped = line.strip()
        if stripped.startswith(("/", "／")) and len(stripped) > 1:
            name, *args = stripped[1:].split(maxsplit=1)  # split() also splits at a full-width space
            return Command(self.sender, name.split("@")[0], args[0] if args else "")
        pick = None
        if stripped.startswith(("#", "＃")) and _is_number(stripped[1:].strip()):
            pick = int(stripped[1:].strip())
        elif _is_number(stripped) and self._choice_only:
            pick = int(stripped)
        if pick is not None:
            if not self._buttons:
                return say("console_no_buttons")
            if not 1 <= pick <= len(self._buttons):
                return say("console_no_such_choice", n=pick, count=len(self._buttons))
            return ButtonPress(self.sender, self._buttons[pick - 1].data)
        self._message_no += 1
        return Text(self.sender, line, message_ref=f"{self._run}-{self._message_no}")

    async def send(self, line: str) -> None:
        if self.echo:
            self.out.write(f"> {line}\n")
        event = self.event_for(line)
        if isinstance(event, str):
            self.out.write(event + "\n\n")
            return
        self.show(await self.dispatcher.handle(event))

    def show(self, replies: list[Reply]) -> None:
        # Like a chat, the newest buttons are the ones at hand.
        for reply in replies:
            self.out.write(reply.text + "\n")
            if reply.document is not None:
                self.out.write(say("console_document", path=reply.document) + "\n")
            self._choice_only = reply.choice_only
            if reply.buttons:
                self._buttons = reply.all_buttons
                labels = "  ".join(f"[{n}] {b.label}" for n, b in enumerate(self._buttons, start=1))
                self.out.write(labels + "\n")
            self.out.write("\n")
        self.out.flush()

    async def run(self, stream: TextIO) -> None:
        interactive = stream.isatty()
        if interactive:
            self.out.write(say("console_intro") + "\n\n")
        await self.send("/start")
        while True:
            if interactive:
                self.out.write("> ")
                self.out.flush()
            line = await asyncio.to_thread(stream.readline)
            if not line:
                break
            await self.send(line.rstrip("\n"))
        self.out.write(say("console_bye") + "\n")
        self.out.flush()


def _is_number(text: str) -> bool:
    # isdigit() is also true for ① and ², which int() refuses.
    return text.isascii() and text.isdecimal()
