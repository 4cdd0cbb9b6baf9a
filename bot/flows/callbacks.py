"""What a button carries back when it is tapped: one table of actions, one codec.

Every button of the interview is built with `encode` and read with `parse`. The formats are the
ones buttons in earlier messages already carry (``nx:3.1a``, ``bk:p:name``, ``tb:e:work:2``…):
changing one would turn every button already sent into a stale one.

Telegram refuses a whole message when one button carries more than 64 bytes, long after the
button was made; `encode` refuses it where the button is made, so a test finds it.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BYTES = 64  # Telegram's limit for callback_data, in UTF-8 bytes


@dataclass(frozen=True)
class Action:
    """One kind of button: its code and the names of what it carries after the code.

    The last parameter takes the rest of the data, colons included (a step such as ``p:name``).
    A parameter ending in ``?`` may be absent.
    """

    code: str
    params: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.rstrip("?") for p in self.params)

    @property
    def required(self) -> int:
        return sum(1 for p in self.params if not p.endswith("?"))


# Before consent.
CONSENT_YES = Action("consent:yes")
CONSENT_NO = Action("consent:no")
# Anywhere in the interview.
MENU = Action("menu")
PROGRESS = Action("prog")
REVIEW = Action("rev")
HERE = Action("here")
REOPEN = Action("reopen")
DRAFT = Action("draft")
FINISH = Action("fin")
FINISH_YES = Action("fin:yes")
DELETE_YES = Action("del:yes")
DELETE_NO = Action("del:no")
CATEGORY = Action("cat", ("category",))
GO = Action("go", ("target",))  # an item or question id, or "p" for the 申报表
# Bound to the question (or step) they were made for.
NEXT = Action("nx", ("step",))
BACK = Action("bk", ("step",))
REWRITE = Action("rw", ("question",))
SHOW = Action("sh", ("question",))
CANCEL = Action("cx", ("question",))
CLEAR = Action("cl", ("question",))
SAVE_TYPED = Action("sv", ("number", "step"))  # keep a typed number as the answer after all
# Bound to the 申报表 field they were made for.
PICK = Action("pc", ("field", "choice"))
KEEP = Action("keep", ("field",))
SKIP_FIELD = Action("skipf", ("field",))
TABLE = Action("tb", ("op", "field", "row?"))  # op: e(dit), d(elete), x (cancel)
# A question's evidence files.
FILES = Action("fl", ("question",))
FILE_ASK = Action("fr", ("question", "file"))
FILE_REMOVE = Action("fy", ("question", "file"))

ACTIONS: tuple[Action, ...] = (
    CONSENT_YES, CONSENT_NO, MENU, PROGRESS, REVIEW, HERE, REOPEN, DRAFT, FINISH, FINISH_YES, DELETE_YES,
    DELETE_NO, CATEGORY, GO, NEXT, BACK, REWRITE, SHOW, CANCEL, CLEAR, SAVE_TYPED, PICK, KEEP, SKIP_FIELD, TABLE,
    FILES, FILE_ASK, FILE_REMOVE,
)
_BY_CODE = {action.code: action for action in ACTIONS}


@dataclass(frozen=True)
class Tap:
    """A parsed button: its action and what it carries, by parameter name."""

    action: Action
    args: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.args.get(name, "")

    def number(self, name: str) -> int | None:
        """A carried number, or None when it is not one (a forged or mangled button)."""
        value = self[name]
        # At most 18 digits: SQLite's integers; a forged 30-digit id is a stale button, not an overflow.
        return int(value) if value.isascii() and value.isdecimal() and len(value) <= 18 else None


class TooLong(ValueError):
    """A button whose data Telegram would refuse."""


def encode(action: Action, *args: object) -> str:
    if not action.required <= len(args) <= len(action.params):
        raise TypeError(f"{action.code} takes {action.params}, got {len(args)} values")
    data = ":".join([action.code, *(str(a) for a in args)])
    if len(data.encode()) > MAX_BYTES:
        raise TooLong(f"button data for {action.code} is {len(data.encode())} bytes; Telegram allows {MAX_BYTES}")
    return data


def fits(action: Action, *args: object) -> bool:
    try:
        encode(action, *args)
    except TooLong:
        return False
    return True


def parse(data: str) -> Tap | None:
    """The button's action and values; None for data no button of ours carries."""
    exact = _BY_CODE.get(data)
    if exact is not None and not exact.params:
        return Tap(exact, {})
    code, _, rest = data.partition(":")
    action = _BY_CODE.get(code)
    if action is None or ":" in action.code or (not action.params and rest):
        return None
    values = rest.split(":", len(action.params) - 1) if action.params and rest else []
    if len(values) < action.required:
        return None
    return Tap(action, dict(zip(action.names, values, strict=False)))
