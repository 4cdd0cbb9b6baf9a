"""The applicant's interview: one event in, replies out, every bit of state in storage.

The engine only routes. Where an applicant can be and what each command and button may do there
is the table in `transitions`; the rooms do the work: `navigation` (moving), `answering` (the
自评报告's answers and files), `profile_steps` (the 申报表), `submission` (progress, review,
finish), `documents` (the 申报书) and `data_rights` (/mydata, /delete). `prompts` renders.

Each event reads the application once (`Storage.snapshot`) into a `Turn` that every write keeps
current; a mode the event does not continue is left first (`transitions.MODES`), then the event's
row is looked up and its guards are checked (`transitions.guard`), once for every command and button.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.criteria import Criteria, parse_target
from bot.document import TEMPLATE
from bot.files import default_data_dir
from bot.flows import advice, typed
from bot.flows import callbacks as cb
from bot.flows.answering import Answering
from bot.flows.data_rights import DataRights
from bot.flows.documents import Documents
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
from bot.flows.materials import Materials
from bot.flows.navigation import Navigation
from bot.flows.profile_steps import ProfileSteps
from bot.flows.prompts import Prompts
from bot.flows.submission import Submission
from bot.flows.transitions import (
    BUTTONS,
    COMMANDS,
    CONFIRM_DELETE,
    LEAVES_REWRITE_QUIETLY,
    REPLACE,
    Steps,
    Verdict,
    continues,
    guard,
)
from bot.flows.turn import Context, Turn
from bot.pdf import PdfConverter
from bot.returns import Returns
from bot.storage import Storage
from bot.validation import clean_text
from bot.wording import say

log = logging.getLogger(__name__)

ACTIVITY_RESOLUTION = timedelta(minutes=1)
# Number fields, where a typed number is the answer and never a button.
NUMBER_FIELDS = ("integer", "phone", "year_month")

# Each takes the command's arguments (str) or the button's Tap.
Handler = Callable[[Turn, Any], Awaitable[list[Reply]]]
COMMAND_HANDLERS = frozenset(rule.handler for rule in COMMANDS.values())


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
        self.criteria = criteria
        # This database's own files folder (received files, documents); absolute: paths are stored.
        folder = (data_dir or default_data_dir(storage.path)).absolute()
        documents = Documents(storage, criteria, folder / "documents", template=template, pdf=pdf)
        materials = Materials(storage, folder / "attachments")
        coordinators = tuple(coordinators)  # told of each submission, and of an erasure, through the outbox
        rights = DataRights(storage, lambda app: [documents.application_folder(app), materials.folder_of(app)],
                            coordinators)
        self.ctx = Context(storage, criteria, Steps(criteria), ZoneInfo(timezone),
                           advice.Advice(storage, criteria, pause=advice_pause), Returns(storage), documents,
                           materials, rights, coordinators)
        self.documents, self.materials = documents, materials
        self.prompts = Prompts(self.ctx)
        self.nav = Navigation(self.ctx, self.prompts)
        self.answering = Answering(self.ctx, self.prompts, self.nav)
        self.profile = ProfileSteps(self.ctx, self.prompts, self.nav)
        self.submission = Submission(self.ctx, self.prompts)
        handlers: dict[str, Handler] = {
            "start": self.nav.start, "help": self.nav.help, "where": self.nav.where, "next": self.nav.next,
            "back": self.nav.back, "jump": self.nav.jump, "profile": self.nav.profile, "cancel": self.nav.cancel,
            "category": self.nav.category, "go": self.nav.go_to,
            "show": self.answering.show, "rewrite": self.answering.rewrite, "undo": self.answering.undo,
            "clear": self.answering.clear, "files": self.answering.files, "files_list": self.answering.files_list,
            "file_ask": self.answering.file_ask, "file_remove": self.answering.file_remove,
            "save_typed": self._save_typed,
            "pick": self.profile.pick, "keep": self.profile.keep, "skip_field": self.profile.skip_field,
            "table": self.profile.table,
            "progress": self.submission.progress, "review": self.submission.review,
            "finish": self.submission.finish, "submit": self.submission.submit, "reopen": self.submission.reopen,
            "document": self.submission.document, "draft": self.submission.draft,
            "mydata": self._mydata, "delete": self._delete, "erase": self._erase, "keep_data": self._keep_data,
        }
        # A row whose handler is missing is a startup error, not a stale button in front of someone.
        rows = {rule.handler for rule in [*COMMANDS.values(), *BUTTONS.values()]}
        assert rows <= handlers.keys(), f"no handler for {sorted(rows - handlers.keys())}"
        self.handlers = handlers

    # -- entry point -----------------------------------------------------------------

    async def handle(self, event: Event) -> list[Reply]:
        sender = event.sender
        known = await self.storage.find_applicant(sender.channel, sender.user_id)
        snap = await self.storage.snapshot_for(known.id) if known else None
        if snap is None or snap.application.status == "consent":
            return await self._before_consent(sender, event)
        assert known is not None
        # Note the applicant as active (coordinators see it), keep their name current and clear a
        # 'blocked' mark; at most once a minute, as it costs a write on every event otherwise.
        stale = datetime.now(UTC) - datetime.fromisoformat(known.last_active_at) > ACTIVITY_RESOLUTION
        renamed = bool(sender.display_name) and sender.display_name != known.display_name
        if stale or renamed or known.blocked_at:
            await self.storage.applicant(sender.channel, sender.user_id, sender.display_name)
        turn = Turn.of(sender, snap)
        replies: list[Reply] = []
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
        match event:
            case Command(name=name, args=args):
                rule = COMMANDS.get(name.lower())
                if rule is None:
                    return [Reply(say("unknown_command", name=name, commands=say("command_list")))]
                return await self._run(turn, guard(rule, turn.app.status, turn.app.step, turn.app.mode), rule.handler,
                                       args)
            case ButtonPress(data=data):
                tap = cb.parse(data)
                rule = BUTTONS.get(tap.action) if tap is not None else None
                if tap is None or rule is None:
                    return await self.nav.stale(turn)
                # A button that does what a command does runs it as typed bare (目录 is /menu).
                arg = "" if rule.handler in COMMAND_HANDLERS else tap
                return await self._run(turn, guard(rule, turn.app.status, turn.app.step, turn.app.mode, tap),
                                       rule.handler, arg)
            case Text(text=text, message_ref=ref):
                if turn.submitted:
                    return [Reply(say("text_after_submit")), self.prompts.submitted(turn)]
                return await self._text(turn, text, ref)
            case EditedText(text=text, message_ref=ref):
                if turn.submitted:
                    return [Reply(say("edit_after_submit"))]
                return await self.answering.edited(turn, text, ref)
            case FileReceived():
                if turn.submitted:
                    return [self.prompts.submitted(turn)]
                return await self._file(turn, event)
        raise TypeError(f"unknown event {event!r}")

    async def _run(self, turn: Turn, verdict: Verdict, handler: str, arg: object) -> list[Reply]:
        if verdict is Verdict.SUBMITTED:
            return [self.prompts.submitted(turn)]
        if verdict is Verdict.STALE:
            return await self.nav.stale(turn)
        return await self.handlers[handler](turn, arg)

    async def _settle(self, turn: Turn, event: Event) -> list[Reply]:
        """Leave a mode the event does not continue, and a step the criteria no longer have.

        A rewrite left this way is said so: the applicant must not believe it still waits.
        """
        app = turn.app
        mode = app.mode if continues(app.mode, event) else ""
        step = app.step
        if step not in self.ctx.steps:
            # The criteria file changed under a waiting applicant: resume at the first open question.
            log.warning("step %s is not in criteria %s; moving applicant on", step, self.criteria.id)
            step = self.ctx.steps.first_open(turn.answers)
            mode = ""  # a rewrite or a confirmation was for the step that is gone
        if (mode, step) == (app.mode, app.step):
            return []
        await self.ctx.move(turn, mode=mode, step=step)
        question = self.ctx.steps.question(app.step)
        if app.mode == REPLACE and question is not None and event not in LEAVES_REWRITE_QUIETLY:
            return [Reply(say("rewrite_left", id=question.id))]
        return []

    # -- text and files: where they go depends on the step ----------------------------------

    async def _text(self, turn: Turn, raw: str, ref: str | None) -> list[Reply]:
        text = clean_text(raw)
        if not text:
            return [Reply(say("empty_message")), await self.prompts.prompt(turn)]
        if turn.app.step.startswith("p:"):
            return await self.profile.text(turn, raw, ref)
        return await self.answering.text(turn, text, ref)

    async def _file(self, turn: Turn, event: FileReceived) -> list[Reply]:
        if self.ctx.steps.question(turn.app.step) is not None:
            return await self.answering.file(turn, event)
        # Not kept, so never written anywhere: the bytes go with the event. On the 申报表 the
        # applicant stays on the field they were filling; at the end, the 目录 leads to a question.
        if turn.app.step.startswith("p:"):
            field = self.criteria.field(turn.app.step[2:])
            if field is not None and field.type == "photo":
                return await self.profile.photo(turn, event)
            return [Reply(say("file_on_profile")), await self.prompts.prompt(turn)]
        return [Reply(say("file_not_on_question")), self.prompts.menu()]

    async def _save_typed(self, turn: Turn, tap: cb.Tap) -> list[Reply]:
        """保存为回答 after a typed number that might have been meant as a tap: the number is the answer."""
        if tap["step"] != turn.app.step or tap.number("number") is None:
            return await self.nav.stale(turn)
        return await self._text(turn, tap["number"], None)

    async def _typed(self, turn: Turn, raw: str) -> ButtonPress | list[Reply] | None:
        """A typed button word or number: its tap, or a question if it may be an answer; None: text."""
        app = turn.app
        text = clean_text(raw)
        if not typed.could_be_a_tap(text) or app.step not in self.ctx.steps:
            return None  # an answer, not a word; or a step the criteria lost (settled first)
        field = self.criteria.field(app.step[2:]) if app.step.startswith("p:") else None
        question = self.ctx.steps.question(app.step)
        here = (await self.prompts.prompt(turn)).all_buttons
        if question is not None and not turn.submitted:
            # While rewriting too, 下一题 typed is the question's 下一题 (never the new answer), and
            # 清空本题 is there whether or not /show's buttons are the newest.
            here += [button for row in self.prompts.buttons_for(turn, question) for button in row]
            if turn.answer(question.id):
                here.append(self.prompts.clear_button(question))
        offered = typed.Offered.load(app.offered)
        meant = typed.interpret(text, offered, tuple(here),
                                free_text=not turn.submitted and (question is not None or (
                                    field is not None and not field.choices)),
                                numbers_expected=field is not None and field.type in NUMBER_FIELDS)
        if meant is None and offered.is_menu() and (target := parse_target(self.criteria, text)):
            return ButtonPress(turn.sender, cb.encode(cb.GO, target))  # "3.1" typed at the 目录: go there
        if meant is None and (data := typed.everywhere(text)):
            return ButtonPress(turn.sender, data)
        if meant is None and (app.step.startswith("p:") or question is not None) and typed.is_a_button_word(text):
            # 目录 or 跳过 typed where no such button is: never a 姓名 or an answer.
            return [Reply(say("typed_not_here", word=text.strip())), await self.prompts.prompt(turn)]
        if isinstance(meant, typed.Pick):
            return ButtonPress(turn.sender, meant.button.data)
        if isinstance(meant, typed.Ask):
            label = typed.plain_label(meant.button)
            buttons = [[Button(say("btn_typed_press", label=label), meant.button.data)]]
            if cb.fits(cb.SAVE_TYPED, meant.text, app.step):
                buttons.append([Button(say("btn_typed_save", text=meant.text),
                                       cb.encode(cb.SAVE_TYPED, meant.text, app.step))])
            return [Reply(say("typed_ask", label=label, text=meant.text), keyboard(*buttons), choice_only=True)]
        return None

    # -- consent ---------------------------------------------------------------------

    async def _before_consent(self, sender: Sender, event: Event) -> list[Reply]:
        """Until the applicant agrees, nothing about them is stored, not even their id."""
        tap = cb.parse(event.data) if isinstance(event, ButtonPress) else None
        if tap is not None and tap.action is cb.CONSENT_NO:
            return [Reply(say("consent_declined"))]
        if tap is not None and tap.action is cb.CONSENT_YES:
            applicant = await self.storage.applicant(sender.channel, sender.user_id, sender.display_name)
            app = await self.storage.create_application(applicant.id, self.criteria.id, self.criteria.version)
            app = await self.storage.update_application(app.id, status="active", step=self.ctx.steps.first, mode="")
            turn = Turn(sender, app, {}, {}, {})
            return [Reply(say("consent_thanks")), await self.prompts.prompt(turn)]
        if isinstance(event, Command) and event.name.lower() == "help":
            return [Reply(say("help_before_consent")), self.prompts.consent(sender)]
        if isinstance(event, Text):
            # "同意" typed instead of tapped: the same as the tap (and "不同意" the same as its tap).
            prompt = self.prompts.consent(sender)
            # Words only: a number typed by someone who never saw this prompt (a coordinator's "1"
            # after /list) must not sign them up.
            meant = typed.interpret(event.text, typed.Offered(tuple(prompt.all_buttons), False), (),
                                    free_text=False, numbers_expected=True)
            if isinstance(meant, typed.Pick):
                return await self._before_consent(sender, ButtonPress(sender, meant.button.data))
        return [self.prompts.consent(sender)]

    # -- the applicant's data --------------------------------------------------------------

    async def _mydata(self, turn: Turn, _args: object) -> list[Reply]:
        return await self.ctx.rights.mydata(turn.app, turn.sender, self.ctx.now())

    async def _delete(self, turn: Turn, _args: object) -> list[Reply]:
        await self.ctx.move(turn, mode=CONFIRM_DELETE)
        return [Reply(say("delete_confirm", answered=len(turn.answers)),
                      keyboard([Button(say("btn_delete_yes"), cb.encode(cb.DELETE_YES))],
                               [Button(say("btn_delete_no"), cb.encode(cb.DELETE_NO))]),
                      choice_only=True)]

    async def _erase(self, turn: Turn, _tap: object) -> list[Reply]:
        return await self.ctx.rights.erase(turn.app, turn.sender, self.ctx.now())

    async def _keep_data(self, turn: Turn, _tap: object) -> list[Reply]:
        return [Reply(say("delete_cancelled")), await self.prompts.prompt(turn)]
