"""One applicant's huge answers never hold up anyone else's reply."""

from __future__ import annotations

import asyncio
import time

from bot.flows.dispatch import Dispatcher
from bot.flows.interview import Interview
from bot.storage import Storage
from tests.conftest import FakeApplicant, answer_for, application_of
from tests.telegram_fixtures import said


async def test_a_review_of_39_answers_of_50000_digits_does_not_delay_another_applicants_reply(
    storage: Storage, criteria, tmp_path
) -> None:
    dispatcher = Dispatcher(Interview(storage, criteria, data_dir=tmp_path / "files").handle)
    heavy, other = FakeApplicant(dispatcher, "h1", "大"), FakeApplicant(dispatcher, "h2", "小")
    await heavy.reach_questions()
    await other.reach_questions()
    app = await application_of(storage, heavy)
    # The worst the evidence checks were given: long runs of digits and of Chinese numerals.
    for n, question in enumerate(criteria.questions):
        text = ("1234567890" * 5000) if n % 2 else ("一二三四五六七八九十" * 5000)
        await storage.replace_answer(app.id, question.id, text)

    started = time.monotonic()
    review = asyncio.ensure_future(heavy.command("review"))
    await asyncio.sleep(0.05)  # the review is under way
    before = time.monotonic()
    await other.say(answer_for("1.1a"))
    waited = time.monotonic() - before
    assert said("saved_first", id="1.1a") in other.text
    await asyncio.wait_for(review, 30)
    assert "回顾" in heavy.text or "1.1a" in heavy.text
    assert waited < 0.5, f"another applicant waited {waited:.2f} s (the review took {time.monotonic() - started:.2f} s)"
