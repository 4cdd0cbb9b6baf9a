"""The interview as a table: buttons read back what they carry, and the guards hold for every row."""

from __future__ import annotations

import pytest

from bot.flows import callbacks as cb
from bot.flows.events import ButtonPress, Command, Sender, Text
from bot.flows.transitions import (
    BUTTONS,
    COMMANDS,
    CONFIRM_DELETE,
    CONFIRM_FINISH,
    REPLACE,
    Steps,
    Verdict,
    continues,
    guard,
)

ME = Sender("console", "t")


@pytest.mark.parametrize("action,values", [
    (cb.NEXT, ("3.1a",)), (cb.BACK, ("p:name",)), (cb.BACK, ("end",)), (cb.SAVE_TYPED, ("12", "p:phone")),
    (cb.TABLE, ("e", "work", 2)), (cb.TABLE, ("x", "work")), (cb.PICK, ("gender", 1)), (cb.FILE_ASK, ("7.4a", 99)),
    (cb.FINISH_YES, ()), (cb.MENU, ()), (cb.GO, ("p",)),
])
def test_a_button_reads_back_what_it_carries(action: cb.Action, values: tuple) -> None:
    tap = cb.parse(cb.encode(action, *values))
    assert tap is not None and tap.action is action
    assert [tap[name] for name in action.names[:len(values)]] == [str(v) for v in values]


def test_buttons_already_sent_in_chats_keep_their_meaning() -> None:
    # The formats of buttons in messages sent by earlier versions: they must not turn stale.
    assert cb.encode(cb.NEXT, "3.1a") == "nx:3.1a"
    assert cb.encode(cb.BACK, "p:name") == "bk:p:name"
    assert cb.encode(cb.SAVE_TYPED, "12", "q:1.1a") == "sv:12:q:1.1a"
    assert cb.encode(cb.TABLE, "d", "work", 3) == "tb:d:work:3"
    assert cb.parse("fin:yes").action is cb.FINISH_YES and cb.parse("fin").action is cb.FINISH
    assert cb.parse("consent:yes").action is cb.CONSENT_YES


@pytest.mark.parametrize("data", ["", "zz:1", "fin:maybe", "menu:1", "sv:12", "pc:gender", "tb:e"])
def test_data_no_button_of_ours_carries_is_not_read(data: str) -> None:
    assert cb.parse(data) is None


def test_a_button_telegram_would_refuse_is_refused_when_it_is_made() -> None:
    with pytest.raises(cb.TooLong):
        cb.encode(cb.SAVE_TYPED, "9" * 60, "p:phone")
    assert not cb.fits(cb.SAVE_TYPED, "9" * 60, "p:phone")
    assert cb.fits(cb.SAVE_TYPED, "138", "p:phone")


def test_a_forged_huge_file_number_is_not_a_number() -> None:
    assert cb.parse("fr:7.4a:" + "9" * 30).number("file") is None


def test_every_button_built_by_the_interview_has_a_row_in_the_table(criteria) -> None:
    from bot.flows.prompts import Prompts
    from bot.flows.turn import Context

    ctx = Context(None, criteria, Steps(criteria), None, None, None, None, None, None, ())  # type: ignore[arg-type]
    prompts = Prompts(ctx)
    built = [b.data for q in criteria.questions for row in prompts.question_buttons(q, True, 2) for b in row]
    built += [b.data for f in criteria.profile for row in prompts.profile_buttons(f, "x") for b in row]
    built += [b.data for row in prompts.menu().buttons + prompts.end_actions().buttons for b in row]
    for data in built:
        tap = cb.parse(data)
        assert tap is not None and tap.action in BUTTONS, data


def test_once_submitted_only_reading_rows_run() -> None:
    assert guard(COMMANDS["review"], "submitted", "q:1.1a", "") is Verdict.GO
    assert guard(COMMANDS["next"], "submitted", "q:1.1a", "") is Verdict.SUBMITTED
    # The right to erase never lapses, submitted or not.
    assert guard(COMMANDS["delete"], "submitted", "q:1.1a", "") is Verdict.GO
    tap = cb.parse("nx:1.1a")
    assert guard(BUTTONS[tap.action], "submitted", "q:1.1a", "", tap) is Verdict.SUBMITTED


def test_a_confirmation_runs_only_while_it_waits() -> None:
    yes = cb.parse("fin:yes")
    assert guard(BUTTONS[yes.action], "active", "end", CONFIRM_FINISH, yes) is Verdict.GO
    assert guard(BUTTONS[yes.action], "active", "end", "", yes) is Verdict.STALE
    erase = cb.parse("del:yes")
    assert guard(BUTTONS[erase.action], "submitted", "end", CONFIRM_DELETE, erase) is Verdict.GO
    assert guard(BUTTONS[erase.action], "active", "end", "", erase) is Verdict.STALE


def test_a_button_from_an_old_question_is_stale_elsewhere() -> None:
    rewrite = cb.parse("rw:1.1a")
    assert guard(BUTTONS[rewrite.action], "active", "q:1.1a", "", rewrite) is Verdict.GO
    assert guard(BUTTONS[rewrite.action], "active", "q:1.1b", "", rewrite) is Verdict.STALE
    # 上一题 on the 申报表 or at the end carries the step itself.
    back = cb.parse("bk:p:unit")
    assert guard(BUTTONS[back.action], "active", "p:unit", "", back) is Verdict.GO
    assert guard(BUTTONS[back.action], "active", "p:name", "", back) is Verdict.STALE
    pick = cb.parse("pc:gender:1")
    assert guard(BUTTONS[pick.action], "active", "p:gender", "", pick) is Verdict.GO
    assert guard(BUTTONS[pick.action], "active", "q:1.1a", "", pick) is Verdict.STALE


def test_a_rewrite_waits_for_text_and_ends_with_anything_else() -> None:
    assert continues(REPLACE, Text(ME, "新回答"))
    assert continues(REPLACE, Command(ME, "where"))
    assert not continues(REPLACE, Command(ME, "next"))
    assert not continues(REPLACE, ButtonPress(ME, "nx:1.1a"))
    assert continues("row:2", Text(ME, "2020.01 某公司 质量部"))
    assert not continues("row:2", ButtonPress(ME, "menu"))
    assert continues(CONFIRM_FINISH, ButtonPress(ME, "fin:yes"))
    assert not continues(CONFIRM_FINISH, Text(ME, "好"))


def test_steps_run_from_the_form_through_the_questions_to_the_end(criteria) -> None:
    steps = Steps(criteria)
    assert steps.first == f"p:{criteria.profile[0].key}"
    assert steps.neighbour(steps.first, -1) == steps.first
    assert steps.neighbour(f"p:{criteria.profile[-1].key}", +1) == f"q:{criteria.questions[0].id}"
    assert steps.neighbour("end", +1) == "end"
    assert steps.step_for("p") == steps.first
    first_item = criteria.categories[0].items[0]
    assert steps.step_for(first_item.id) == f"q:{first_item.questions[0].id}"
    assert steps.first_open({q.id: "答" for q in criteria.questions[:3]}) == f"q:{criteria.questions[3].id}"
