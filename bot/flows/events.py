"""What a channel hands to the flows, and what the flows hand back: no platform objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# The terminal's channel, which the outbox never delivers to: defined by the sender (below the flows).
from bot.sender import UNREACHABLE as UNREACHABLE
from bot.validation import clean_text


@dataclass(frozen=True)
class Sender:
    """Who an event comes from: a channel name and the id that channel knows them by."""

    channel: str
    user_id: str
    display_name: str = ""

    def __post_init__(self) -> None:
        # A platform name is typed by anyone: a U+202E in it would reverse how the office's list shows it.
        object.__setattr__(self, "display_name", " ".join(clean_text(self.display_name).split()))

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.user_id}"


def person_name(first: str | None, last: str | None) -> str:
    """A name given as first and last name, in the order its language writes it.

    Telegram asks for a first and a last name; a Chinese user types 雪梅 and 赵, and is 赵雪梅,
    not "雪梅 赵". A Latin name keeps its Western order and its space.
    """
    first, last = (first or "").strip(), (last or "").strip()
    if first and last and _han(first) and _han(last):
        return last + first
    return " ".join(part for part in (first, last) if part)


def _han(text: str) -> bool:
    return all("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch == "·" for ch in text)


@dataclass(frozen=True)
class Text:
    sender: Sender
    text: str
    message_ref: str | None = None


@dataclass(frozen=True)
class Command:
    sender: Sender
    name: str
    args: str = ""


@dataclass(frozen=True)
class ButtonPress:
    sender: Sender
    data: str


@dataclass(frozen=True)
class EditedText:
    sender: Sender
    text: str
    message_ref: str


@dataclass(frozen=True)
class FileReceived:
    """A file the channel has received and checked (bot.uploads): its bytes, not yet kept anywhere.

    The interview decides whether it is kept (on a question) or not (before consent, on the
    申报表): a file that will not be kept is never written to disk.
    """

    sender: Sender
    file_name: str
    mime_type: str
    data: bytes = field(repr=False)
    caption: str = ""
    message_ref: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


Event = Text | Command | ButtonPress | EditedText | FileReceived


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # at most 64 bytes: Telegram's limit for callback_data


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    # True when the prompt wants one of the buttons and no free text (the console then
    # lets a bare number pick a button).
    choice_only: bool = False
    document: Path | None = None
    document_name: str | None = None

    @property
    def all_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


def keyboard(*rows: list[Button] | tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(row) for row in rows if row)
