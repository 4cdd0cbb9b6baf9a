"""What the applicant is told of a return (退回修改): the notice, the comment under its question,
the places still to change. Pure: the interview and the desk give it the return and the criteria.
"""

from __future__ import annotations

from bot.criteria import Criteria
from bot.flows import callbacks as cb
from bot.flows.events import UNREACHABLE, Button, keyboard
from bot.mail import RETURNED
from bot.returns import PROFILE, Return, ordered, short, target_label
from bot.storage import Outgoing
from bot.wording import say

KIND = RETURNED  # outbox kind of the notice (and of its e-mail copy)
# The notice is one message (a transport sends one): each comment is cut there; the question shows it whole.
NOTICE_COMMENT_CHARS = 200
NOTICE_CHARS = 3000  # the comments' share of the one message (Telegram's limit is 4,096 characters)
FIX_BUTTONS = 3


def notice_text(criteria: Criteria, ret: Return) -> str:
    lines: list[str] = []
    targets = ordered(criteria, [c.target for c in ret.comments])
    for n, target in enumerate(targets):
        comment = ret.comment_on(target)
        assert comment is not None
        text = comment.text if len(comment.text) <= NOTICE_COMMENT_CHARS else \
            comment.text[:NOTICE_COMMENT_CHARS] + "……"
        line = say("returned_comment_line", target=target_label(criteria, target), comment=text)
        if sum(len(x) + 2 for x in lines) + len(line) > NOTICE_CHARS:
            # The rest by name only: each shows in full on its question.
            lines.append(say("returned_more", targets="、".join(short(t) for t in targets[n:])))
            break
        lines.append(line)
    return say("returned_notice", comments="\n\n".join(lines))


def fix_buttons(criteria: Criteria, ret: Return) -> tuple[tuple[Button, ...], ...]:
    targets = ordered(criteria, [c.target for c in ret.comments])[:FIX_BUTTONS]
    return keyboard(*[[Button(say("btn_fix", target=say("returned_profile") if t == PROFILE else t),
                              cb.encode(cb.GO, "p" if t == PROFILE else t))] for t in targets])


def notice(criteria: Criteria, ret: Return, channel: str, recipient: str, applicant_id: int,
           nonce: str) -> Outgoing | None:
    """The notice queued for the applicant's channel; None for a channel nothing is delivered to."""
    if channel == UNREACHABLE:  # its next /start shows it
        return None
    buttons = [[[b.label, b.data] for b in row] for row in fix_buttons(criteria, ret)]
    return Outgoing(channel, recipient, KIND, {"text": notice_text(criteria, ret), "buttons": buttons},
                    applicant_id=applicant_id, dedupe_key=f"{KIND}:{ret.application_id}:{nonce}")


def on_step(ret: Return | None, target: str) -> str | None:
    """The line shown under a question (or the 申报表's fields) while its comment stands."""
    comment = ret.comment_on(target) if ret else None
    return say("returned_on_question", comment=comment.text) if comment else None


def still_unchanged(criteria: Criteria, ret: Return, answers: dict[str, str], profile_now: str) -> str | None:
    """Before resubmitting: the places with a comment that have not been touched since the return."""
    same = [c.target for c in ret.comments
            if (profile_now if c.target == PROFILE else answers.get(c.target, "")) == c.answer_then]
    if not same:
        return None
    return say("returned_unchanged", targets="、".join(
        say("returned_profile") if t == PROFILE else t for t in ordered(criteria, same)))


def progress_line(criteria: Criteria, ret: Return) -> str:
    return say("returned_progress", targets="、".join(
        say("returned_profile") if t == PROFILE else t for t in ordered(criteria, [c.target for c in ret.comments])))
