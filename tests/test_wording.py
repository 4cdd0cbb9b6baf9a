"""All wording sits in bot/messages.yaml: every sentence the code asks for is there, none is orphaned."""

from __future__ import annotations

import re
import string

from bot.coaching import PROCESS, REMINDER_GAPS, RESULTS
from bot.criteria import WARNING_CODES
from bot.wording import messages
from tests.conftest import ROOT


def keys_used_in_code() -> set[str]:
    used = set()
    for path in (ROOT / "bot").rglob("*.py"):
        used |= set(re.findall(r'say\("([a-z_]+)"', path.read_text(encoding="utf-8")))
    # The web pages' templates ask for their wording the same way.
    for path in (ROOT / "bot" / "web" / "templates").glob("*.html"):
        used |= set(re.findall(r'say\("([a-z_]+)"', path.read_text(encoding="utf-8")))
    # Validation reports its findings as wording keys.
    validation = (ROOT / "bot" / "validation.py").read_text(encoding="utf-8")
    used |= set(re.findall(r'Invalid\("([a-z_]+)"', validation))
    # Evidence warnings are worded per stable code: evidence_<code> and evidence_<code>_example.
    used |= {f"evidence_{code}{suffix}" for code in WARNING_CODES for suffix in ("", "_example")}
    used |= {f"evidence_label_{code}" for code in WARNING_CODES}
    # Coaching is worded per dimension of each kind of item, and a reminder per gap it may name.
    used |= {f"coach_{part}_{kind}_{d}" for part in ("dim", "explain")
             for kind, dims in (("process", PROCESS), ("result", RESULTS)) for d in dims}
    used |= {f"coach_reminder_{gap}" for gap in REMINDER_GAPS}
    return used


def test_every_wording_key_the_code_uses_exists_and_none_is_unused() -> None:
    used, known = keys_used_in_code(), set(messages())
    assert used - known == set(), "missing from messages.yaml"
    assert known - used == set(), "never used"


def test_wording_is_chinese_and_placeholders_are_well_formed() -> None:
    for key, text in messages().items():
        list(string.Formatter().parse(text))  # raises on a stray { or }
        if not key.startswith("btn_") or re.search(r"[\u4e00-\u9fff]", text):
            assert re.search(r"[\u4e00-\u9fff]", text) or "{" in text, key


def test_no_message_is_cut_short_by_a_yaml_comment() -> None:
    # An unquoted ' #' starts a YAML comment and silently drops the rest of the sentence.
    for line in (ROOT / "bot" / "messages.yaml").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, value = line.partition(": ")
        if " #" in value:
            assert value.lstrip().startswith(('"', "'")), f"quote the text of {key}"
