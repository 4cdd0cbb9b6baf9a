"""Invitations from the desk: personal links for a list of names, which were used, revoking, a QR sheet.

A link's token is kept only as its SHA-256 (bot/web/store.py), so a link can be shown only when it
is made. The links of a batch just made are therefore kept in this process's memory for an hour,
for their page and its sheet of QR codes to print, and never written anywhere; after that (or a
restart) a lost link is replaced from the list (重新生成链接), which also ends the old one.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.validation import clean_text
from bot.web.guard import number
from bot.web.office import Desk
from bot.web.qr import qr_svg
from bot.web.store import WebStore, Who
from bot.wording import say

MAX_PEOPLE = 500  # a batch; a round has a few hundred applicants
MAX_NAME_CHARS = 40
MAX_UNIT_CHARS = 80
MAX_ROWS_READ = 10_000  # rows of a spreadsheet looked at, blank ones included
MAX_ERRORS_SHOWN = 10
BATCH_SECONDS = 3600  # how long a batch's links stay on its page
MAX_BATCHES = 20  # kept at once; the oldest goes first
PAGE_ROWS = 100
PER_SHEET = 12  # QR codes on an A4 page: 3 across, 4 down
USER_ID = re.compile(r"w[0-9a-f]{16}")
HEADER_NAMES = ("姓名", "名字")
HEADER_UNITS = ("单位", "工作单位", "所在单位")
COMMAS = re.compile(r"[,，;；]")

log = logging.getLogger(__name__)


class Refused(Exception):
    """A list that makes no links, with the reasons, each a sentence to show."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class Batch:
    """Links just made, shown once: on their page and on the sheet of QR codes."""

    made_by: Who
    made_at: float
    people: list[dict[str, str]]  # name, unit, link
    skipped: list[str] = field(default_factory=list)
    codes: list[str] | None = None  # the QR codes as inline SVG, drawn when the sheet is first opened


# -- reading a list ----------------------------------------------------------------------------


def _tidy(text: str) -> str:
    return " ".join(clean_text(text).split())


def pasted_rows(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, name, unit) of each non-blank line: 姓名, or 姓名 and 单位 after a tab, a comma
    or spaces (two columns copied from Excel arrive with a tab). A header line 姓名 … is skipped."""
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        line = line.strip(" \u3000")  # not a tab: "<tab>某某公司" is a unit with no name
        # A tab first (a name may have a space: "John Smith<tab>ACME"), then a comma, then spaces.
        parts = line.split("\t", 1) if "\t" in line else COMMAS.split(line, maxsplit=1) if COMMAS.search(line) \
            else line.split(None, 1)
        name, unit = _tidy(parts[0]), _tidy(parts[1]) if len(parts) > 1 else ""
        if line_no == 1 and name in HEADER_NAMES:
            continue
        yield line_no, name, unit


def xlsx_rows(data: bytes) -> list[tuple[int, str, str]]:
    """(row number, name, unit) under the header row that has 姓名 (and 单位) in the first sheet that has one."""
    from openpyxl import load_workbook  # only here: the desk's upload is its one user

    if not zipfile.is_zipfile(io.BytesIO(data)):  # an .xls, a CSV, a picture: not read at all
        raise Refused([say("invite_not_xlsx")])
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a zip that is no workbook (a .docx, a broken file): openpyxl's errors vary
        raise Refused([say("invite_not_xlsx")]) from exc
    try:
        for sheet in book.worksheets:
            found = _sheet_rows(sheet.iter_rows(values_only=True))
            if found is not None:
                return found
    finally:
        book.close()
    raise Refused([say("invite_no_name_column")])


def _sheet_rows(rows: Iterable[tuple[Any, ...]]) -> list[tuple[int, str, str]] | None:
    name_col = unit_col = None
    found: list[tuple[int, str, str]] = []
    for row_no, row in enumerate(rows, start=1):
        if row_no > MAX_ROWS_READ:
            raise Refused([say("invite_xlsx_too_long", limit=MAX_ROWS_READ)])
        cells = [_tidy(str(v)) if v is not None else "" for v in row]
        if name_col is None:
            heads = [c.replace(" ", "").strip("*＊:：") for c in cells]
            if any(h in HEADER_NAMES for h in heads):
                name_col = next(i for i, h in enumerate(heads) if h in HEADER_NAMES)
                unit_col = next((i for i, h in enumerate(heads) if h in HEADER_UNITS), None)
            elif row_no >= 20:
                return None  # no header near the top: not a list of names
            continue
        name = cells[name_col] if name_col < len(cells) else ""
        unit = cells[unit_col] if unit_col is not None and unit_col < len(cells) else ""
        found.append((row_no, name, unit))
    return found if name_col is not None else None


def checked(rows: Iterable[tuple[int, str, str]]) -> list[tuple[str, str]]:
    """The people of a list, or Refused with every reason (a name too long, a person twice, …)."""
    people: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    errors: list[str] = []
    twice: list[str] = []
    for line_no, name, unit in rows:
        if not name:
            continue  # a blank name (a unit alone) is skipped, as a blank line is
        if len(name) > MAX_NAME_CHARS:
            errors.append(say("invite_name_too_long", line=line_no, limit=MAX_NAME_CHARS, name=name[:MAX_NAME_CHARS]))
        elif len(unit) > MAX_UNIT_CHARS:
            errors.append(say("invite_unit_too_long", line=line_no, limit=MAX_UNIT_CHARS))
        elif (name, unit) in seen:
            twice.append(say("invite_duplicate", name=name, first=seen[(name, unit)], line=line_no))
        else:
            seen[(name, unit)] = line_no
            people.append((name, unit))
    if len(people) + len(twice) > MAX_PEOPLE:
        errors.insert(0, say("invite_too_many", limit=MAX_PEOPLE, count=len(people) + len(twice)))
    errors += twice
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        if len(errors) > MAX_ERRORS_SHOWN:
            shown.append(say("invite_more_errors", count=len(errors) - MAX_ERRORS_SHOWN))
        raise Refused(shown)
    if not people:
        raise Refused([say("invite_no_names")])
    return people


# -- the pages ---------------------------------------------------------------------------------


class Invitations:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.store = WebStore(desk.storage)
        self.batches: dict[str, Batch] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/office/invites", self.invites),
                web.post("/office/invites", self.create),
                web.get("/office/invites/batch/{batch}", self.batch),
                web.get("/office/invites/batch/{batch}/qr", self.sheet),
                web.get("/office/invites/people/{user_id}", self.confirm),
                web.post("/office/invites/people/{user_id}", self.change)]

    async def invites(self, request: web.Request, *, status: int = 200, errors: list[str] | None = None,
                      pasted: str = "") -> web.Response:
        """The forms to invite, and everyone invited so far with whether their link was used."""
        desk = self.desk
        await desk.coordinator(request)
        total = await self.store.invited_count()
        pages = max(1, -(-total // PAGE_ROWS))
        page = min(number(request.query.get("page")), pages - 1)
        people = await self.store.invited(page * PAGE_ROWS, PAGE_ROWS)
        return desk.page(
            "office_invites.html", status, nav="invites", csrf=desk.csrf(request), errors=errors or [], pasted=pasted,
            total=total, page=page, pages=pages, limit=MAX_PEOPLE, revoked=request.query.get("done") == "revoked",
            people=[{"id": p.user_id, "name": p.name, "unit": p.unit, "invited": desk.local(p.invited_at),
                     "used": desk.local(p.first_used_at), "revoked": not p.has_link,
                     "applicant": p.applicant_id} for p in people])

    async def create(self, request: web.Request) -> web.StreamResponse:
        """A batch from pasted lines or an .xlsx: every link made, or none (with the reasons)."""
        who, form = await self.desk.posted(request)  # multipart too: the same CSRF and Origin checks
        upload = form.get("file")
        pasted = str(form.get("names", ""))
        try:
            if isinstance(upload, web.FileField):
                data = await asyncio.to_thread(upload.file.read)
                if not data:
                    raise Refused([say("invite_no_file")])
                rows = await asyncio.to_thread(xlsx_rows, data)
            elif "file" in form:
                raise Refused([say("invite_no_file")])
            else:
                rows = list(pasted_rows(pasted))
            people = checked(rows)
        except Refused as refused:
            return await self.invites(request, status=400, errors=[say("invite_refused"), *refused.reasons],
                                      pasted=pasted)
        # Asked twice (a double click, a list sent again): one person keeps one working link.
        made, skipped = await self.store.invite_people(people)
        log.info("%d invitation(s) made on the desk by %s:%s (%d skipped)", len(made), who.channel, who.user_id,
                 len(skipped))
        raise web.HTTPSeeOther("/office/invites/batch/" + self.keep(
            who, [{"name": name, "unit": unit, "link": self.link_url(request, token)} for name, unit, token in made],
            [name + (f"（{unit}）" if unit else "") for name, unit in skipped]))

    async def batch(self, request: web.Request) -> web.StreamResponse:
        who = await self.desk.coordinator(request)
        found = self.kept(who, request.match_info["batch"])
        if found is None:
            return self.desk.page("office_invites_gone.html", 404, nav="invites")
        batch_id, batch = found
        return self.desk.page("office_invites_batch.html", nav="invites", batch_id=batch_id, people=batch.people,
                              skipped=batch.skipped,
                              copy="\n".join("\t".join(filter(None, (p["name"], p["unit"], p["link"])))
                                             for p in batch.people))

    async def sheet(self, request: web.Request) -> web.StreamResponse:
        """A page to print: 12 QR codes to an A4 sheet, each with the name and unit under it."""
        who = await self.desk.coordinator(request)
        found = self.kept(who, request.match_info["batch"])
        if found is None:
            return self.desk.page("office_invites_gone.html", 404, nav="invites")
        batch_id, batch = found
        if batch.codes is None:
            # Pure Python, a few milliseconds a code: not on the loop everyone's requests share.
            batch.codes = await asyncio.to_thread(
                lambda: [qr_svg(p["link"], label=say("invite_qr_label", name=p["name"])) for p in batch.people])
        cards = [{**p, "qr": code} for p, code in zip(batch.people, batch.codes, strict=True)]
        return self.desk.page("office_invites_sheet.html", batch_id=batch_id,
                              sheets=[cards[i:i + PER_SHEET] for i in range(0, len(cards), PER_SHEET)])

    async def confirm(self, request: web.Request) -> web.StreamResponse:
        """撤销 or 重新生成链接 asks first, and says what it does."""
        desk = self.desk
        await desk.coordinator(request)
        person = await self.person(request)
        renew = request.query.get("do") == "renew"
        return desk.page("office_invites_person.html", nav="invites", csrf=desk.csrf(request), person=person,
                         renew=renew)

    async def change(self, request: web.Request) -> web.StreamResponse:
        who, form = await self.desk.posted(request)
        person = await self.person(request)
        if form.get("do") == "renew":
            token = await self.store.revoke(person["id"], renew=True)
            made = [{"name": person["name"], "unit": person["unit"], "link": self.link_url(request, token or "")}]
            raise web.HTTPSeeOther(f"/office/invites/batch/{self.keep(who, made, [])}")
        await self.store.revoke(person["id"])
        log.info("an invitation was revoked on the desk by %s:%s", who.channel, who.user_id)
        raise web.HTTPSeeOther("/office/invites?done=revoked")

    # -- helpers -----------------------------------------------------------------------------

    async def person(self, request: web.Request) -> dict[str, Any]:
        user_id = request.match_info["user_id"]
        found = next(iter(await self.store.invited(user_id=user_id)), None) if USER_ID.fullmatch(user_id) else None
        if found is None:
            raise web.HTTPNotFound(text=say("invite_no_such_person"))
        return {"id": found.user_id, "name": found.name, "unit": found.unit, "revoked": not found.has_link,
                "used": self.desk.local(found.first_used_at), "applicant": found.applicant_id}

    def keep(self, who: Who, people: list[dict[str, str]], skipped: list[str]) -> str:
        now = time.monotonic()
        for key in [k for k, b in self.batches.items() if now - b.made_at > BATCH_SECONDS]:
            del self.batches[key]
        while len(self.batches) >= MAX_BATCHES:
            self.batches.pop(next(iter(self.batches)))
        batch_id = secrets.token_urlsafe(16)
        self.batches[batch_id] = Batch(who, now, people, skipped)
        return batch_id

    def kept(self, who: Who, batch_id: str) -> tuple[str, Batch] | None:
        """A batch still kept, to the coordinator who made it only."""
        batch = self.batches.get(batch_id)
        if batch is None or batch.made_by != who or time.monotonic() - batch.made_at > BATCH_SECONDS:
            return None
        return batch_id, batch

    def link_url(self, request: web.Request, token: str) -> str:
        base = self.desk.settings.base_url.rstrip("/") or f"{request.scheme}://{request.host}"
        return f"{base}/k/{token}"
