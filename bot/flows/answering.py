"""Answers to the 自评报告's questions: typed, edited, rewritten, undone, cleared; and their files."""

from __future__ import annotations

import logging

from bot.flows import callbacks as cb
from bot.flows.events import FileReceived, Reply, keyboard
from bot.flows.navigation import Navigation
from bot.flows.prompts import Prompts
from bot.flows.transitions import APPEND, REPLACE
from bot.flows.turn import Context, Turn
from bot.validation import Invalid, clean_text, count_chars, validate_field
from bot.wording import say

log = logging.getLogger(__name__)

# One answer may not grow beyond this: far above any sensible budget, it only protects
# the document and the database from a runaway paste.
MAX_ANSWER_CHARS = 50_000


class Answering:
    def __init__(self, ctx: Context, prompts: Prompts, nav: Navigation) -> None:
        self.ctx = ctx
        self.prompts = prompts
        self.nav = nav

    async def text(self, turn: Turn, text: str, ref: str | None) -> list[Reply]:
        """A message on a question: the answer, or its next part; a rewrite replaces it."""
        question = self.ctx.steps.question(turn.app.step)
        if question is None:
            return [Reply(say("text_at_end")), self.prompts.end_actions()]
        replacing = turn.app.mode == REPLACE
        before = "" if replacing else turn.answer(question.id)
        if len(before) + len(text) > MAX_ANSWER_CHARS:
            return [Reply(say("answer_too_long", id=question.id, before=count_chars(before), chars=count_chars(text),
                              max=MAX_ANSWER_CHARS),
                          buttons=self.prompts.question_buttons(question, bool(before)))]
        storage = self.ctx.storage
        if replacing:
            answer = await storage.replace_answer(turn.app.id, question.id, text, ref)
        else:
            answer = await storage.append_answer(turn.app.id, question.id, text, ref)
        turn.answers[question.id] = answer
        if turn.app.mode:
            await self.ctx.move(turn, mode="")
        log.info("answer saved applicant=%s question=%s chars=%d", turn.sender.key, question.id, len(answer))
        chars = count_chars(answer)
        if replacing:
            saved = say("saved_replaced", id=question.id, chars=chars)
        elif before:
            saved = say("saved_appended", id=question.id, chars=chars)
        else:
            saved = say("saved_first", id=question.id, chars=chars)
        # What is missing is said once the applicant moves on (or pauses), not after every part.
        attached = turn.files.get(question.id, 0)
        await self.ctx.advice.saved(turn.app, turn.sender, question, answer, attached)
        lines = [saved, *await self.ctx.advice.over_budget(turn.app, question, answer, turn.answers)]
        return [Reply("\n".join(lines), buttons=self.prompts.buttons_for(turn, question))]

    async def edited(self, turn: Turn, raw: str, ref: str) -> list[Reply]:
        """An edited earlier message: applied where that message still stands alone."""
        text = clean_text(raw)
        if not text:
            return [Reply(say("edit_empty"))]
        app = turn.app
        edited = await self.ctx.storage.edit_message(app.id, ref, text, MAX_ANSWER_CHARS)
        if edited is not None and edited.too_long:
            return [Reply(say("edit_too_long", id=edited.question_id, max=MAX_ANSWER_CHARS))]
        if edited is not None and edited.answer is None:
            return [Reply(say("edit_superseded", id=edited.question_id))]
        if edited is not None and edited.answer is not None:
            turn.answers[edited.question_id] = edited.answer
            question = self.ctx.criteria.question(edited.question_id)
            if question is not None:
                await self.ctx.advice.saved(app, turn.sender, question, edited.answer)
            return [Reply(say("edit_applied", id=edited.question_id, chars=count_chars(edited.answer)))]
        key = await self.ctx.storage.profile_field_for_message(app.id, ref)
        field = self.ctx.criteria.field(key) if key else None
        if field is None:
            return [Reply(say("edit_unknown"))]
        if field.type == "table":
            return [Reply(say("table_edit_refused")), await self.prompts.prompt(turn)]
        value = validate_field(field, raw, today=self.ctx.now().date(), profile=turn.profile)
        if isinstance(value, Invalid):
            return [Reply(say(value.key, **value.params) + "\n" + say("edit_not_applied"))]
        await self.ctx.storage.set_profile_value(app.id, field.key, value, ref)
        turn.profile[field.key] = value
        applied = Reply(say("edit_profile_applied", label=field.label, value=value))
        if app.step == f"p:{field.key}" and app.mode != APPEND:
            return [applied]
        # Back to where the applicant was: the edit must not leave them guessing what comes next.
        return [applied, await self.prompts.prompt(turn)]

    async def file(self, turn: Turn, event: FileReceived) -> list[Reply]:
        """A certificate or photo sent on a question: kept as its evidence."""
        question = self.ctx.steps.question(turn.app.step)
        assert question is not None  # the engine sends files elsewhere to the 申报表 or the 目录
        text, count = await self.ctx.materials.receive(turn.app, question, event)
        if count is not None:
            turn.files[question.id] = count
        # A certificate may settle the advice waiting for a pause (缺证明材料): it is worked out again.
        await self.ctx.advice.saved(turn.app, turn.sender, question, turn.answer(question.id),
                                    turn.files.get(question.id, 0))
        return [Reply(text, buttons=self.prompts.buttons_for(turn, question))]

    # -- the current answer ------------------------------------------------------------------

    async def show(self, turn: Turn, _args: object = "") -> list[Reply]:
        question = self.ctx.steps.question(turn.app.step)
        if question is None:
            return [Reply(say("show_not_on_question")), await self.prompts.prompt(turn)]
        answer = turn.answer(question.id)
        # A submitted application is read-only: no buttons that would only bounce.
        editable = not turn.submitted
        if not answer:
            return [Reply(say("show_empty", id=question.id),
                          buttons=self.prompts.question_buttons(question, False) if editable else ())]
        buttons = keyboard(*self.prompts.question_buttons(question, True),
                           [self.prompts.clear_button(question)]) if editable else ()
        return [Reply(say("show_answer", id=question.id, chars=count_chars(answer), answer=answer), buttons=buttons)]

    async def rewrite(self, turn: Turn, _args: object = "") -> list[Reply]:
        question = self.ctx.steps.question(turn.app.step)
        if question is None:
            return [Reply(say("show_not_on_question")), await self.prompts.prompt(turn)]
        await self.ctx.move(turn, mode=REPLACE)
        return [Reply(say("rewrite_prompt", id=question.id), self.prompts.cancel_buttons(question))]

    async def undo(self, turn: Turn, _args: object = "") -> list[Reply]:
        """Bring back the answer as it was before its latest change."""
        question = self.ctx.steps.question(turn.app.step)
        if question is None:
            return [Reply(say("show_not_on_question")), await self.prompts.prompt(turn)]
        history = await self.ctx.storage.history(turn.app.id, question.id)
        if not history:
            return [Reply(say("undo_nothing", id=question.id))]
        # Before the first version the answer was empty: undoing it empties the answer again.
        previous = history[-2].text if len(history) > 1 else ""
        answer = await self.ctx.storage.replace_answer(turn.app.id, question.id, previous, None)
        turn.answers[question.id] = answer
        await self.ctx.advice.saved(turn.app, turn.sender, question, answer)
        buttons = self.prompts.buttons_for(turn, question)
        if not answer:
            return [Reply(say("undo_emptied", id=question.id), buttons=buttons)]
        return [Reply(say("undo_done", id=question.id, chars=count_chars(answer), answer=answer), buttons=buttons)]

    async def clear(self, turn: Turn, _args: object = "") -> list[Reply]:
        """Empty the current answer: a stray message must not count as answered. /undo brings it back."""
        question = self.ctx.steps.question(turn.app.step)
        if question is None:
            return [Reply(say("show_not_on_question")), await self.prompts.prompt(turn)]
        before = turn.answer(question.id)
        if not before:
            return [Reply(say("clear_nothing", id=question.id), buttons=self.prompts.buttons_for(turn, question))]
        turn.answers[question.id] = await self.ctx.storage.replace_answer(turn.app.id, question.id, "", None)
        await self.ctx.move(turn, mode="")
        await self.ctx.advice.saved(turn.app, turn.sender, question, "")
        log.info("answer cleared applicant=%s question=%s", turn.sender.key, question.id)
        return [Reply(say("cleared", id=question.id, chars=count_chars(before)),
                      buttons=self.prompts.buttons_for(turn, question))]

    # -- evidence files ------------------------------------------------------------------------

    async def files(self, turn: Turn, _args: object = "") -> list[Reply]:
        question = self.ctx.steps.question(turn.app.step)
        if question is None:
            return [await self.ctx.materials.overview(turn.app)]
        return [await self.ctx.materials.listing(turn.app, question)]

    async def files_list(self, turn: Turn, tap: cb.Tap) -> list[Reply]:
        question = self.ctx.steps.question(turn.app.step)
        assert question is not None  # bound to the current question by the table
        return [await self.ctx.materials.listing(turn.app, question)]

    async def file_ask(self, turn: Turn, tap: cb.Tap) -> list[Reply]:
        question = self.ctx.steps.question(turn.app.step)
        number = tap.number("file")
        assert question is not None
        asked = await self.ctx.materials.ask(turn.app, question, number) if number is not None else None
        return [asked] if asked else await self.nav.stale(turn)

    async def file_remove(self, turn: Turn, tap: cb.Tap) -> list[Reply]:
        question = self.ctx.steps.question(turn.app.step)
        number = tap.number("file")
        assert question is not None
        removed = await self.ctx.materials.remove(turn.app, question, number) if number is not None else None
        if removed is None:
            return await self.nav.stale(turn)
        text, left = removed
        turn.files[question.id] = left
        return [Reply(text, buttons=self.prompts.buttons_for(turn, question))]
