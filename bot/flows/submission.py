"""Taking stock and handing in: progress, review, finish (with what is still open), submit, reopen.

A submission tells the award office through the outbox (`submission_notices`); the office never
calls back into the interview for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from bot import coaching, evidence
from bot.flows import callbacks as cb
from bot.flows import returned, review
from bot.flows.documents import submission_day
from bot.flows.events import UNREACHABLE, Button, Reply, keyboard
from bot.flows.prompts import Prompts
from bot.flows.transitions import CONFIRM_FINISH
from bot.flows.turn import Context, Turn
from bot.returns import profile_text
from bot.storage import Outgoing
from bot.wording import say

log = logging.getLogger(__name__)


class Submission:
    def __init__(self, ctx: Context, prompts: Prompts) -> None:
        self.ctx = ctx
        self.prompts = prompts
        self.criteria = ctx.criteria

    async def progress(self, turn: Turn, _args: object = "") -> list[Reply]:
        text = review.progress_text(self.criteria, turn.profile, turn.answers, self.prompts.here(turn))
        back = await self.ctx.back(turn)
        if back is not None:
            text += "\n" + returned.progress_line(self.criteria, back)
        if turn.submitted:
            return [Reply(text, self.prompts.submitted(turn).buttons)]
        return [Reply(text, keyboard(
            [Button(say("btn_continue"), cb.encode(cb.HERE)), Button(say("btn_menu"), cb.encode(cb.MENU))],
            [Button(say("btn_review"), cb.encode(cb.REVIEW)), Button(say("btn_draft"), cb.encode(cb.DRAFT))],
            [Button(say("btn_finish"), cb.encode(cb.FINISH))]), choice_only=True)]

    async def review(self, turn: Turn, _args: object = "") -> list[Reply]:
        replies = [Reply(text) for text in review.review_texts(self.criteria, turn.profile, turn.answers)]
        gaps = review.gaps(self.criteria, turn.profile, turn.answers)
        summary = say("review_done_empty", gaps=gaps.describe()) if gaps.count else say("review_done_full")
        advice = await self._evidence(turn)
        if advice:
            summary += "\n\n" + advice
        coached = await asyncio.to_thread(coaching.coach, self.criteria, turn.answers, turn.files)
        assessor = coaching.review_text(coached)
        if assessor:
            replies.append(Reply(assessor))
        if turn.submitted:
            replies.append(Reply(summary, self.prompts.submitted(turn).buttons))
        else:
            replies.append(Reply(summary, keyboard([Button(say("btn_continue"), cb.encode(cb.HERE)),
                                                    Button(say("btn_finish"), cb.encode(cb.FINISH))])))
        return replies

    async def finish(self, turn: Turn, _args: object = "") -> list[Reply]:
        """完成提交: what is still open, the evidence still missing, then confirm."""
        here = self.ctx.steps.question(turn.app.step)
        if here is not None:
            # The summary below covers this answer too: nothing is left to say about it later.
            await self.ctx.advice.settled(turn.app, here)
        gaps = review.gaps(self.criteria, turn.profile, turn.answers)
        await self.ctx.move(turn, mode=CONFIRM_FINISH)
        if gaps.count:
            text = say("finish_confirm_gaps", count=gaps.count, gaps=gaps.describe())
            yes = say("btn_finish_anyway")
        else:
            text = say("finish_confirm_full", chars=review.total_chars(turn.answers))
            yes = say("btn_finish_confirm")
        advice = await self._evidence(turn)
        if advice:
            text += "\n\n" + advice
        back = await self.ctx.back(turn)
        unchanged = back and returned.still_unchanged(self.criteria, back, turn.answers,
                                                      profile_text(self.criteria, turn.profile))
        if unchanged:
            text += "\n\n" + unchanged
        return [Reply(text, keyboard([Button(yes, cb.encode(cb.FINISH_YES))],
                                     [Button(say("btn_keep_editing"), cb.encode(cb.HERE))]), choice_only=True)]

    async def submit(self, turn: Turn, _tap: object = None) -> list[Reply]:
        # The step stays: after /reopen the applicant is back where they were.
        app = await self.ctx.move(turn, status="submitted", mode="")
        await self.ctx.returns.resolve(app.id)
        log.info("application submitted applicant=%s", turn.sender.key)
        when = self.ctx.local(app.submitted_at)
        replies = [Reply(say("submitted", when=when))]
        if self.ctx.coordinators and app.submitted_at:
            for notice in submission_notices(self.ctx.coordinators, app.applicant_id, app.id,
                                             turn.profile.get("name", ""), turn.profile.get("unit", ""), when,
                                             app.submitted_at):
                await self.ctx.storage.enqueue(notice)
        # The submission stands even if the document fails (a deadline matters more than a file);
        # /document makes the final version later.
        return replies + await self.ctx.documents.make(app, "final", submission_day(app, self.ctx.now()))

    async def reopen(self, turn: Turn, _args: object = "") -> list[Reply]:
        if not turn.submitted:
            return [Reply(say("reopen_not_needed")), await self.prompts.prompt(turn)]
        await self.ctx.move(turn, status="active", mode="")
        return [Reply(say("reopened")), await self.prompts.prompt(turn)]

    async def document(self, turn: Turn, _args: object = "") -> list[Reply]:
        return await self.ctx.documents.latest(turn.app, submission_day(turn.app, self.ctx.now()))

    async def draft(self, turn: Turn, _args: object = "") -> list[Reply]:
        if turn.submitted:
            # The submitted version is the one to look at; a draft would only confuse.
            return await self.document(turn)
        return await self.ctx.documents.make(turn.app, "draft", self.ctx.now().date())

    async def _evidence(self, turn: Turn) -> str | None:
        found = await asyncio.to_thread(evidence.check_application, self.criteria, turn.answers, turn.files)
        return evidence.summary(found)


def submission_notices(coordinators: Iterable[tuple[str, str]], applicant_id: int, application_id: int,
                       name: str, unit: str, when: str, submitted_at: str) -> list[Outgoing]:
    """The messages that tell each coordinator of a new submission (queued by the interview)."""
    text = say("co_submitted_notice", name=name or say("reminder_no_name"), unit=unit or "—", when=when)
    buttons = [[[say("co_btn_detail"), f"co:d:{applicant_id}"]]]
    return [Outgoing(channel, user, "notice", {"text": text, "buttons": buttons},
                     dedupe_key=f"submitted:{application_id}:{submitted_at}:{channel}:{user}", subject_id=applicant_id)
            for channel, user in coordinators if channel != UNREACHABLE]
