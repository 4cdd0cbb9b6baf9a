"""The interview as a table: where an applicant can be, and what each command and button may do there.

No I/O here. The applicant's place is a *step* (``p:<field>`` on the 申报表,
``q:<question id>`` in the 自评报告, ``end``) qualified by a *mode* (``replace`` while
rewriting an answer, ``append`` while a long 申报表 field is written in several messages,
``row:<n>`` while a table row is rewritten, ``confirm_finish`` / ``confirm_delete`` while a
confirmation waits). Both are stored, so a restart or a week's pause resumes at the same place.

Each command and button is a row of `COMMANDS` / `BUTTONS`: the handler it runs and the guards it
needs (allowed once submitted? only in a mode? bound to the question or field it was made for?).
`guard` checks them, once, for all of them; a button from an old message is answered with where
the applicant is now, never applied to the wrong place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.criteria import Criteria, Question, parse_target
from bot.flows import callbacks as cb
from bot.flows.events import ButtonPress, Command, EditedText, Event, FileReceived, Text

END = "end"
REPLACE = "replace"
APPEND = "append"
ROW = "row:"  # rewriting a table row: row:<n>, n from 1
CONFIRM_FINISH = "confirm_finish"
CONFIRM_DELETE = "confirm_delete"


class Bound(Enum):
    NONE = "none"
    QUESTION = "question"  # the button's question must be the current one
    STEP = "step"  # the current question, or the current step itself (下一题 on the 申报表 or at the end)
    FIELD = "field"  # the button's 申报表 field must be the current one


@dataclass(frozen=True)
class Rule:
    handler: str
    submitted: bool = False  # still allowed once submitted: it only reads (or is a right over one's data)
    mode: str | None = None  # only while this confirmation waits
    bound: Bound = Bound.NONE


COMMANDS: dict[str, Rule] = {
    "start": Rule("start", submitted=True),
    "help": Rule("help", submitted=True),
    "where": Rule("where", submitted=True),
    "show": Rule("show", submitted=True),
    "progress": Rule("progress", submitted=True),
    "review": Rule("review", submitted=True),
    "reopen": Rule("reopen", submitted=True),
    "document": Rule("document", submitted=True),
    "draft": Rule("draft", submitted=True),
    # An applicant's rights over their data never lapse.
    "mydata": Rule("mydata", submitted=True),
    "delete": Rule("delete", submitted=True),
    "next": Rule("next"),
    "skip": Rule("next"),
    "back": Rule("back"),
    "jump": Rule("jump"),
    "goto": Rule("jump"),
    "menu": Rule("jump"),
    "rewrite": Rule("rewrite"),
    "undo": Rule("undo"),
    "clear": Rule("clear"),
    "cancel": Rule("cancel"),
    "finish": Rule("finish"),
    "profile": Rule("profile"),
    "files": Rule("files"),
}

BUTTONS: dict[cb.Action, Rule] = {
    cb.DELETE_YES: Rule("erase", submitted=True, mode=CONFIRM_DELETE),
    cb.DELETE_NO: Rule("keep_data", submitted=True),
    cb.REVIEW: Rule("review", submitted=True),
    cb.PROGRESS: Rule("progress", submitted=True),
    cb.REOPEN: Rule("reopen", submitted=True),
    cb.DRAFT: Rule("draft", submitted=True),
    cb.MENU: Rule("jump"),
    cb.FINISH: Rule("finish"),
    cb.HERE: Rule("where"),
    cb.FINISH_YES: Rule("submit", mode=CONFIRM_FINISH),
    cb.SAVE_TYPED: Rule("save_typed"),
    cb.CATEGORY: Rule("category"),
    cb.GO: Rule("go"),
    cb.TABLE: Rule("table", bound=Bound.FIELD),
    cb.FILES: Rule("files_list", bound=Bound.QUESTION),
    cb.FILE_ASK: Rule("file_ask", bound=Bound.QUESTION),
    cb.FILE_REMOVE: Rule("file_remove", bound=Bound.QUESTION),
    cb.NEXT: Rule("next", bound=Bound.STEP),
    cb.BACK: Rule("back", bound=Bound.STEP),
    cb.REWRITE: Rule("rewrite", bound=Bound.QUESTION),
    cb.SHOW: Rule("show", bound=Bound.QUESTION),
    cb.CANCEL: Rule("cancel", bound=Bound.QUESTION),
    cb.CLEAR: Rule("clear", bound=Bound.QUESTION),
    cb.PICK: Rule("pick", bound=Bound.FIELD),
    cb.KEEP: Rule("keep", bound=Bound.FIELD),
    cb.SKIP_FIELD: Rule("skip_field", bound=Bound.FIELD),
}


class Verdict(Enum):
    GO = "go"
    SUBMITTED = "submitted"  # the application is submitted: say so, with 查看/重新打开
    STALE = "stale"  # a button from an old message, or one that no longer applies here


def guard(rule: Rule, status: str, step: str, mode: str, tap: cb.Tap | None = None) -> Verdict:
    """Whether the row may run for an applicant at (status, step, mode): the guards, written once."""
    if rule.mode is not None and mode != rule.mode:
        return Verdict.STALE
    if status == "submitted" and not rule.submitted:
        return Verdict.SUBMITTED
    if tap is None or rule.bound is Bound.NONE:
        return Verdict.GO
    if rule.bound is Bound.FIELD:
        return Verdict.GO if step == f"p:{tap['field']}" else Verdict.STALE
    carried = tap["question"] if rule.bound is Bound.QUESTION else tap["step"]
    here = step == f"q:{carried}" or (rule.bound is Bound.STEP and carried == step)
    return Verdict.GO if here else Verdict.STALE


# -- modes: which events continue a mode; anything else leaves it ------------------------------

@dataclass(frozen=True)
class Continues:
    events: tuple[type, ...] = ()
    buttons: tuple[cb.Action, ...] = ()
    commands: tuple[str, ...] = ()

    def __contains__(self, event: Event) -> bool:
        if isinstance(event, self.events):
            return True
        if isinstance(event, ButtonPress):
            tap = cb.parse(event.data)
            return tap is not None and tap.action in self.buttons
        return isinstance(event, Command) and event.name.lower() in self.commands


MODES: dict[str, Continues] = {
    # Asking where one is re-shows the rewrite prompt, which says plainly what a text will do.
    REPLACE: Continues((Text, EditedText, FileReceived), (cb.SAVE_TYPED,), ("start", "where")),
    APPEND: Continues((Text, EditedText), (cb.SAVE_TYPED,)),
    ROW: Continues((Text,), (cb.SAVE_TYPED,)),
    CONFIRM_FINISH: Continues(buttons=(cb.FINISH_YES,)),
    CONFIRM_DELETE: Continues(buttons=(cb.DELETE_YES,)),
}
# Leaving a rewrite by cancelling it, or by starting it again, needs no word of its own.
LEAVES_REWRITE_QUIETLY = Continues(buttons=(cb.CANCEL, cb.REWRITE), commands=("cancel", "rewrite"))


def continues(mode: str, event: Event) -> bool:
    rule = MODES.get(ROW if mode.startswith(ROW) else mode)
    return rule is not None and event in rule


# -- steps -------------------------------------------------------------------------------------

class Steps:
    """The order of the steps for one criteria file, and moving between them."""

    def __init__(self, criteria: Criteria) -> None:
        self.criteria = criteria
        self.order = [f"p:{f.key}" for f in criteria.profile] + [f"q:{q.id}" for q in criteria.questions] + [END]
        self._known = frozenset(self.order)

    def __contains__(self, step: str) -> bool:
        return step in self._known

    @property
    def first(self) -> str:
        return self.order[0]

    def neighbour(self, step: str, delta: int) -> str:
        index = self.order.index(step) if step in self._known else 0
        return self.order[max(0, min(len(self.order) - 1, index + delta))]

    def question(self, step: str) -> Question | None:
        return self.criteria.question(step[2:]) if step.startswith("q:") else None

    def step_for(self, target: str) -> str:
        """The step a 目录 target ("p", an item id or a question id) leads to."""
        if target == "p":
            return self.first
        item = self.criteria.item(target)
        if item is not None:
            return f"q:{item.questions[0].id}"
        return f"q:{target}"

    def target(self, text: str) -> str | None:
        return "p" if text == "p" else parse_target(self.criteria, text)

    def first_open(self, answers: dict[str, str]) -> str:
        """Where to resume when the criteria lost the applicant's step: the first open question."""
        return next((f"q:{q.id}" for q in self.criteria.questions if not answers.get(q.id)), END)
