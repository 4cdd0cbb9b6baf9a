"""What a typed message means when it is really a tap: a button's word, or a number picking one.

People type what they see. "下一题" typed under a question is the 下一题 button, not a
three-character answer; "1" under the 目录 opens category 1. The interview remembers the
buttons it last showed (``Offered``, stored with the application) and asks this module, before
saving any text, whether the text names one of them or one of the buttons of the current step.

A word is matched only against buttons on screen, so a word never does something the
applicant could not have tapped. A bare number is a choice where the message offered numbered
choices (a menu, a choice-only prompt); where a number may just as well be an answer (under a
question), the applicant is asked which they meant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from bot.flows import callbacks as cb
from bot.flows.events import Button, Reply
from bot.wording import messages, say

# The labels that stand for the same action: "跳过" under an answered question is its 下一题.
_SAME_ACTION = {
    cb.NEXT.code: ("btn_next", "btn_skip"),
    cb.BACK.code: ("btn_back", "btn_back_field"),
    cb.KEEP.code: ("btn_keep", "btn_field_done", "btn_next"),
    cb.SKIP_FIELD.code: ("btn_skip_field", "btn_skip"),
    cb.MENU.code: ("btn_menu", "btn_menu_back"),
    cb.HERE.code: ("btn_continue", "btn_keep_editing"),
}
# Short words people type for a button with a longer label.
_MORE_WORDS: dict[str, Callable[[], str]] = {cb.CONSENT_YES.code: lambda: say("typed_agree_words"),
                                              cb.CONSENT_NO.code: lambda: say("typed_decline_words")}
# What decorates a label or a typed word without changing it: arrows, brackets, end punctuation.
_DECORATION = "▶◀►◄→←「」『』【】[]()（）<>《》\"'“”‘’.。!！?？~～、,，:：;；…-—_*#＃ "
_COUNT = re.compile(r"[（(]\s*\d+\s*[)）]")
_ID = re.compile(r"^\d+(?:\.\d+)?[a-z]?$")
MAX_NUMBER_DIGITS = 6
MAX_WORD_CHARS = 20  # longer than any label


@dataclass(frozen=True)
class Offered:
    """The buttons of the latest reply that had any; `numbered`: it offered a choice by number."""

    buttons: tuple[Button, ...] = ()
    numbered: bool = False

    def dump(self) -> str:
        return json.dumps({"b": [[b.label, b.data] for b in self.buttons], "n": self.numbered},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def load(cls, stored: str) -> Offered:
        try:
            data = json.loads(stored) if stored else {}
            return cls(tuple(Button(str(label), str(value)) for label, value in data.get("b", [])),
                       bool(data.get("n", False)))
        except (ValueError, TypeError, AttributeError):
            # Written by an older version or damaged: no buttons remembered, text stays text.
            return cls()

    def is_menu(self) -> bool:
        """The 目录 or one of its categories is on screen: a typed item or question id goes there."""
        return any(b.data.startswith((f"{cb.CATEGORY.code}:", f"{cb.GO.code}:")) for b in self.buttons)

    @classmethod
    def of(cls, replies: list[Reply]) -> Offered | None:
        """What these replies leave on screen; None when none of them has buttons (the earlier stay)."""
        shown = [reply for reply in replies if reply.buttons]
        if not shown:
            return None
        return cls(tuple(shown[-1].all_buttons), shown[-1].choice_only)


@dataclass(frozen=True)
class Pick:
    """The text is this button: do what tapping it does."""

    button: Button


@dataclass(frozen=True)
class Ask:
    """The text may be this button or an answer: ask which."""

    button: Button
    text: str


def normalize(text: str) -> str:
    """A word as compared: full-width folded, decoration and spaces gone, lower case."""
    folded = "".join(_fold(ch) for ch in text).casefold()
    return "".join(ch for ch in folded.strip(_DECORATION) if not ch.isspace())


def _fold(ch: str) -> str:
    # Only what a phone keyboard types for a plain character: full-width forms (１, Ａ) and circled
    # numbers (①). Not NFKC as a whole: a superscript ² is nobody's way of typing 2.
    if "\uff01" <= ch <= "\uff5e":
        return chr(ord(ch) - 0xFEE0)
    if "\u2460" <= ch <= "\u2473":
        return str(ord(ch) - 0x245F)
    return ch


def words(button: Button) -> set[str]:
    """Every typed form that means this button."""
    label = button.label
    found = {normalize(label), normalize(_COUNT.sub("", label))}
    first, _, rest = label.strip().partition(" ")
    if rest and _ID.match(first):
        # A 目录 entry "1 意识与素质" or "1.1 质量意识": its number or its title alone.
        found |= {normalize(first), normalize(rest)}
    action = button.data.partition(":")[0]
    found |= {normalize(say(key)) for key in _SAME_ACTION.get(action, ())}
    if button.data in _MORE_WORDS:
        found |= {normalize(word) for word in _MORE_WORDS[button.data]().split()}
    found.discard("")
    return found


def is_a_button_word(text: str) -> bool:
    """The label of one of the interview's buttons, wherever it is shown (目录, 跳过, 完成本项 …)."""
    return normalize(text) in _button_words()


@cache
def _button_words() -> frozenset[str]:
    labels = [text for key, text in messages().items() if key.startswith("btn_") and "{" not in text]
    words = {normalize(label) for label in labels}
    words.discard("")
    return frozenset(words)


def everywhere(text: str) -> str | None:
    """The button data of a word that works on every step, as its command does (目录, 进度, 回顾全部)."""
    word = normalize(text)
    for action, label in ((cb.MENU, say("btn_menu")), (cb.PROGRESS, say("btn_progress")),
                          (cb.REVIEW, say("btn_review"))):
        if word == normalize(label):
            return cb.encode(action)
    return None


def could_be_a_tap(text: str) -> bool:
    """Short enough to be a button's word or a number: anything longer is an answer, looked at no further."""
    # The raw length first: a 50,000-character answer is not folded character by character.
    return len(text) <= 10 * MAX_WORD_CHARS and 0 < len(normalize(text)) <= MAX_WORD_CHARS


def interpret(text: str, offered: Offered, here: tuple[Button, ...], *, free_text: bool,
              numbers_expected: bool) -> Pick | Ask | None:
    """What `text` means given the buttons on screen (`offered`) and those of the current step.

    free_text: the step keeps a typed text (a question, a 申报表 field); numbers_expected: it is a
    number field (工作年限, 电话), where a number is always the answer. None: the text is text.
    """
    word = normalize(text)
    if not could_be_a_tap(word):
        return None
    for button in (*offered.buttons, *here):
        if word in words(button):
            return Pick(button)
    if not (word.isascii() and word.isdecimal() and len(word) <= MAX_NUMBER_DIGITS) or numbers_expected:
        return None
    n = int(word)
    if not 1 <= n <= len(offered.buttons):
        return None
    button = offered.buttons[n - 1]
    if offered.numbered or not free_text:
        return Pick(button)
    return Ask(button, word)


def plain_label(button: Button) -> str:
    """A label as quoted in a sentence: without its arrows."""
    return button.label.strip(" ▶◀")
