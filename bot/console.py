"""The terminal channel: the same interview on the same database, typed at a prompt or piped in.

Buttons are shown as numbered choices; `#2` taps the second one, and where a prompt wants
nothing but a choice a bare `2` does too (elsewhere the interview itself reads a typed number or
button word). Every line is one message, except that lines pasted at once into a terminal are
one message, blank lines included. `/attach PATH [说明]` sends a file; `/quit` or Ctrl+D leaves.
"""

from __future__ import annotations

import asyncio
import mimetypes
import select
import shlex
import time
from pathlib import Path
from typing import TextIO

from bot.flows.dispatch import Dispatcher
from bot.flows.events import Button, ButtonPress, Command, Event, FileReceived, Reply, Sender, Text
from bot.uploads import MAX_FILE_BYTES, Refusal, check_declared, check_upload, refusal_text
from bot.wording import say

QUIT_COMMANDS = ("quit", "exit")
# Lines that arrive closer together than this were pasted, not typed: they are one message.
PASTE_GAP_SECONDS = 0.05
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"%PDF-", "application/pdf"))
# Bracketed paste: the terminal marks where a paste starts and ends (xterm and most others do).
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
BRACKETED_PASTE_ON, BRACKETED_PASTE_OFF = "\x1b[?2004h", "\x1b[?2004l"
# A terminal in line mode keeps at most 4095 bytes of a line and drops the rest without a word.
TERMINAL_LINE_BYTES = 4095
CUT_BY_TERMINAL = "\x00cut"  # read_message's answer for such a line: never sent as a message
_TYPES = {".heic": "image/heic", ".heif": "image/heic", ".jpeg": "image/jpeg", ".jpg": "image/jpeg"}


class Quit(Exception):
    """The person asked to leave (/quit)."""


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
            name = name.split("@")[0]
            if name.lower() in QUIT_COMMANDS:
                raise Quit
            if name.lower() == "attach":
                return self._attachment(args[0] if args else "")
            return Command(self.sender, name, args[0] if args else "")
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

    def _attachment(self, args: str) -> Event | str:
        """/attach PATH [说明]: the file checked as any channel checks an upload, then sent."""
        try:
            words = shlex.split(args)
        except ValueError:
            words = args.split()
        if not words:
            return say("console_attach_usage")
        caption = " ".join(words[1:])
        try:
            path = Path(words[0]).expanduser()
            if path.is_dir():
                return say("console_attach_folder", path=path)
            if not path.is_file():
                return say("console_attach_missing", path=path)
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:  # said before a 2 GB file is read
                return refusal_text(Refusal("file_too_big"), path.name, size)
            data = path.read_bytes()
        except (OSError, RuntimeError) as error:  # unreadable; ~nosuchuser has no home to expand
            return say("console_attach_unreadable", path=words[0], reason=getattr(error, "strerror", None) or error)
        mime = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or _sniffed(data)
        refused = check_declared(mime, size) or check_upload(data, mime)
        if refused is not None:
            return refusal_text(refused, path.name, size)
        return FileReceived(self.sender, path.name, mime, data, caption)

    async def send(self, line: str) -> None:
        if self.echo:
            self.out.write(f"> {line}\n")
        event = self.event_for(line)
        if isinstance(event, str):
            self.out.write(event + "\n\n")
            return
        self.show(await self.dispatcher.handle(event))
        if isinstance(event, Command) and event.name.lower() == "help":
            self.out.write(say("console_help") + "\n\n")
            self.out.flush()

    def show(self, replies: list[Reply]) -> None:
        # Like a chat, the newest buttons are the ones at hand.
        for reply in replies:
            self.out.write(reply.text + "\n")
            if reply.document is not None:
                self.out.write(say("console_document", name=reply.document_name or reply.document.name,
                                   path=reply.document) + "\n")
            self._choice_only = reply.choice_only
            if reply.buttons:
                self._buttons = reply.all_buttons
                labels = "  ".join(f"[{n}] {b.label}" for n, b in enumerate(self._buttons, start=1))
                self.out.write(labels + "\n")
            self.out.write("\n")
        self.out.flush()

    async def run(self, stream: TextIO, opening: str = "/start") -> None:
        """Read until the end of input or /quit; `opening` is sent first (the office's desk opens with /admin)."""
        interactive = stream.isatty()
        if interactive:
            self.out.write(BRACKETED_PASTE_ON + say("console_intro") + "\n\n")
        try:
            await self.send(opening)
            while True:
                if interactive:
                    self.out.write("> ")
                    self.out.flush()
                message = await asyncio.to_thread(read_message, stream, interactive)
                if message is None:
                    break
                if message == CUT_BY_TERMINAL:
                    self.out.write(say("console_line_cut", limit=TERMINAL_LINE_BYTES) + "\n\n")
                    continue
                if message.strip() or interactive:
                    # A blank line in a piped script is nothing; at a prompt, Enter alone is asked about.
                    await self.send(message)
        except Quit:
            pass
        finally:
            if interactive:
                self.out.write(BRACKETED_PASTE_OFF)
        self.out.write(say("console_bye") + "\n")
        self.out.flush()


def read_message(stream: TextIO, interactive: bool) -> str | None:
    """The next message: one line, or at a terminal every line of a paste; None at the end of input.

    A terminal that marks pastes (bracketed paste, asked for by `run`) wraps one in PASTE_START and
    PASTE_END: everything between is one message, even when its last line waits for Enter. Without
    the marks, what is still in the terminal's queue right after a line is the rest of a paste (at a
    terminal each read returns one line).
    """
    line = stream.readline()
    if not line:
        return None
    lines = [line]
    if interactive and PASTE_START in line:
        while PASTE_END not in lines[-1]:
            more = stream.readline()
            if not more:
                break
            lines.append(more)
    while interactive and select.select([stream], [], [], PASTE_GAP_SECONDS)[0]:
        more = stream.readline()
        if not more:
            break
        lines.append(more)
    if interactive and any(len(raw.encode()) >= TERMINAL_LINE_BYTES for raw in lines):
        return CUT_BY_TERMINAL
    return "".join(lines).replace(PASTE_START, "").replace(PASTE_END, "").strip("\n")


def _sniffed(data: bytes) -> str:
    """A file's type from its first bytes, for a file named without a known extension."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "image/heic"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return ""


def _is_number(text: str) -> bool:
    # isdigit() is also true for ① and ², which int() refuses.
    return text.isascii() and text.isdecimal()
