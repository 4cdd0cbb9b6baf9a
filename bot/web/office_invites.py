"""Invitations from the desk: personal links for a list of names, which were used, revoking, a QR sheet."""

from __future__ import annotations

from aiohttp import web

from bot.web.office import Desk


class Invitations:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def routes(self) -> list[web.RouteDef]:
        return []
