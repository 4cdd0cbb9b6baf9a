"""The applicant's interview: one event in, replies out, every bit of state in storage.

The applicant's place is a *step*: ``consent``, ``p:<field>`` for the 申报表,
``q:<question id>`` for the 自评报告, and ``end``. A *mode* qualifies it (``replace``
while rewriting an answer, ``append`` while a long 申报表 field is written in several
messages, ``confirm_finish`` while a finish waits for confirmation). Both are stored, so a
restart or a week's pause resumes at exactly the same place. A mode lasts only until the
applicant does something else: a rewrite never silently applies to a message typed later.

Buttons carry the step they were made for; a tap on a button from an old message is
recognised and answered with where the applicant is now, never applied to the wrong place.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import evidence, profile_view
from bot.criteria import Criteria, ProfileField, Question, parse_target
from bot.document import TEMPLATE
from bot.files import default_data_dir, keep_by_content
from bot.flows import advice, materials, photo_field, returned, review, table_field, typed
from bot.flows.coordinator import submission_notices
from bot.flows.data_rights import DataRights
from bot.flows.documents import Documents, submission_day
from bot.flows.events import (
    Button,
    ButtonPress,
    Command,
    EditedText,
    Event,
    FileReceived,
    Reply,
    Sender,
    Text,
    keyboard,
)
from bot.pdf import PdfConverter
from bot.returns import PROFILE, Returns, profile_text
from bot.storage import Application, Storage
from bot.validation import Invalid, clean_text, count_chars, validate_field
from bot.wording import say

log = logging.getLogger(__name__)

_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")

# One answer may not grow beyond this: far above any sensible budget, it only protects
# the document and the database from a runaway paste.
MAX_ANSWER_CHARS = 50_000
PREVIEW_CHARS = 120
ACTIVITY_RESOLUTION = timedelta(minutes=1)

CONSENT = "consent"
END = "end"
REPLACE = "replace"
APPEND = "append"
CONFIRM_FINISH = "confirm_finish"
CONFIRM_DELETE = "confirm_delete"
# Which commands a submitted application still answers: the ones that only read.
# Number fields, where a typed number is the answer and never a button.
NUMBER_FIELDS = ("integer", "phone", "year_month")
# The button that keeps a typed number as the answer after all: sv:<text>:<step>.
SAVE_TYPED = "sv"
READ_ONLY_COMMANDS = {"start", "help", "progress", "review", "reopen", "where", "show", "document", "draft",
                      "mydata", "delete"}  # the last two: an applicant's rights over their data never lapse


@dataclass
class Turn:
    """The applicant and their application for the event being handled."""

    sender: Sender
    app: Application


class Interview:
    def __init__(
        self,
        storage: Storage,
        criteria: Criteria,
        *,
        timezone: str = "Asia/Shanghai",
        data_dir: Path | None = None,
        template: Path = TEMPLATE,
        pdf: PdfConverter | None = None,
        coordinators: Iterable[tuple[str, str]] = (),
        advice_pause: timedelta = advice.PAUSE,
    ) -> None:
        self.storage = storage
        # This database's own files folder (received files, documents); absolute: paths are stored.
        folder = (data_dir or default_data_dir(storage.path)).absolute()
        self.documents = Documents(storage, criteria, folder / "documents", template=template, pdf=pdf)
        self.materials = materials.Materials(storage, folder / "attachments")
        # Told of each submission, and of an erasure, through the outbox.
        self.coordinators = tuple(coordinators)
        self.rights = DataRights(storage, lambda app: [self.documents.application_folder(app),
                                                       self.materials.folder_of(app)], self.coordinators)
        self.criteria = criteria
        self.advice = advice.Advice(storage, criteria, pause=advice_pause)
        self.returns = Returns(storage)
        self.tz = ZoneInfo(timezone)
        self.steps = [f"p:{f.key}" for f in criteria.profile] + [f"q:{q.id}" for q in criteria.questions] + [END]
        self._commands: dict[str, Callable[[Turn, str], Awaitable[list[Reply]]]] = {
            "start": self._cmd_start,
            "help": self._cmd_help,
            "next": self._cmd_next,
            "skip": self._cmd_next,
            "back": self._cmd_back,
            "jump": self._cmd_jump,
            "goto": self._cmd_jump,
            "menu": self._cmd_jump,
            "show": self._cmd_show,
            "rewrite": self._cmd_rewrite,
            "progress": self._cmd_progress,
            "review": self._cmd_review,
            "finish": self._cmd_finish,
            "profile": self._cmd_profile,
            "reopen": self._cmd_reopen,
            "cancel": self._cmd_cancel,
            "where": self._cmd_where,
            "undo": self._cmd_undo,
            "clear": self._cmd_clear,
            "document": self._cmd_document,
            "draft": self._cmd_draft,
            "mydata": self._cmd_mydata,
            "delete": self._cmd_delete,
            "files": self._cmd_files,
        }

    # -- entry point -----------------------------------------------------------------

    async def handle(self, event: Event) -> list[Reply]:
        sender = event.sender
        known = await self.storage.find_applicant(sender.channel, sender.user_id)
        app = await self.storage.application(known.id) if known else None
        if app is None or app.status == "consent":
            return await self._before_consent(sender, event)
        # Note the applicant as active (coordinators see it), keep their name current and clear a
        # 'blocked' mark; at most once a minute, as it costs a write on every event otherwise.
        assert known is not None
        stale = datetime.now(UTC) - datetime.fromisoformat(known.last_active_at) > ACTIVITY_RESOLUTION
        renamed = bool(sender.display_name) and sender.display_name != known.display_name
        if stale or renamed or known.blocked_at:
            await self.storage.applicant(sender.channel, sender.user_id, sender.display_name)
        turn = Turn(sender, app)
        replies = []
        if isinstance(event, Text):
            # Before the mode is settled: "1" at the finish prompt confirms it, as the tap would.
            meant = await self._typed(turn, event.text)
            if isinstance(meant, list):
                replies = meant
            elif meant is not None:
                event = meant
        if not replies:
            replies = await self._settle(turn, event) + await self._dispatch(turn, event)
        offered = typed.Offered.of(replies)
        if offered is not None and turn.app.offered != (dumped := offered.dump()):
            await self.storage.update_application(turn.app.id, offered=dumped)
        return replies

    async def _dispatch(self, turn: Turn, event: Event) -> list[Reply]:
        app = turn.app
        match event:
            case Command(name=name, args=args):
                handler = self._commands.get(name.lower())
                if handler is None:
                    return [Reply(say("unknown_command", name=name, commands=self._command_list()))]
                if app.status == "submitted" and name.lower() not in READ_ONLY_COMMANDS:
                    return [self._submitted_reply(app)]
                return await handler(turn, args)
            case ButtonPress(data=data):
                return await self._button(turn, data)
            case Text(text=text, message_ref=ref):
                if app.status == "submitted":
                    return [Reply(say("text_after_submit")), self._submitted_reply(app)]
                return await self._text(turn, text, ref)
            case EditedText(text=text, message_ref=ref):
                if app.status == "submitted":
                    return [Reply(say("edit_after_submit"))]
                return await self._edited(turn, text, ref)
            case FileReceived():
                if app.status == "submitted":
                    return [self._submitted_reply(app)]
                return await self._file(turn, event)
        raise TypeError(f"unknown event {event!r}")

    async def _settle(self, turn: Turn, event: Event) -> list[Reply]:
        """Leave a mode the event does not continue, and a step the criteria no longer have.

        A rewrite left this way is said so: the applicant must not believe it still waits.
        """
        app = turn.app
        continues = {
            # Asking where one is re-shows the rewrite prompt, which says plainly what a text will do.
            REPLACE: isinstance(event, Text | EditedText | FileReceived) or _saves_typed(event)
            or (isinstance(event, Command) and event.name.lower() in ("start", "where")),
            APPEND: isinstance(event, Text | EditedText) or _saves_typed(event),
            CONFIRM_FINISH: isinstance(event, ButtonPress) and event.data == "fin:yes",
            CONFIRM_DELETE: isinstance(event, ButtonPress) and event.data == "del:yes",
        }
        if app.mode.startswith(table_field.ROW):
            continues[app.mode] = isinstance(event, Text) or _saves_typed(event)
        mode = app.mode if continues.get(app.mode, False) else ""
        step = app.step
        if step not in self.steps:
            # The criteria file changed under a waiting applicant: resume at the first open question.
            log.warning("step %s is not in criteria %s; moving applicant on", step, self.criteria.id)
            answers = await self.storage.answers(app.id)
            step = next((f"q:{q.id}" for q in self.criteria.questions if not answers.get(q.id)), END)
        if (mode, step) == (app.mode, app.step):
            return []
        await self.storage.update_application(app.id, mode=mode, step=step)
        await self._reload(turn)
        question = self._question(app.step)
        if app.mode == REPLACE and question is not None and not _cancels_or_restarts(event):
            return [Reply(say("rewrite_left", id=question.id))]
        return []

    # -- consent ---------------------------------------------------------------------

    async def _before_consent(self, sender: Sender, event: Event) -> list[Reply]:
        """Until the applicant agrees, nothing about them is stored, not even their id."""
        if isinstance(event, ButtonPress) and event.data == "consent:no":
            return [Reply(say("consent_declined"))]
        if isinstance(event, ButtonPress) and event.data == "consent:yes":
            applicant = await self.storage.applicant(sender.channel, sender.user_id, sender.display_name)
            app = await self.storage.create_application(applicant.id, self.criteria.id, self.criteria.version)
            await self.storage.update_application(app.id, status="active", step=self.steps[0], mode="")
            turn = Turn(sender, app)
            return [Reply(say("consent_thanks")), await self._prompt(await self._reload(turn))]
        if isinstance(event, Command) and event.name.lower() == "help":
            return [Reply(say("help_before_consent")), self._consent_prompt(sender)]
        if isinstance(event, Text):
            # "同意" typed instead of tapped: the same as the tap (and "不同意" the same as its tap).
            prompt = self._consent_prompt(sender)
            # Words only: a number typed by someone who never saw this prompt (a coordinator's "1"
            # after /list) must not sign them up.
            meant = typed.interpret(event.text, typed.Offered(tuple(prompt.all_buttons), False), (),
                                    free_text=False, numbers_expected=True)
            if isinstance(meant, typed.Pick):
                return await self._before_consent(sender, ButtonPress(sender, meant.button.data))
        return [self._consent_prompt(sender)]

    def _consent_prompt(self, sender: Sender) -> Reply:
        name = sender.display_name or say("default_name")
        return Reply(
            say("welcome", name=name, award=self.criteria.award, questions=len(self.criteria.questions),
                fields=len(self.criteria.profile)),
            keyboard([Button(say("btn_consent_yes"), "consent:yes"), Button(say("btn_consent_no"), "consent:no")]),
            choice_only=True,
        )

    # -- commands --------------------------------------------------------------------

    def _command_list(self) -> str:
        return say("command_list")

    async def _cmd_start(self, turn: Turn, _args: str) -> list[Reply]:
        if turn.app.status == "submitted":
            return [self._submitted_reply(turn.app)]
        answers = await self.storage.answers(turn.app.id)
        answered = sum(1 for q in self.criteria.questions if answers.get(q.id))
        replies = [Reply(say("welcome_back", answered=answered, total=len(self.criteria.questions)))]
        back = await self.returns.open(turn.app.id)
        if back is not None:
            replies.append(Reply(returned.notice_text(self.criteria, back)))
        return [*replies, await self._prompt(turn.app)]

    async def _cmd_help(self, turn: Turn, _args: str) -> list[Reply]:
        return [Reply(say("help", commands=self._command_list()))]

    async def _cmd_where(self, turn: Turn, _args: str) -> list[Reply]:
        if turn.app.status == "submitted":
            return [self._submitted_reply(turn.app)]
        return [await self._prompt(turn.app)]

    async def _cmd_next(self, turn: Turn, _args: str) -> list[Reply]:
        return await self._go(turn, self._neighbour(turn.app.step, +1))

    async def _cmd_back(self, turn: Turn, _args: str) -> list[Reply]:
        target = self._neighbour(turn.app.step, -1)
        if target == turn.app.step:
            return [Reply(say("already_first")), await self._prompt(turn.app)]
        return await self._go(turn, target)

    async def _cmd_jump(self, turn: Turn, args: str) -> list[Reply]:
        if not args.strip():
            return [self._menu()]
        target = parse_target(self.criteria, args)
        if target is None and self.criteria.category(args.strip().translate(_DIGITS)):
            return [self._item_menu(args.strip().translate(_DIGITS))]
        if target is None:
            return [Reply(say("jump_unknown", target=args.strip()[:20])), self._menu()]
        return await self._go(turn, self._step_for(target))

    async def _cmd_show(self, turn: Turn, _args: str) -> list[Reply]:
        question = self._question(turn.app.step)
        if question is None:
            return [Reply(say("show_not_on_question")), await self._prompt(turn.app)]
        answer = await self.storage.answer(turn.app.id, question.id)
        # A submitted application is read-only: no buttons that would only bounce.
        editable = turn.app.status != "submitted"
        if not answer:
            return [Reply(say("show_empty", id=question.id),
                          buttons=self._question_buttons(question, False) if editable else ())]
        buttons = keyboard(*self._question_buttons(question, True),
                           [Button(say("btn_clear"), f"cl:{question.id}")]) if editable else ()
        return [Reply(say("show_answer", id=question.id, chars=count_chars(answer), answer=answer), buttons=buttons)]

    async def _cmd_rewrite(self, turn: Turn, _args: str) -> list[Reply]:
        question = self._question(turn.app.step)
        if question is None:
            return [Reply(say("show_not_on_question")), await self._prompt(turn.app)]
        await self.storage.update_application(turn.app.id, mode=REPLACE)
        return [Reply(say("rewrite_prompt", id=question.id), self._cancel_buttons(question))]

    def _cancel_buttons(self, question: Question) -> tuple[tuple[Button, ...], ...]:
        return keyboard([Button(say("btn_cancel"), f"cx:{question.id}")])

    async def _cmd_undo(self, turn: Turn, _args: str) -> list[Reply]:
        """Bring back the answer as it was before its latest change."""
        question = self._question(turn.app.step)
        if question is None:
            return [Reply(say("show_not_on_question")), await self._prompt(turn.app)]
        history = await self.storage.history(turn.app.id, question.id)
        if not history:
            return [Reply(say("undo_nothing", id=question.id))]
        # Before the first version the answer was empty: undoing it empties the answer again.
        previous = history[-2].text if len(history) > 1 else ""
        answer = await self.storage.replace_answer(turn.app.id, question.id, previous, None)
        await self.advice.saved(turn.app, turn.sender, question, answer)
        if not answer:
            return [Reply(say("undo_emptied", id=question.id), buttons=await self._buttons_for(turn.app, question))]
        return [Reply(say("undo_done", id=question.id, chars=count_chars(answer), answer=answer),
                      buttons=await self._buttons_for(turn.app, question))]

    async def _cmd_clear(self, turn: Turn, _args: str) -> list[Reply]:
        """Empty the current answer: a stray message must not count as answered. /undo brings it back."""
        question = self._question(turn.app.step)
        if question is None:
            return [Reply(say("show_not_on_question")), await self._prompt(turn.app)]
        before = await self.storage.answer(turn.app.id, question.id)
        if not before:
            return [Reply(say("clear_nothing", id=question.id), buttons=await self._buttons_for(turn.app, question))]
        await self.storage.replace_answer(turn.app.id, question.id, "", None)
        await self.storage.update_application(turn.app.id, mode="")
        await self.advice.saved(turn.app, turn.sender, question, "")
        log.info("answer cleared applicant=%s question=%s", turn.sender.key, question.id)
        return [Reply(say("cleared", id=question.id, chars=count_chars(before)),
                      buttons=await self._buttons_for(turn.app, question))]

    async def _cmd_cancel(self, turn: Turn, _args: str) -> list[Reply]:
        if turn.app.mode:
            await self.storage.update_application(turn.app.id, mode="")
        app = await self._reload(turn)
        return [Reply(say("cancelled")), await self._prompt(app)]

    async def _cmd_progress(self, turn: Turn, _args: str) -> list[Reply]:
        profile = await self.storage.profile(turn.app.id)
        answers = await self.storage.answers(turn.app.id)
        text = review.progress_text(self.criteria, profile, answers, self._here(turn.app))
        back = await self.returns.open(turn.app.id)
        if back is not None:
            text += "\n" + returned.progress_line(self.criteria, back)
        if turn.app.status == "submitted":
            return [Reply(text, self._submitted_reply(turn.app).buttons)]
        return [Reply(text, keyboard([Button(say("btn_continue"), "here"), Button(say("btn_menu"), "menu")],
                                     [Button(say("btn_review"), "rev"), Button(say("btn_draft"), "draft")],
                                     [Button(say("btn_finish"), "fin")]), choice_only=True)]

    async def _cmd_review(self, turn: Turn, _args: str) -> list[Reply]:
        profile = await self.storage.profile(turn.app.id)
        answers = await self.storage.answers(turn.app.id)
        replies = [Reply(text) for text in review.review_texts(self.criteria, profile, answers)]
        gaps = review.gaps(self.criteria, profile, answers)
        summary = say("review_done_empty", gaps=gaps.describe()) if gaps.count else say("review_done_full")
        advice = await self._evidence_summary(turn.app, answers)
        if advice:
            summary += "\n\n" + advice
        if turn.app.status == "submitted":
            replies.append(Reply(summary, self._submitted_reply(turn.app).buttons))
        else:
            replies.append(Reply(summary, keyboard([Button(say("btn_continue"), "here"),
                                                    Button(say("btn_finish"), "fin")])))
        return replies

    async def _cmd_finish(self, turn: Turn, _args: str) -> list[Reply]:
        here = self._question(turn.app.step)
        if here is not None:
            # The summary below covers this answer too: nothing is left to say about it later.
            await self.advice.settled(turn.app, here)
        profile = await self.storage.profile(turn.app.id)
        answers = await self.storage.answers(turn.app.id)
        gaps = review.gaps(self.criteria, profile, answers)
        await self.storage.update_application(turn.app.id, mode=CONFIRM_FINISH)
        if gaps.count:
            text = say("finish_confirm_gaps", count=gaps.count, gaps=gaps.describe())
            yes = say("btn_finish_anyway")
        else:
            text = say("finish_confirm_full", chars=review.total_chars(answers))
            yes = say("btn_finish_confirm")
        advice = await self._evidence_summary(turn.app, answers)
        if advice:
            text += "\n\n" + advice
        back = await self.returns.open(turn.app.id)
        unchanged = back and returned.still_unchanged(self.criteria, back, answers,
                                                      profile_text(self.criteria, profile))
        if unchanged:
            text += "\n\n" + unchanged
        return [Reply(text, keyboard([Button(yes, "fin:yes")], [Button(say("btn_keep_editing"), "here")]),
                      choice_only=True)]

    async def _cmd_profile(self, turn: Turn, _args: str) -> list[Reply]:
        return await self._go(turn, self.steps[0])

    async def _cmd_reopen(self, turn: Turn, _args: str) -> list[Reply]:
        if turn.app.status != "submitted":
            return [Reply(say("reopen_not_needed")), await self._prompt(turn.app)]
        await self.storage.update_application(turn.app.id, status="active", mode="")
        app = await self._reload(turn)
        return [Reply(say("reopened")), await self._prompt(app)]

    # -- buttons ---------------------------------------------------------------------

    async def _button(self, turn: Turn, data: str) -> list[Reply]:
        app = turn.app
        action, _, arg = data.partition(":")
        if data == "del:yes":
            if app.mode != CONFIRM_DELETE:
                return await self._stale(turn)
            return await self.rights.erase(app, turn.sender, self._now())
        if data == "del:no":
            return [Reply(say("delete_cancelled")), await self._prompt(app)]
        if app.status == "submitted" and action not in ("rev", "prog", "reopen", "draft"):
            return [self._submitted_reply(app)]
        simple = {"menu": self._cmd_jump, "prog": self._cmd_progress, "rev": self._cmd_review,
                  "fin": self._cmd_finish, "here": self._cmd_where, "reopen": self._cmd_reopen,
                  "draft": self._cmd_draft}
        if action in simple and not (action == "fin" and arg):
            return await simple[action](turn, "")
        if action == "fin" and arg == "yes":
            if app.mode != CONFIRM_FINISH:
                return await self._stale(turn)
            return await self._submit(turn)
        if action == SAVE_TYPED:
            number, _, step = arg.partition(":")
            if step != app.step or not (number.isascii() and number.isdecimal()):
                return await self._stale(turn)
            return await self._text(turn, number, None)
        if action == "cat":
            category = self.criteria.category(arg)
            return [self._item_menu(arg)] if category else await self._stale(turn)
        if action == "tb":
            return await self._table_button(turn, arg)
        if action == "go":
            target = "p" if arg == "p" else parse_target(self.criteria, arg)
            return await self._go(turn, self._step_for(target)) if target else await self._stale(turn)
        files_button = materials.parse(data)
        if files_button is not None:
            return await self._materials_button(turn, *files_button)
        # The remaining buttons act on one step: only valid while the applicant is still there.
        if action in ("nx", "bk", "rw", "sh", "cx", "cl"):
            if f"q:{arg}" != app.step and not (action in ("nx", "bk") and arg == app.step):
                return await self._stale(turn)
            handler = {"nx": self._cmd_next, "bk": self._cmd_back, "rw": self._cmd_rewrite,
                       "sh": self._cmd_show, "cx": self._cmd_cancel, "cl": self._cmd_clear}[action]
            return await handler(turn, "")
        if action in ("pc", "keep", "skipf"):
            key, _, choice = arg.partition(":")
            if app.step != f"p:{key}":
                return await self._stale(turn)
            field = self.criteria.field(key)
            assert field is not None
            if action == "pc":
                if not (choice.isascii() and choice.isdecimal()) or int(choice) >= len(field.choices):
                    return await self._stale(turn)
                return await self._save_profile(turn, field, field.choices[int(choice)], None)
            if action == "skipf" and field.required:
                return await self._stale(turn)
            return await self._go(turn, self._neighbour(app.step, +1))
        return await self._stale(turn)

    async def _stale(self, turn: Turn) -> list[Reply]:
        if turn.app.status == "submitted":
            return [self._submitted_reply(turn.app)]
        return [Reply(say("stale_button")), await self._prompt(turn.app)]

    # -- text, edits and files -------------------------------------------------------

    async def _text(self, turn: Turn, raw: str, ref: str | None) -> list[Reply]:
        app = turn.app
        text = clean_text(raw)
        if not text:
            return [Reply(say("empty_message")), await self._prompt(app)]
        if app.step.startswith("p:"):
            field = self.criteria.field(app.step[2:])
            assert field is not None
            return await self._save_profile(turn, field, raw, ref)
        question = self._question(app.step)
        if question is None:
            return [Reply(say("text_at_end")), self._end_buttons_reply()]
        replacing = app.mode == REPLACE
        before = "" if replacing else await self.storage.answer(app.id, question.id)
        if len(before) + len(text) > MAX_ANSWER_CHARS:
            return [Reply(say("answer_too_long", id=question.id, before=count_chars(before), chars=count_chars(text),
                              max=MAX_ANSWER_CHARS),
                          buttons=self._question_buttons(question, bool(before)))]
        if replacing:
            answer = await self.storage.replace_answer(app.id, question.id, text, ref)
        else:
            answer = await self.storage.append_answer(app.id, question.id, text, ref)
        if app.mode:
            await self.storage.update_application(app.id, mode="")
        log.info("answer saved applicant=%s question=%s chars=%d", turn.sender.key, question.id, len(answer))
        chars = count_chars(answer)
        if replacing:
            saved = say("saved_replaced", id=question.id, chars=chars)
        elif before:
            saved = say("saved_appended", id=question.id, chars=chars)
        else:
            saved = say("saved_first", id=question.id, chars=chars)
        # What is missing is said once the applicant moves on (or pauses), not after every part.
        await self.advice.saved(app, turn.sender, question, answer)
        lines = [saved, *await self.advice.over_budget(app, question, answer)]
        return [Reply("\n".join(lines), buttons=await self._buttons_for(app, question))]

    async def _typed(self, turn: Turn, raw: str) -> ButtonPress | list[Reply] | None:
        """A typed button word or number: its tap, or a question if it may be an answer; None: text."""
        app = turn.app
        text = clean_text(raw)
        if not typed.could_be_a_tap(text) or app.step not in self.steps:
            return None  # an answer, not a word; or a step the criteria lost (settled first)
        field = self.criteria.field(app.step[2:]) if app.step.startswith("p:") else None
        question = self._question(app.step)
        here = (await self._prompt(app)).all_buttons
        if question is not None and app.status != "submitted":
            # While rewriting too, 下一题 typed is the question's 下一题 (never the new answer), and
            # 清空本题 is there whether or not /show's buttons are the newest.
            current = [button for row in await self._buttons_for(app, question) for button in row]
            answered = any(button.data.startswith("rw:") for button in current)
            here += current + ([Button(say("btn_clear"), f"cl:{question.id}")] if answered else [])
        offered = typed.Offered.load(app.offered)
        meant = typed.interpret(text, offered, tuple(here),
                                free_text=app.status != "submitted" and (question is not None or (
                                    field is not None and not field.choices)),
                                numbers_expected=field is not None and field.type in NUMBER_FIELDS)
        if meant is None and offered.is_menu() and (target := parse_target(self.criteria, text)):
            return ButtonPress(turn.sender, f"go:{target}")  # "3.1" typed at the 目录: go there
        if meant is None and (data := typed.everywhere(text)):
            return ButtonPress(turn.sender, data)
        if meant is None and (app.step.startswith("p:") or question is not None) and typed.is_a_button_word(text):
            # 目录 or 跳过 typed where no such button is: never a 姓名 or an answer.
            return [Reply(say("typed_not_here", word=text.strip())), await self._prompt(app)]
        if isinstance(meant, typed.Pick):
            return ButtonPress(turn.sender, meant.button.data)
        if isinstance(meant, typed.Ask):
            label = typed.plain_label(meant.button)
            return [Reply(say("typed_ask", label=label, text=meant.text),
                          keyboard([Button(say("btn_typed_press", label=label), meant.button.data)],
                                   [Button(say("btn_typed_save", text=meant.text),
                                           f"{SAVE_TYPED}:{meant.text}:{app.step}")]),
                          choice_only=True)]
        return None

    async def _evidence_summary(self, app: Application, answers: dict[str, str]) -> str | None:
        counts = Counter(a.question_id for a in await self.storage.attachments(app.id))
        found = await asyncio.to_thread(evidence.check_application, self.criteria, answers, counts)
        return evidence.summary(found)

    async def _edited(self, turn: Turn, raw: str, ref: str) -> list[Reply]:
        app = turn.app
        text = clean_text(raw)
        if not text:
            return [Reply(say("edit_empty"))]
        edited = await self.storage.edit_message(app.id, ref, text, MAX_ANSWER_CHARS)
        if edited is not None and edited.too_long:
            return [Reply(say("edit_too_long", id=edited.question_id, max=MAX_ANSWER_CHARS))]
        if edited is not None and edited.answer is None:
            return [Reply(say("edit_superseded", id=edited.question_id))]
        if edited is not None and edited.answer is not None:
            question = self.criteria.question(edited.question_id)
            if question is not None:
                await self.advice.saved(app, turn.sender, question, edited.answer)
            return [Reply(say("edit_applied", id=edited.question_id, chars=count_chars(edited.answer)))]
        key = await self.storage.profile_field_for_message(app.id, ref)
        field = self.criteria.field(key) if key else None
        if field is None:
            return [Reply(say("edit_unknown"))]
        if field.type == "table":
            return [Reply(say("table_edit_refused")), await self._prompt(app)]
        value = validate_field(field, raw, today=self._now().date(), profile=await self.storage.profile(app.id))
        if isinstance(value, Invalid):
            return [Reply(say(value.key, **value.params) + "\n" + say("edit_not_applied"))]
        await self.storage.set_profile_value(app.id, field.key, value, ref)
        applied = Reply(say("edit_profile_applied", label=field.label, value=value))
        if app.step == f"p:{field.key}" and app.mode != APPEND:
            return [applied]
        # Back to where the applicant was: the edit must not leave them guessing what comes next.
        return [applied, await self._prompt(app)]

    async def _file(self, turn: Turn, event: FileReceived) -> list[Reply]:
        question = self._question(turn.app.step)
        if question is None:
            # Not kept, so never written anywhere: the bytes go with the event. On the 申报表 the
            # applicant stays on the field they were filling; at the end, the 目录 leads to a question.
            field = self.criteria.field(turn.app.step[2:]) if turn.app.step.startswith("p:") else None
            if field is not None and field.type == "photo":
                return await self._photo(turn, field, event)
            if turn.app.step.startswith("p:"):
                return [Reply(say("file_on_profile")), await self._prompt(turn.app)]
            return [Reply(say("file_not_on_question")), self._menu()]
        text = await self.materials.receive(turn.app, question, event)
        # A certificate may settle the advice waiting for a pause (缺证明材料): it is worked out again.
        await self.advice.saved(turn.app, turn.sender, question, await self.storage.answer(turn.app.id, question.id))
        return [Reply(text, buttons=await self._buttons_for(turn.app, question))]

    # -- profile -------------------------------------------------------------------------

    async def _save_profile(self, turn: Turn, field: ProfileField, raw: str, ref: str | None) -> list[Reply]:
        if field.type == "table":
            return await self._table_row(turn, field, raw, ref)
        profile = await self.storage.profile(turn.app.id)
        current = profile.get(field.key)
        # A long field (主要工作经历) may come in several messages: they add up until 完成本项.
        appending = field.type == "longtext" and turn.app.mode == APPEND and bool(current)
        value = validate_field(field, f"{current}\n{raw}" if appending else raw, today=self._now().date(),
                               profile=profile)
        if isinstance(value, Invalid):
            return [Reply(say(value.key, **value.params), buttons=self._profile_buttons(field, current),
                          choice_only=field.type == "choice" and not current)]
        # An edit can only be applied to a value that is exactly one message.
        await self.storage.set_profile_value(turn.app.id, field.key, value, None if appending else ref)
        if field.type == "longtext":
            await self.storage.update_application(turn.app.id, mode=APPEND)
            return [Reply(say("profile_long_saved", label=field.label, chars=count_chars(value)),
                          self._profile_buttons(field, value, finishing=True))]
        next_step = self._neighbour(turn.app.step, +1)
        await self.storage.update_application(turn.app.id, step=next_step, mode="")
        app = await self._reload(turn)
        prompt = await self._prompt(app)
        arrival = await self._arrival_note(app, f"p:{field.key}", next_step)
        note = say("profile_saved", label=field.label, value=value) + (f"\n\n{arrival}" if arrival else "")
        return [Reply(note + "\n\n" + prompt.text, prompt.buttons, prompt.choice_only)]

    async def _photo(self, turn: Turn, field: ProfileField, event: FileReceived) -> list[Reply]:
        """The 申报表's photo: cut to 3:4 and kept in the application's folder; then the next field."""
        cut = await asyncio.to_thread(photo_field.portrait, event.data)
        if cut is None:
            return [Reply(say("photo_not_a_photo")), await self._prompt(turn.app)]
        try:
            _digest, path = await asyncio.to_thread(keep_by_content, self.materials.folder_of(turn.app), cut, ".jpg")
        except OSError as error:
            log.error("a photo could not be stored for application %s: %s", turn.app.id,
                      error.strerror or type(error).__name__)
            return [Reply(say("photo_not_stored")), await self._prompt(turn.app)]
        await self.storage.set_profile_value(turn.app.id, field.key, str(path), None)
        next_step = self._neighbour(turn.app.step, +1)
        await self.storage.update_application(turn.app.id, step=next_step, mode="")
        return [Reply(say("photo_saved")), await self._prompt(await self._reload(turn))]

    async def _table_row(self, turn: Turn, field: ProfileField, raw: str, ref: str | None) -> list[Reply]:
        """A typed line on a table: a new row, or the row being rewritten."""
        value = (await self.storage.profile(turn.app.id)).get(field.key)
        text = clean_text(raw)
        changing = turn.app.mode.startswith(table_field.ROW)
        # A pasted list is a row a line; a row being changed takes the message as one row.
        lines = [text] if changing else [line for line in text.splitlines() if line.strip()] or [text]
        said: list[str] = []
        for line in lines:
            done = table_field.add(field, value, line, turn.app.mode)
            if isinstance(done, str):
                said.append(say("table_full") if done == "full" else say("table_row_empty"))
                break
            value, n, cells = done
            shown = "｜".join(c or "—" for c in cells)
            said.append(say("table_row_replaced", n=n, cells=shown) if changing
                        else say("table_row_added", n=n, cells=shown))
        if value is not None:
            # The row's message is remembered, so that editing it says how to change a row instead.
            await self.storage.set_profile_value(turn.app.id, field.key, value, ref)
        await self.storage.update_application(turn.app.id, mode="")
        return [Reply("\n".join(said)), await self._prompt(await self._reload(turn))]

    async def _table_button(self, turn: Turn, arg: str) -> list[Reply]:
        action, _, rest = arg.partition(":")
        key, _, number = rest.partition(":")
        field = self.criteria.field(key)
        if field is None or field.type != "table" or turn.app.step != f"p:{key}":
            return await self._stale(turn)
        if action == "x":
            await self.storage.update_application(turn.app.id, mode="")
            return [await self._prompt(await self._reload(turn))]
        if not (number.isascii() and number.isdecimal()):
            return await self._stale(turn)
        current = (await self.storage.profile(turn.app.id)).get(key)
        if action == "e" and 1 <= int(number) <= len(table_field.rows(field, current)):
            await self.storage.update_application(turn.app.id, mode=f"{table_field.ROW}{int(number)}")
            return [await self._prompt(await self._reload(turn))]
        gone = table_field.delete(field, current, int(number)) if action == "d" else None
        if gone is None:
            return await self._stale(turn)
        await self.storage.set_profile_value(turn.app.id, key, gone[0], None)
        return [Reply(say("table_row_deleted", n=int(number), cells="｜".join(c or "—" for c in gone[1]))),
                await self._prompt(turn.app)]

    async def _arrival_note(self, app: Application, from_step: str, to_step: str) -> str:
        """A word of orientation when the 申报表 is left for the 自评报告: done, or what is still open."""
        if not (from_step.startswith("p:") and to_step.startswith("q:")):
            return ""
        missing = review.gaps(self.criteria, await self.storage.profile(app.id), {}).fields
        if missing:
            return say("profile_left_open", count=len(missing), fields="、".join(missing))
        if to_step == f"q:{self.criteria.questions[0].id}":
            return say("profile_done", questions=len(self.criteria.questions))
        return ""

    def _profile_buttons(
        self, field: ProfileField, current: str | None, *, finishing: bool = False
    ) -> tuple[tuple[Button, ...], ...]:
        rows: list[list[Button]] = []
        choices = [Button(choice, f"pc:{field.key}:{n}") for n, choice in enumerate(field.choices)]
        rows += [choices[n:n + 3] for n in range(0, len(choices), 3)]
        extra = []
        if finishing:
            extra.append(Button(say("btn_field_done"), f"keep:{field.key}"))
        elif current:
            extra.append(Button(say("btn_keep"), f"keep:{field.key}"))
        elif not field.required:
            extra.append(Button(say("btn_skip_field"), f"skipf:{field.key}"))
        back = self._back_field(field)
        if back is not None:
            extra.append(back)
        rows.append(extra)
        return keyboard(*rows)

    def _back_field(self, field: ProfileField) -> Button | None:
        return Button(say("btn_back_field"), f"bk:p:{field.key}") if field.key != self.criteria.profile[0].key else None

    # -- prompts and navigation ------------------------------------------------------------

    async def _prompt(self, app: Application) -> Reply:
        """What the applicant sees for the step they are on."""
        step = app.step
        if step.startswith("p:"):
            field = self.criteria.field(step[2:])
            assert field is not None
            current = (await self.storage.profile(app.id)).get(field.key)
            number = [f.key for f in self.criteria.profile].index(field.key) + 1
            text = say("profile_prompt", n=number, total=len(self.criteria.profile), label=field.label,
                       required=say("required") if field.required else say("optional"))
            if field.help:
                text += "\n" + field.help
            if field.type == "table":
                text += "\n" + table_field.prompt_extra(field, current, app.mode)
                note = returned.on_step(await self.returns.open(app.id), PROFILE)
                return Reply(text + ("\n\n" + note if note else ""),
                             table_field.buttons(field, current, app.mode, self._back_field(field)))
            if current:
                text += "\n" + say("profile_current", value=profile_view.shown(field, current, office=False))
            note = returned.on_step(await self.returns.open(app.id), PROFILE)
            if note:
                text += "\n\n" + note
            return Reply(text, self._profile_buttons(field, current),
                         choice_only=field.type == "choice" and not current)
        question = self._question(step)
        if question is None:
            return await self._end_reply(app)
        answers = await self.storage.answers(app.id)
        answer, answers_count = answers.get(question.id, ""), len(answers)
        text = say("question_prompt", label=review.question_label(self.criteria, question),
                   n=self.criteria.question_index[question.id] + 1, total=len(self.criteria.questions),
                   answered=answers_count, id=question.id, text=question.text, hint=question.hint,
                   example=question.example)
        limit = self.criteria.max_chars(question)
        if limit:
            text += "\n" + say("question_budget", max=limit)
        note = returned.on_step(await self.returns.open(app.id), question.id)
        if note:
            text += "\n\n" + note
        preview = answer if len(answer) <= PREVIEW_CHARS else answer[:PREVIEW_CHARS] + "……"
        if app.mode == REPLACE:
            text += "\n\n" + say("question_rewriting", chars=count_chars(answer), preview=preview)
            text += "\n" + say("rewrite_prompt", id=question.id)
            return Reply(text, self._cancel_buttons(question))
        if answer:
            text += "\n\n" + say("question_has_answer", chars=count_chars(answer), preview=preview)
        else:
            text += "\n\n" + say("question_invite")
        files = len(await self.storage.attachments(app.id, question.id))
        return Reply(text, self._question_buttons(question, bool(answer), files))

    def _question_buttons(self, question: Question, answered: bool, files: int = 0) -> tuple[tuple[Button, ...], ...]:
        qid = question.id
        first = [Button(say("btn_next") if answered else say("btn_skip"), f"nx:{qid}")]
        if answered:
            first.append(Button(say("btn_rewrite"), f"rw:{qid}"))
            first.append(Button(say("btn_show"), f"sh:{qid}"))
        second = [Button(say("btn_back"), f"bk:{qid}"), Button(say("btn_menu"), "menu")]
        if files:
            second.append(Button(say("btn_files", count=files), f"{materials.LIST}:{qid}"))
        return keyboard(
            first,
            second,
            [Button(say("btn_progress"), "prog"), Button(say("btn_finish"), "fin")],
        )

    async def _buttons_for(self, app: Application, question: Question) -> tuple[tuple[Button, ...], ...]:
        """The question's buttons as things stand: answered or not, with its files if it has any."""
        answered = bool(await self.storage.answer(app.id, question.id))
        files = len(await self.storage.attachments(app.id, question.id))
        return self._question_buttons(question, answered, files)

    async def _end_reply(self, app: Application) -> Reply:
        profile = await self.storage.profile(app.id)
        answers = await self.storage.answers(app.id)
        gaps = review.gaps(self.criteria, profile, answers)
        answered = len(self.criteria.questions) - len(gaps.questions)
        total = len(self.criteria.questions)
        text = say("end_reached_full", total=total) if answered == total else \
            say("end_reached", answered=answered, total=total)
        if gaps.count:
            text += "\n" + gaps.describe()
        return Reply(text, self._end_buttons_reply().buttons)

    def _end_buttons_reply(self) -> Reply:
        return Reply(say("end_actions"), keyboard(
            [Button(say("btn_review"), "rev"), Button(say("btn_finish"), "fin")],
            [Button(say("btn_back"), f"bk:{END}"), Button(say("btn_menu"), "menu")],
        ))

    def _menu(self) -> Reply:
        buttons = [Button(f"{c.id} {c.title}", f"cat:{c.id}") for c in self.criteria.categories]
        rows = [buttons[n:n + 2] for n in range(0, len(buttons), 2)]
        rows.append([Button(say("btn_profile"), "go:p"), Button(say("btn_continue"), "here")])
        return Reply(say("menu_categories"), keyboard(*rows), choice_only=True)

    def _item_menu(self, category_id: str) -> Reply:
        category = self.criteria.category(category_id)
        assert category is not None
        rows = [[Button(f"{i.id} {i.title}", f"go:{i.id}")] for i in category.items]
        rows.append([Button(say("btn_menu_back"), "menu")])
        return Reply(say("menu_items", id=category.id, title=category.title), keyboard(*rows), choice_only=True)

    async def _go(self, turn: Turn, step: str) -> list[Reply]:
        replies = []
        leaving = self._question(turn.app.step)
        if leaving is not None and step != turn.app.step:
            advice_reply = await self.advice.leaving(turn.app, leaving)
            replies += [advice_reply] if advice_reply else []
        note = await self._arrival_note(turn.app, turn.app.step, step)
        await self.storage.update_application(turn.app.id, step=step, mode="")
        return replies + ([Reply(note)] if note else []) + [await self._prompt(await self._reload(turn))]

    def _step_for(self, target: str) -> str:
        if target == "p":
            return self.steps[0]
        if self.criteria.item(target):
            item = self.criteria.item(target)
            assert item is not None
            return f"q:{item.questions[0].id}"
        return f"q:{target}"

    def _neighbour(self, step: str, delta: int) -> str:
        index = self.steps.index(step) if step in self.steps else 0
        return self.steps[max(0, min(len(self.steps) - 1, index + delta))]

    def _question(self, step: str) -> Question | None:
        return self.criteria.question(step[2:]) if step.startswith("q:") else None

    def _here(self, app: Application) -> str:
        question = self._question(app.step)
        if question is not None:
            return say("here_question", n=self.criteria.question_index[question.id] + 1, id=question.id)
        if app.step.startswith("p:"):
            field = self.criteria.field(app.step[2:])
            return say("here_profile", label=field.label if field else "")
        return say("here_end")

    async def _reload(self, turn: Turn) -> Application:
        app = await self.storage.application(turn.app.applicant_id)
        assert app is not None
        turn.app = app
        return app

    # -- submission ----------------------------------------------------------------------

    async def _submit(self, turn: Turn) -> list[Reply]:
        # The step stays: after /reopen the applicant is back where they were.
        await self.storage.update_application(turn.app.id, status="submitted", mode="")
        await self.returns.resolve(turn.app.id)
        app = await self._reload(turn)
        log.info("application submitted applicant=%s", turn.sender.key)
        replies = [Reply(say("submitted", when=self._local(app.submitted_at)))]
        if self.coordinators and app.submitted_at:
            profile = await self.storage.profile(app.id)
            for notice in submission_notices(self.coordinators, app.applicant_id, app.id, profile.get("name", ""),
                                             profile.get("unit", ""), self._local(app.submitted_at),
                                             app.submitted_at):
                await self.storage.enqueue(notice)
        # The submission stands even if the document fails (a deadline matters more than a file);
        # /document makes the final version later.
        return replies + await self.documents.make(app, "final", submission_day(app, self._now()))

    async def _cmd_document(self, turn: Turn, _args: str) -> list[Reply]:
        return await self.documents.latest(turn.app, submission_day(turn.app, self._now()))

    async def _cmd_draft(self, turn: Turn, _args: str) -> list[Reply]:
        if turn.app.status == "submitted":
            # The submitted version is the one to look at; a draft would only confuse.
            return await self._cmd_document(turn, "")
        return await self.documents.make(turn.app, "draft", self._now().date())

    # -- the applicant's data --------------------------------------------------------------

    async def _cmd_mydata(self, turn: Turn, _args: str) -> list[Reply]:
        return await self.rights.mydata(turn.app, turn.sender, self._now())

    async def _cmd_delete(self, turn: Turn, _args: str) -> list[Reply]:
        await self.storage.update_application(turn.app.id, mode=CONFIRM_DELETE)
        answers = await self.storage.answers(turn.app.id)
        return [Reply(say("delete_confirm", answered=len(answers)),
                      keyboard([Button(say("btn_delete_yes"), "del:yes")], [Button(say("btn_delete_no"), "del:no")]),
                      choice_only=True)]

    # -- evidence files ----------------------------------------------------------------------

    async def _cmd_files(self, turn: Turn, _args: str) -> list[Reply]:
        question = self._question(turn.app.step)
        if question is None or turn.app.status == "submitted":
            return [await self.materials.overview(turn.app)]
        return [await self.materials.listing(turn.app, question)]

    async def _materials_button(self, turn: Turn, action: str, question_id: str,
                                attachment_id: int | None) -> list[Reply]:
        """A tap on a files list: valid only while the applicant is still on that question."""
        question = self._question(turn.app.step)
        if question is None or question.id != question_id:
            return await self._stale(turn)
        if action == materials.LIST:
            return [await self.materials.listing(turn.app, question)]
        assert attachment_id is not None
        if action == materials.ASK:
            asked = await self.materials.ask(turn.app, question, attachment_id)
            return [asked] if asked else await self._stale(turn)
        removed = await self.materials.remove(turn.app, question, attachment_id)
        if removed is None:
            return await self._stale(turn)
        return [Reply(removed, buttons=await self._buttons_for(turn.app, question))]

    def _submitted_reply(self, app: Application) -> Reply:
        return Reply(say("already_submitted", when=self._local(app.submitted_at)),
                     keyboard([Button(say("btn_review"), "rev"), Button(say("btn_reopen"), "reopen")]))

    def _now(self) -> datetime:
        return datetime.now(self.tz)

    def _local(self, stamp: str | None) -> str:
        if not stamp:
            return ""
        return datetime.fromisoformat(stamp).astimezone(self.tz).strftime("%Y-%m-%d %H:%M")


def _saves_typed(event: Event) -> bool:
    """The tap that keeps a typed number as the answer: it continues what the number would have."""
    return isinstance(event, ButtonPress) and event.data.startswith(f"{SAVE_TYPED}:")


def _cancels_or_restarts(event: Event) -> bool:
    """Leaving a rewrite by cancelling it, or by starting it again, needs no word of its own."""
    if isinstance(event, Command):
        return event.name.lower() in ("cancel", "rewrite")
    return isinstance(event, ButtonPress) and event.data.partition(":")[0] in ("cx", "rw")
