"""Applications returned for changes (退回修改): the office's comments, kept until resubmission.

A return is not a status of its own: the application is open again ('active') with a return that
its next submission resolves. Each comment is on a question (its id) or on the 申报表 ('profile'),
with the answer as it stood, so the office can see what changed since.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bot import profile_view
from bot.criteria import Criteria, ProfileField
from bot.storage import Outgoing, Storage, now_utc, queue_in
from bot.wording import say

PROFILE = "profile"  # a comment on the 申报表 rather than on a question
MAX_COMMENT = 1000
REWRITTEN = 0.3  # below this similarity a diff is noise: the text was written anew
FOLD = 3  # characters kept the same between two changes that still read as part of one
TOKEN = re.compile(r"[0-9A-Za-z.%]+|\s+|.", re.S)


@dataclass(frozen=True)
class Comment:
    target: str  # a question id, or PROFILE
    text: str
    answer_then: str  # the answer (or the 申报表 as lines) when it was returned


@dataclass(frozen=True)
class Return:
    id: int
    application_id: int
    coordinator: tuple[str, str]
    returned_at: str
    resolved_at: str | None
    comments: tuple[Comment, ...]

    def comment_on(self, target: str) -> Comment | None:
        return next((c for c in self.comments if c.target == target), None)


class Returns:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def open(self, application_id: int) -> Return | None:
        """The return the applicant still has to answer, if any."""
        return await self._one("resolved_at IS NULL", application_id)

    async def latest(self, application_id: int) -> Return | None:
        """The last return, answered or not: what the office compares the resubmission with."""
        return await self._one("1", application_id)

    async def _one(self, condition: str, application_id: int) -> Return | None:
        row = await self.storage.fetchone(
            f"SELECT * FROM returns WHERE application_id = ? AND {condition} ORDER BY id DESC LIMIT 1",
            (application_id,))
        if row is None:
            return None
        comments = await self.storage.fetchall(
            "SELECT target, comment, answer_then FROM return_comments WHERE return_id = ? ORDER BY rowid",
            (row["id"],))
        return Return(row["id"], row["application_id"], (row["coordinator_channel"], row["coordinator_id"]),
                      row["returned_at"], row["resolved_at"],
                      tuple(Comment(c["target"], c["comment"], c["answer_then"]) for c in comments))

    async def give_back(self, application_id: int, coordinator: tuple[str, str], comments: list[Comment],
                        step: str, notices: list[Outgoing]) -> bool:
        """Return a submitted application with its comments, reopen it at `step` and queue the notices,
        all in one transaction; False (nothing done) if it is not submitted any more."""
        now = now_utc()
        async with self.storage.transaction() as db:
            cursor = await db.execute(
                "UPDATE applications SET status = 'active', submitted_at = NULL, step = ?, mode = '', "
                "updated_at = ? WHERE id = ? AND status = 'submitted'", (step, now, application_id))
            if cursor.rowcount != 1:
                return False
            cursor = await db.execute(
                "INSERT INTO returns (application_id, coordinator_channel, coordinator_id, returned_at) "
                "VALUES (?, ?, ?, ?)", (application_id, *coordinator, now))
            await db.executemany(
                "INSERT INTO return_comments (return_id, target, comment, answer_then) VALUES (?, ?, ?, ?)",
                [(cursor.lastrowid, c.target, c.text, c.answer_then) for c in comments])
            for notice in notices:
                await queue_in(db, notice, None)
        return True

    async def resolve(self, application_id: int) -> None:
        """The applicant resubmitted: the comments stop showing to them; the office keeps them."""
        await self.storage.write("UPDATE returns SET resolved_at = ? WHERE application_id = ? AND resolved_at IS NULL",
                                 (now_utc(), application_id))

    async def all_open(self) -> dict[int, Return]:
        """Every return not yet answered, by application: the export's 汇总 lists their comments."""
        rows = await self.storage.fetchall(
            "SELECT r.*, c.target, c.comment, c.answer_then FROM returns r JOIN return_comments c "
            "ON c.return_id = r.id WHERE r.resolved_at IS NULL ORDER BY r.id, c.rowid")
        heads: dict[int, tuple[int, tuple[str, str], str]] = {}
        comments: dict[int, list[Comment]] = {}
        for row in rows:
            heads[row["application_id"]] = (row["id"], (row["coordinator_channel"], row["coordinator_id"]),
                                            row["returned_at"])
            comments.setdefault(row["application_id"], []).append(
                Comment(row["target"], row["comment"], row["answer_then"]))
        return {app: Return(head[0], app, head[1], head[2], None, tuple(comments[app])) for app, head in heads.items()}


def profile_text(criteria: Criteria, profile: dict[str, str]) -> str:
    """The 申报表 as text, one field a line: how its comment's 'answer then' is kept and compared (and
    shown to the office: a 身份证号 masked, as on every office screen)."""
    return "\n".join(f"{field.label}：{shown(field, profile.get(field.key, ''))}" for field in criteria.profile)


def shown(field: ProfileField, value: str) -> str:
    """A 申报表 value as the office's screens show it."""
    return profile_view.shown(field, value, office=True)


def changes(before: str, after: str) -> list[tuple[str, str]]:
    """What changed from `before` to `after`, by character (Chinese has no spaces to split on):
    runs of ('same' | 'removed' | 'added', text).

    A short run left the same between two changes (a digit, a 年) is folded into them, as a reader
    sees "95.2%→99.0%" as one change, not five; a text mostly rewritten reads as removed and added whole.
    """
    # Compared by token: a number with its unit (99.0%, 2024, ISO9001) is one, each Chinese character another,
    # so 98% → 99.0% reads as one change and not as 9 kept and 8 → 9.0.
    old, new = TOKEN.findall(before), TOKEN.findall(after)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < REWRITTEN:
        return [(op, text) for op, text in (("removed", before), ("added", after)) if text]
    pieces: list[list[str]] = []  # [before part, after part, 'same' or 'changed']
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        pieces.append(["".join(old[a1:a2]), "".join(new[b1:b2]), "same" if op == "equal" else "changed"])
    for n, piece in enumerate(pieces):
        if piece[2] == "same" and 0 < n < len(pieces) - 1 and len(piece[0]) < FOLD:
            piece[2] = "changed"
    out: list[tuple[str, str]] = []
    removed = added = ""
    for was, becomes, kind in [*pieces, ["", "", "same"]]:
        if kind == "changed":
            removed, added = removed + was, added + becomes
            continue
        out += [(op, text) for op, text in (("removed", removed), ("added", added)) if text]
        removed = added = ""
        if was:
            out.append(("same", was))
    return out


def target_label(criteria: Criteria, target: str) -> str:
    if target == PROFILE:
        return say("returned_profile")
    question = criteria.question(target)
    return f"{target} {question.text}" if question else target


def ordered(criteria: Criteria, targets: list[str] | tuple[str, ...]) -> list[str]:
    """The 申报表 first, then the questions in the guide's order: the order the applicant meets them."""
    order = {PROFILE: -1} | criteria.question_index
    return sorted(targets, key=lambda t: order.get(t, len(order)))


def short(target: str) -> str:
    return say("returned_profile") if target == PROFILE else target
