"""Moving through the interview: next, back, the 目录, jumping, and saying where one is."""

from __future__ import annotations

import unicodedata

from bot.criteria import parse_target
from bot.flows import callbacks as cb
from bot.flows import returned
from bot.flows.events import Reply
from bot.flows.prompts import Prompts
from bot.flows.turn import Context, Turn
from bot.wording import say


class Navigation:
    def __init__(self, ctx: Context, prompts: Prompts) -> None:
        self.ctx = ctx
        self.prompts = prompts

    async def go(self, turn: Turn, step: str) -> list[Reply]:
        replies = []
        leaving = self.ctx.steps.question(turn.app.step)
        if leaving is not None and step != turn.app.step:
            advice_reply = await self.ctx.advice.leaving(turn.app, leaving, turn.answer(leaving.id),
                                                         turn.files.get(leaving.id, 0))
            replies += [advice_reply] if advice_reply else []
        note = self.prompts.arrival_note(turn, turn.app.step, step)
        await self.ctx.move(turn, step=step, mode="")
        return replies + ([Reply(note)] if note else []) + [await self.prompts.prompt(turn)]

    async def start(self, turn: Turn, _args: str = "") -> list[Reply]:
        if turn.submitted:
            return [self.prompts.submitted(turn)]
        answered = sum(1 for q in self.ctx.criteria.questions if turn.answer(q.id))
        replies = [Reply(say("welcome_back", answered=answered, total=len(self.ctx.criteria.questions)))]
        back = await self.ctx.back(turn)
        if back is not None:
            replies.append(Reply(returned.notice_text(self.ctx.criteria, back)))
        return [*replies, await self.prompts.prompt(turn)]

    async def help(self, turn: Turn, _args: str = "") -> list[Reply]:
        return [Reply(say("help", commands=say("command_list")))]

    async def where(self, turn: Turn, _args: str = "") -> list[Reply]:
        if turn.submitted:
            return [self.prompts.submitted(turn)]
        return [await self.prompts.prompt(turn)]

    async def next(self, turn: Turn, _args: str = "") -> list[Reply]:
        return await self.go(turn, self.ctx.steps.neighbour(turn.app.step, +1))

    async def back(self, turn: Turn, _args: str = "") -> list[Reply]:
        target = self.ctx.steps.neighbour(turn.app.step, -1)
        if target == turn.app.step:
            return [Reply(say("already_first")), await self.prompts.prompt(turn)]
        return await self.go(turn, target)

    async def profile(self, turn: Turn, _args: str = "") -> list[Reply]:
        return await self.go(turn, self.ctx.steps.first)

    async def jump(self, turn: Turn, args: str = "") -> list[Reply]:
        wanted = unicodedata.normalize("NFKC", args).strip()
        if not wanted:
            return [self.prompts.menu()]
        target = parse_target(self.ctx.criteria, wanted)
        if target is None and self.ctx.criteria.category(wanted):
            return [self.prompts.item_menu(wanted)]
        if target is None:
            return [Reply(say("jump_unknown", target=args.strip()[:20])), self.prompts.menu()]
        return await self.go(turn, self.ctx.steps.step_for(target))

    async def category(self, turn: Turn, tap: cb.Tap) -> list[Reply]:
        if self.ctx.criteria.category(tap["category"]) is None:
            return await self.stale(turn)
        return [self.prompts.item_menu(tap["category"])]

    async def go_to(self, turn: Turn, tap: cb.Tap) -> list[Reply]:
        target = self.ctx.steps.target(tap["target"])
        if target is None:
            return await self.stale(turn)
        return await self.go(turn, self.ctx.steps.step_for(target))

    async def cancel(self, turn: Turn, _args: str = "") -> list[Reply]:
        if turn.app.mode:
            await self.ctx.move(turn, mode="")
        return [Reply(say("cancelled")), await self.prompts.prompt(turn)]

    async def stale(self, turn: Turn) -> list[Reply]:
        """A button from an old message: say where the applicant is now instead."""
        if turn.submitted:
            return [self.prompts.submitted(turn)]
        return [Reply(say("stale_button")), await self.prompts.prompt(turn)]
