"""The 申报表 in the conversation: a field a step, typed, picked, kept or skipped; tables a row a message; the photo."""

from __future__ import annotations

import asyncio
import logging

from bot import portrait
from bot.criteria import ProfileField
from bot.files import keep_by_content
from bot.flows import callbacks as cb
from bot.flows import table_field
from bot.flows.events import FileReceived, Reply
from bot.flows.navigation import Navigation
from bot.flows.prompts import Prompts
from bot.flows.transitions import APPEND, ROW
from bot.flows.turn import Context, Turn
from bot.validation import Invalid, clean_text, count_chars, validate_field
from bot.wording import say

log = logging.getLogger(__name__)


class ProfileSteps:
    def __init__(self, ctx: Context, prompts: Prompts, nav: Navigation) -> None:
        self.ctx = ctx
        self.prompts = prompts
        self.nav = nav

    def _field(self, turn: Turn) -> ProfileField:
        field = self.ctx.criteria.field(turn.app.step[2:])
        assert field is not None  # the step was settled against the criteria, and the table bound the button
        return field

    async def text(self, turn: Turn, raw: str, ref: str | None) -> list[Reply]:
        """A message on a 申报表 field: its value, checked; a long field may come in several messages."""
        field = self._field(turn)
        if field.type == "table":
            return await self._table_rows(turn, field, raw, ref)
        current = turn.profile.get(field.key)
        # A long field (主要工作经历) may come in several messages: they add up until 完成本项.
        appending = field.type == "longtext" and turn.app.mode == APPEND and bool(current)
        value = validate_field(field, f"{current}\n{raw}" if appending else raw, today=self.ctx.now().date(),
                               profile=turn.profile)
        if isinstance(value, Invalid):
            return [Reply(say(value.key, **value.params), buttons=self.prompts.profile_buttons(field, current),
                          choice_only=field.type == "choice" and not current)]
        # An edit can only be applied to a value that is exactly one message.
        await self._set(turn, field, value, None if appending else ref)
        if field.type == "longtext":
            await self.ctx.move(turn, mode=APPEND)
            return [Reply(say("profile_long_saved", label=field.label, chars=count_chars(value)),
                          self.prompts.profile_buttons(field, value, finishing=True))]
        return await self._saved(turn, field, say("profile_saved", label=field.label, value=value))

    async def pick(self, turn: Turn, tap: cb.Tap) -> list[Reply]:
        field = self._field(turn)
        choice = tap.number("choice")
        if choice is None or choice >= len(field.choices):
            return await self.nav.stale(turn)
        return await self.text(turn, field.choices[choice], None)

    async def keep(self, turn: Turn, _tap: cb.Tap) -> list[Reply]:
        return await self.nav.next(turn)

    async def skip_field(self, turn: Turn, _tap: cb.Tap) -> list[Reply]:
        if self._field(turn).required:
            return await self.nav.stale(turn)
        return await self.nav.next(turn)

    async def photo(self, turn: Turn, event: FileReceived) -> list[Reply]:
        """The 申报表's photo: cut to 3:4 and kept in the application's folder; then the next field."""
        field = self._field(turn)
        cut = await asyncio.to_thread(portrait.portrait, event.data)
        if cut is None:
            return [Reply(say("photo_not_a_photo")), await self.prompts.prompt(turn)]
        try:
            _digest, path = await asyncio.to_thread(keep_by_content, self.ctx.materials.folder_of(turn.app), cut,
                                                    ".jpg")
        except OSError as error:
            log.error("a photo could not be stored for application %s: %s", turn.app.id,
                      error.strerror or type(error).__name__)
            return [Reply(say("photo_not_stored")), await self.prompts.prompt(turn)]
        await self._set(turn, field, str(path), None)
        await self.ctx.move(turn, step=self.ctx.steps.neighbour(turn.app.step, +1), mode="")
        return [Reply(say("photo_saved")), await self.prompts.prompt(turn)]

    async def table(self, turn: Turn, tap: cb.Tap) -> list[Reply]:
        """A table's 修改第n行 / 删除第n行 / 取消."""
        field = self._field(turn)
        if field.type != "table":
            return await self.nav.stale(turn)
        if tap["op"] == "x":
            await self.ctx.move(turn, mode="")
            return [await self.prompts.prompt(turn)]
        number = tap.number("row")
        if number is None:
            return await self.nav.stale(turn)
        current = turn.profile.get(field.key)
        if tap["op"] == "e" and 1 <= number <= len(table_field.rows(field, current)):
            await self.ctx.move(turn, mode=f"{ROW}{number}")
            return [await self.prompts.prompt(turn)]
        gone = table_field.delete(field, current, number) if tap["op"] == "d" else None
        if gone is None:
            return await self.nav.stale(turn)
        await self._set(turn, field, gone[0], None)
        return [Reply(say("table_row_deleted", n=number, cells="｜".join(c or "—" for c in gone[1]))),
                await self.prompts.prompt(turn)]

    async def _table_rows(self, turn: Turn, field: ProfileField, raw: str, ref: str | None) -> list[Reply]:
        """A typed line on a table: a new row, or the row being rewritten."""
        value = turn.profile.get(field.key)
        text = clean_text(raw)
        changing = turn.app.mode.startswith(ROW)
        # A pasted list is a row a line; a row being changed takes the message as one row.
        lines = [text] if changing else [line for line in text.splitlines() if line.strip()] or [text]
        said: list[str] = []
        for line in lines:
            done = table_field.add(field, value, line, turn.app.mode)
            if isinstance(done, str):
                said.append(say("table_full") if done == "full" else say("table_row_empty"))
                break
            value, n, cells = done
            shown = "｜".join(c or "—" for c in cells)
            said.append(say("table_row_replaced", n=n, cells=shown) if changing
                        else say("table_row_added", n=n, cells=shown))
        if value is not None:
            # The row's message is remembered, so that editing it says how to change a row instead.
            await self._set(turn, field, value, ref)
        await self.ctx.move(turn, mode="")
        return [Reply("\n".join(said)), await self.prompts.prompt(turn)]

    async def _set(self, turn: Turn, field: ProfileField, value: str, ref: str | None) -> None:
        await self.ctx.storage.set_profile_value(turn.app.id, field.key, value, ref)
        turn.profile[field.key] = value

    async def _saved(self, turn: Turn, field: ProfileField, note: str) -> list[Reply]:
        """On to the next field, with what was saved and, leaving the 申报表, how it stands."""
        next_step = self.ctx.steps.neighbour(turn.app.step, +1)
        arrival = self.prompts.arrival_note(turn, f"p:{field.key}", next_step)
        await self.ctx.move(turn, step=next_step, mode="")
        prompt = await self.prompts.prompt(turn)
        note += f"\n\n{arrival}" if arrival else ""
        return [Reply(note + "\n\n" + prompt.text, prompt.buttons, prompt.choice_only)]
