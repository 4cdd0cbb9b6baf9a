"""The award office's desk on the web (/office): what every room of it shares.

Sign-in from a one-time link, the coordinator behind each request (checked against today's
AWARD_COORDINATORS on every request: one removed from the list loses the desk at once), and the
checks every form that changes something passes (the session's CSRF token and this site's Origin).
The rooms, each in its own module, add their pages: the overview and table (office_overview),
an applicant's page and 退回修改 (office_applicant), the round's deadline, reminders and export
(office_round), and invitations (office_invites).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import clock
from bot.criteria import Criteria
from bot.reminders import ReminderPolicy
from bot.storage import ApplicantRow, Storage
from bot.web.guard import csrf_for, csrf_ok, number, same_origin
from bot.web.office_store import OfficeStore
from bot.web.store import Who
from bot.wording import say

OFFICE_COOKIE = "award_office"


@dataclass(frozen=True)
class OfficeSettings:
    coordinators: frozenset[tuple[str, str]]
    policy: ReminderPolicy
    default_deadline: datetime | None = None
    secure_cookie: bool = False
    base_url: str = ""  # the public address (AWARD_WEB_BASE_URL): links in invitations, allowed Origin
    email: bool = False  # AWARD_SMTP_URL is set: reminders and 退回修改 notices also go by e-mail
    files: Path | None = None  # AWARD_DATA_DIR (the exports go where the chat's /export puts them)


class Desk:
    """The desk's shared parts; `routes()` gathers every room's pages."""

    def __init__(self, storage: Storage, criteria: Criteria, settings: OfficeSettings,
                 page: Callable[..., web.Response]) -> None:
        self.storage = storage
        self.criteria = criteria
        self.settings = settings
        self.page = page  # the site's: one set of templates and one way of rendering them
        self.tokens = OfficeStore(storage)

    def routes(self) -> list[web.RouteDef]:
        # Imported here: each room imports this module for the Desk it is given.
        from bot.web.office_applicant import ApplicantPages
        from bot.web.office_invites import Invitations
        from bot.web.office_overview import Overview
        from bot.web.office_round import Round

        rooms = (Overview(self), ApplicantPages(self), Round(self), Invitations(self))
        return [web.get("/office/in/{token}", self.sign_in), web.get("/office/out", self.sign_out)] + [
            r for room in rooms for r in room.routes()]

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        who = await self.tokens.use_link(request.match_info["token"])
        if who is None or (who.channel, who.user_id) not in self.settings.coordinators:
            return self.page("message.html", 403, text=say("office_link_refused"))
        response = web.HTTPSeeOther("/office")
        response.set_cookie(OFFICE_COOKIE, await self.tokens.new_session(who), httponly=True, samesite="Lax",
                            path="/office", secure=self.settings.secure_cookie)
        raise response

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        """The session ends here and now (a shared office PC); a GET, as signing out gives nothing to forge."""
        await self.tokens.end_session(request.cookies.get(OFFICE_COOKIE, ""))
        response = self.page("message.html", text=say("office_signed_out_now"))
        response.del_cookie(OFFICE_COOKIE, path="/office")
        return response

    async def coordinator(self, request: web.Request) -> Who:
        """The coordinator behind this request, checked against today's list on every request."""
        who = await self.tokens.session(request.cookies.get(OFFICE_COOKIE, ""))
        if who is None:
            raise web.HTTPUnauthorized(text=say("office_signed_out"))
        if (who.channel, who.user_id) not in self.settings.coordinators:
            raise web.HTTPForbidden(text=say("office_not_a_coordinator"))
        return who

    async def posted(self, request: web.Request) -> tuple[Who, dict[str, Any]]:
        """The coordinator and the form of a request that changes something; a forged one is refused
        (403) before anything is read or written."""
        who = await self.coordinator(request)
        data = dict(await request.post())
        if not same_origin(request, self.settings.base_url) or \
                not csrf_ok(request.cookies.get(OFFICE_COOKIE), str(data.get("csrf", ""))):
            raise web.HTTPForbidden(text=say("office_forged"))
        return who, data

    def csrf(self, request: web.Request) -> str:
        """The token a form of this session carries back (see `posted`)."""
        return csrf_for(request.cookies.get(OFFICE_COOKIE, ""))

    async def applicant_row(self, request: web.Request) -> ApplicantRow:
        """The applicant the URL names, or 404."""
        row = await self.storage.applicant_row(number(request.match_info["applicant_id"]))
        if row is None:
            raise web.HTTPNotFound(text=say("office_no_such_applicant"))
        return row

    def local(self, stamp: str | datetime | None, fmt: str = clock.MINUTE) -> str:
        """A stored UTC time as the award's clock shows it."""
        return clock.local(stamp, self.settings.policy.tz, fmt)
