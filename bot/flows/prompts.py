"""What the applicant sees: the prompt for each step, its buttons, the 目录 and the end.

Rendering only: everything comes from the turn (read once per event) and the criteria. The
buttons are built with the callback codec, so the formats live in one place.
"""

from __future__ import annotations

from bot import profile_view
from bot.criteria import ProfileField, Question
from bot.flows import callbacks as cb
from bot.flows import returned, review, table_field
from bot.flows.events import Button, Reply, Sender, keyboard
from bot.flows.transitions import END, REPLACE
from bot.flows.turn import Context, Turn
from bot.returns import PROFILE
from bot.validation import count_chars
from bot.wording import say

PREVIEW_CHARS = 120

Keyboard = tuple[tuple[Button, ...], ...]


class Prompts:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.criteria = ctx.criteria

    async def prompt(self, turn: Turn) -> Reply:
        """What the applicant sees for the step they are on."""
        step = turn.app.step
        if step.startswith("p:"):
            return await self._field(turn, step[2:])
        question = self.ctx.steps.question(step)
        if question is None:
            return self.end(turn)
        answer = turn.answer(question.id)
        text = say("question_prompt", label=review.question_label(self.criteria, question),
                   n=self.criteria.question_index[question.id] + 1, total=len(self.criteria.questions),
                   answered=len(turn.answers), id=question.id, text=question.text, hint=question.hint,
                   example=question.example)
        limit = self.criteria.max_chars(question)
        if limit:
            text += "\n" + say("question_budget", max=limit)
        note = returned.on_step(await self.ctx.back(turn), question.id)
        if note:
            text += "\n\n" + note
        preview = answer if len(answer) <= PREVIEW_CHARS else answer[:PREVIEW_CHARS] + "……"
        if turn.app.mode == REPLACE:
            text += "\n\n" + say("question_rewriting", chars=count_chars(answer), preview=preview)
            text += "\n" + say("rewrite_prompt", id=question.id)
            return Reply(text, self.cancel_buttons(question))
        if answer:
            text += "\n\n" + say("question_has_answer", chars=count_chars(answer), preview=preview)
        else:
            text += "\n\n" + say("question_invite")
        return Reply(text, self.buttons_for(turn, question))

    async def _field(self, turn: Turn, key: str) -> Reply:
        field = self.criteria.field(key)
        assert field is not None  # the step was settled against the criteria first
        current = turn.profile.get(field.key)
        number = [f.key for f in self.criteria.profile].index(field.key) + 1
        text = say("profile_prompt", n=number, total=len(self.criteria.profile), label=field.label,
                   required=say("required") if field.required else say("optional"))
        if field.help:
            text += "\n" + field.help
        note = returned.on_step(await self.ctx.back(turn), PROFILE)
        if field.type == "table":
            text += "\n" + table_field.prompt_extra(field, current, turn.app.mode)
            return Reply(text + ("\n\n" + note if note else ""),
                         table_field.buttons(field, current, turn.app.mode, self.back_field(field)))
        if current:
            text += "\n" + say("profile_current", value=profile_view.shown(field, current, office=False))
        if note:
            text += "\n\n" + note
        return Reply(text, self.profile_buttons(field, current), choice_only=field.type == "choice" and not current)

    # -- buttons -----------------------------------------------------------------------------

    def question_buttons(self, question: Question, answered: bool, files: int = 0) -> Keyboard:
        qid = question.id
        first = [Button(say("btn_next") if answered else say("btn_skip"), cb.encode(cb.NEXT, qid))]
        if answered:
            first.append(Button(say("btn_rewrite"), cb.encode(cb.REWRITE, qid)))
            first.append(Button(say("btn_show"), cb.encode(cb.SHOW, qid)))
        second = [Button(say("btn_back"), cb.encode(cb.BACK, qid)), Button(say("btn_menu"), cb.encode(cb.MENU))]
        if files:
            second.append(Button(say("btn_files", count=files), cb.encode(cb.FILES, qid)))
        return keyboard(
            first,
            second,
            [Button(say("btn_progress"), cb.encode(cb.PROGRESS)), Button(say("btn_finish"), cb.encode(cb.FINISH))],
        )

    def buttons_for(self, turn: Turn, question: Question) -> Keyboard:
        """The question's buttons as things stand: answered or not, with its files if it has any."""
        return self.question_buttons(question, bool(turn.answer(question.id)), turn.files.get(question.id, 0))

    def clear_button(self, question: Question) -> Button:
        return Button(say("btn_clear"), cb.encode(cb.CLEAR, question.id))

    def cancel_buttons(self, question: Question) -> Keyboard:
        return keyboard([Button(say("btn_cancel"), cb.encode(cb.CANCEL, question.id))])

    def profile_buttons(self, field: ProfileField, current: str | None, *, finishing: bool = False) -> Keyboard:
        rows: list[list[Button]] = []
        choices = [Button(choice, cb.encode(cb.PICK, field.key, n)) for n, choice in enumerate(field.choices)]
        rows += [choices[n:n + 3] for n in range(0, len(choices), 3)]
        extra = []
        if finishing:
            extra.append(Button(say("btn_field_done"), cb.encode(cb.KEEP, field.key)))
        elif current:
            extra.append(Button(say("btn_keep"), cb.encode(cb.KEEP, field.key)))
        elif not field.required:
            extra.append(Button(say("btn_skip_field"), cb.encode(cb.SKIP_FIELD, field.key)))
        back = self.back_field(field)
        if back is not None:
            extra.append(back)
        rows.append(extra)
        return keyboard(*rows)

    def back_field(self, field: ProfileField) -> Button | None:
        if field.key == self.criteria.profile[0].key:
            return None
        return Button(say("btn_back_field"), cb.encode(cb.BACK, f"p:{field.key}"))

    # -- the end, the 目录, consent, submitted -------------------------------------------------------

    def end(self, turn: Turn) -> Reply:
        gaps = review.gaps(self.criteria, turn.profile, turn.answers)
        total = len(self.criteria.questions)
        answered = total - len(gaps.questions)
        text = say("end_reached_full", total=total) if answered == total else \
            say("end_reached", answered=answered, total=total)
        if gaps.count:
            text += "\n" + gaps.describe()
        return Reply(text, self.end_actions().buttons)

    def end_actions(self) -> Reply:
        return Reply(say("end_actions"), keyboard(
            [Button(say("btn_review"), cb.encode(cb.REVIEW)), Button(say("btn_finish"), cb.encode(cb.FINISH))],
            [Button(say("btn_back"), cb.encode(cb.BACK, END)), Button(say("btn_menu"), cb.encode(cb.MENU))],
        ))

    def menu(self) -> Reply:
        buttons = [Button(f"{c.id} {c.title}", cb.encode(cb.CATEGORY, c.id)) for c in self.criteria.categories]
        rows = [buttons[n:n + 2] for n in range(0, len(buttons), 2)]
        rows.append([Button(say("btn_profile"), cb.encode(cb.GO, "p")),
                     Button(say("btn_continue"), cb.encode(cb.HERE))])
        return Reply(say("menu_categories"), keyboard(*rows), choice_only=True)

    def item_menu(self, category_id: str) -> Reply:
        category = self.criteria.category(category_id)
        assert category is not None
        rows = [[Button(f"{i.id} {i.title}", cb.encode(cb.GO, i.id))] for i in category.items]
        rows.append([Button(say("btn_menu_back"), cb.encode(cb.MENU))])
        return Reply(say("menu_items", id=category.id, title=category.title), keyboard(*rows), choice_only=True)

    def consent(self, sender: Sender) -> Reply:
        name = sender.display_name or say("default_name")
        return Reply(
            say("welcome", name=name, award=self.criteria.award, questions=len(self.criteria.questions),
                fields=len(self.criteria.profile)),
            keyboard([Button(say("btn_consent_yes"), cb.encode(cb.CONSENT_YES)),
                      Button(say("btn_consent_no"), cb.encode(cb.CONSENT_NO))]),
            choice_only=True,
        )

    def submitted(self, turn: Turn) -> Reply:
        return Reply(say("already_submitted", when=self.ctx.local(turn.app.submitted_at)),
                     keyboard([Button(say("btn_review"), cb.encode(cb.REVIEW)),
                               Button(say("btn_reopen"), cb.encode(cb.REOPEN))]))

    def here(self, turn: Turn) -> str:
        """Where the applicant is, in a few words (for /progress)."""
        question = self.ctx.steps.question(turn.app.step)
        if question is not None:
            return say("here_question", n=self.criteria.question_index[question.id] + 1, id=question.id)
        if turn.app.step.startswith("p:"):
            field = self.criteria.field(turn.app.step[2:])
            return say("here_profile", label=field.label if field else "")
        return say("here_end")

    def arrival_note(self, turn: Turn, from_step: str, to_step: str) -> str:
        """A word of orientation when the 申报表 is left for the 自评报告: done, or what is still open."""
        if not (from_step.startswith("p:") and to_step.startswith("q:")):
            return ""
        missing = review.gaps(self.criteria, turn.profile, {}).fields
        if missing:
            return say("profile_left_open", count=len(missing), fields="、".join(missing))
        if to_step == f"q:{self.criteria.questions[0].id}":
            return say("profile_done", questions=len(self.criteria.questions))
        return ""
