"""A slow step for one applicant never holds up another; one applicant's events keep their order."""

from __future__ import annotations

import asyncio

from bot.flows.dispatch import Dispatcher
from bot.flows.events import Event, Reply, Sender, Text
from bot.wording import say


async def test_a_slow_applicant_does_not_hold_up_another() -> None:
    release = asyncio.Event()
    handled: list[str] = []

    async def handler(event: Event) -> list[Reply]:
        assert isinstance(event, Text)
        if event.text == "slow":
            await release.wait()  # e.g. building and uploading a large document
        handled.append(f"{event.sender.user_id}:{event.text}")
        return []

    dispatcher = Dispatcher(handler)
    slow = asyncio.create_task(dispatcher.handle(Text(Sender("t", "a"), "slow")))
    queued = asyncio.create_task(dispatcher.handle(Text(Sender("t", "a"), "after slow")))
    await asyncio.wait_for(dispatcher.handle(Text(Sender("t", "b"), "quick")), timeout=1)
    assert handled == ["b:quick"]  # b was served while a's slow step was still running
    release.set()
    await asyncio.gather(slow, queued)
    assert handled == ["b:quick", "a:slow", "a:after slow"]
    assert dispatcher.active == 0


async def test_a_failing_event_gets_an_apology_and_does_not_block_the_applicants_next_one(caplog) -> None:
    async def handler(event: Event) -> list[Reply]:
        assert isinstance(event, Text)
        if event.text.startswith("boom"):
            raise RuntimeError(f"failed on {event.text}")
        return [Reply(event.text)]

    dispatcher = Dispatcher(handler)
    failed, ok = await asyncio.gather(dispatcher.handle(Text(Sender("t", "a"), "boom 机密")),
                                      dispatcher.handle(Text(Sender("t", "a"), "next")))
    assert failed == [Reply(say("unexpected_error"))] and "没有丢失" in failed[0].text
    assert ok == [Reply("next")]
    # Logged once, with its traceback, naming the kind of event and who sent it, not what they typed.
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    logged = record.getMessage()
    assert "Text from t:a" in logged and "test_dispatch.py" in logged and "RuntimeError" in logged
    assert "机密" not in logged
