"""The round from the desk: the deadline, reminders by hand, and the export of everything."""

from __future__ import annotations

from aiohttp import web

from bot.web.office import Desk


class Round:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def routes(self) -> list[web.RouteDef]:
        return []
