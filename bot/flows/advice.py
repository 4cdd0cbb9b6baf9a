"""What an assessor would miss in an answer, said once, at the right moment.

The bot invites long answers in several messages, so a warning after the first part ("偏短")
is wrong by the time the second arrives. The save confirmation counts characters (and says
at once when a part goes over a length budget); the advice (偏短, missing evidence, a process
answer's missing example) comes when the applicant leaves
the question (next, back, 目录, finish) or, if they stop there, after a pause, through the
outbox; once: leaving again, or a pause after another part, repeats nothing already said.

Each piece of advice is one outbox row, keyed by a hash of what it says, so the same points are
never given twice for a question (the answer growing part by part changes none of them). Pending:
waiting out the pause (a newer part, an edit or a file removes it and queues its own). Any other
status: given already, in a reply (stored as dropped: the reply carried it) or by the sender.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from bot import evidence
from bot.advice_outbox import KIND, outdated  # noqa: F401  (queued advice: its kind, its staleness)
from bot.criteria import Criteria, Question
from bot.flows import callbacks as cb
from bot.flows import review
from bot.flows.events import Button, Reply, Sender, keyboard
from bot.flows.later import later
from bot.storage import Application, Outgoing, Storage
from bot.validation import count_chars
from bot.wording import say

PAUSE = timedelta(minutes=10)
READINGS_KEPT = 256
Reading = tuple[list[evidence.EvidenceWarning], str | None]  # the warnings, or else a process answer's hint
# Channels whose people can be sent a message later (the outbox sender delivers there); in the
# terminal the advice comes only when the question is left.
LATER_CHANNELS = frozenset({"telegram", "web"})


def key(application_id: int, question_id: str, notes: list[str]) -> str:
    """The outbox key of this advice on this question: the same points are the same advice."""
    digest = hashlib.sha256("\n".join(notes).encode("utf-8")).hexdigest()[:20]
    return f"{_prefix(application_id, question_id)}{digest}"


def _prefix(application_id: int, question_id: str) -> str:
    return f"{KIND}:{application_id}:{question_id}:"


class Advice:
    def __init__(self, storage: Storage, criteria: Criteria, *, pause: timedelta = PAUSE,
                 later_channels: frozenset[str] = LATER_CHANNELS) -> None:
        self.storage = storage
        self.criteria = criteria
        self.pause = pause
        self.later_channels = later_channels
        # The last readings: an answer is read when saved and again when its question is left.
        self._read: OrderedDict[tuple[str, str, int], Reading] = OrderedDict()

    async def lines(self, app: Application, question: Question, answer: str, attached: int | None = None) -> list[str]:
        """What an assessor would miss in the answer as it stands; [] when nothing.

        Going over a length budget is not advice: it is said at once, with the part that did it.
        `attached`: the question's number of files, when the caller has it already.
        """
        notes: list[str] = []
        if attached is None:
            attached = (await self.storage.attachment_counts(app.id)).get(question.id, 0)
        found, hint = await self._reading(question, answer, attached)
        if found:
            notes += [say("advice_warnings", id=question.id)] + [f"· {w.message}\n  {w.example}" for w in found]
        elif hint:
            notes += [say("advice_about", id=question.id), hint]
        return notes

    async def _reading(self, question: Question, answer: str, attached: int) -> Reading:
        key = (question.id, answer, attached)
        reading = self._read.get(key)
        if reading is None:
            # Off the event loop: a long answer must not hold up everyone else's replies.
            reading = self._read[key] = await asyncio.to_thread(_advice, question, answer, attached)
            while len(self._read) > READINGS_KEPT:
                self._read.popitem(last=False)
        return reading

    async def saved(self, app: Application, sender: Sender, question: Question, answer: str,
                    attached: int | None = None) -> None:
        """The answer changed (a part, an edit, a file): its advice waits out a new pause.

        Advice already given is not queued again, however many parts follow: the same points
        twice would be nagging. Different points are new advice. Done once the reply is sent
        (bot/flows/later.py): the reply says nothing of it, and reading the answer takes time.
        """
        await later(lambda: self._queue(app, sender, question, answer, attached))

    async def _queue(self, app: Application, sender: Sender, question: Question, answer: str,
                     attached: int | None) -> None:
        await self.storage.forget_pending(_prefix(app.id, question.id))
        if sender.channel not in self.later_channels or not answer:
            return
        notes = await self.lines(app, question, answer, attached)
        wanted = key(app.id, question.id, notes)
        if not notes or await self.storage.message_status(wanted) is not None:
            return
        await self.storage.enqueue(Outgoing(
            sender.channel, sender.user_id, KIND,
            {"text": "\n".join(notes), "buttons": _buttons(question), "question": question.id},
            applicant_id=app.applicant_id, dedupe_key=wanted,
            not_before=(datetime.now(UTC) + self.pause).isoformat(timespec="seconds")))

    async def leaving(self, app: Application, question: Question, answer: str | None = None,
                      attached: int | None = None) -> Reply | None:
        """The advice not yet given for the answer as it stands, now that the applicant moves on.

        `answer` and `attached` (its number of files): as the caller has them already, or read here.
        """
        await self.storage.forget_pending(_prefix(app.id, question.id))
        if answer is None:
            answer = await self.storage.answer(app.id, question.id)
        notes = await self.lines(app, question, answer, attached) if answer else []
        wanted = key(app.id, question.id, notes)
        if not notes or await self.storage.message_status(wanted) is not None:
            return None  # nothing to say, or said already (in chat or after a pause)
        await self.storage.record_given(Outgoing(
            "", "", KIND, {"question": question.id}, applicant_id=app.applicant_id, dedupe_key=wanted))
        back = Button(say("btn_back_to", id=question.id), cb.encode(cb.GO, question.id))
        return Reply("\n".join(notes), keyboard([back]))

    async def settled(self, app: Application, question: Question) -> None:
        """The applicant saw a summary that covers this answer (/finish): nothing more to give."""
        await self.leaving(app, question)

    async def over_budget(self, app: Application, question: Question, answer: str,
                          answers: dict[str, str] | None = None) -> list[str]:
        """The length budgets the answer (or the whole report) now goes over (`answers`: all of them,
        when the caller has them already)."""
        notes = []
        limit = self.criteria.max_chars(question)
        chars = count_chars(answer)
        if limit and chars > limit:
            notes.append(say("over_question_budget", chars=chars, max=limit, over=chars - limit))
        report_limit = self.criteria.budget.report_max_chars
        if report_limit:
            total = review.total_chars(answers if answers is not None else await self.storage.answers(app.id))
            if total > report_limit:
                notes.append(say("over_report_budget", chars=total, max=report_limit))
        return notes


def _buttons(question: Question) -> list[list[list[str]]]:
    return [[[say("btn_back_to", id=question.id), cb.encode(cb.GO, question.id)]]]


def _advice(question: Question, answer: str, attached: int) -> Reading:
    """The warnings for an answer, or else the hint for a process answer (one trip to a thread)."""
    found = [w for w in evidence.check(question, answer, attached) if w.code != "empty"]
    return found, None if found else evidence.process_hint(question, answer)
