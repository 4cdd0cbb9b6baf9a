"""What a channel hands to the flows, and what the flows hand back: no platform objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
