"""An applicant's state as the office reads it, in one place: the chat's list, the desk and the export.

未开始 (nothing answered yet), 填写中, 已退回 (returned for changes, not yet resubmitted), 已提交;
长期未活动 is a mark on an open application, not a state of its own.
"""

from __future__ import annotations

from bot.storage import ApplicantRow
from bot.wording import say

STATES = ("new", "open", "returned", "done")


def state_of(row: ApplicantRow) -> str:
    if row.status == "submitted":
        return "done"
    if row.returned:
        return "returned"
    return "open" if row.answered else "new"


def state_label(row: ApplicantRow) -> str:
    return label(state_of(row))


def label(state: str) -> str:
    return {"new": say("co_state_new"), "open": say("co_state_open"), "returned": say("co_state_returned"),
            "done": say("co_state_done")}[state]

