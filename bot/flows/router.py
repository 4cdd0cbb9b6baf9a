"""One entry point for every event: the award office's commands and buttons, or the interview."""

from __future__ import annotations

from bot.flows.coordinator import Coordinator
from bot.flows.events import Event, Reply
from bot.flows.interview import Interview


class Router:
    def __init__(self, interview: Interview, coordinator: Coordinator) -> None:
        self.interview = interview
        self.coordinator = coordinator

    async def handle(self, event: Event) -> list[Reply]:
        # Coordinator.handle checks the right again itself, on every event.
        if self.coordinator.wants(event) and event.sender in self.coordinator.coordinators:
            return await self.coordinator.handle(event)
        return await self.interview.handle(event)
