"""The desk's first page (/office): the counts, the deadline, progress over time and the table of applicants.

The table is filtered, sorted and paged by SQLite (bot/web/office_query.py): a page costs the same
with 20 applicants or 2,000. Open evidence warnings need the evidence checks run on every answer,
too slow to do on each view: they are kept here, per application, with a fingerprint of what they
depend on (its answers' latest revision, its files), and only the applications that changed since
are checked again, off the event loop (with them, how many answers each has: that too needs the text).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup

from bot import evidence, states
from bot.clock import in_zone
from bot.criteria import Criteria
from bot.reminders import current_deadline
from bot.storage import ApplicantRow, Storage
from bot.web import office_query
from bot.web.guard import number
from bot.web.office import Desk
from bot.web.office_query import CHANNELS, SORTS, STATES, TableQuery
from bot.web.store import WebStore
from bot.wording import say

PAGE_ROWS = 50
CHART_DAYS = 60  # the chart shows the round from its first start, the last 60 days at most
_CHUNK = 200  # applications checked per trip to the worker thread: the loop gets its turn in between


class Overview:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.evidence = EvidenceCache(desk.storage, desk.criteria)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/office", self.overview)]

    async def overview(self, request: web.Request) -> web.StreamResponse:
        desk = self.desk
        await desk.coordinator(request)
        now = datetime.now(UTC)
        query = table_query(request.query)
        inactive = desk.settings.policy.inactive_days
        known = await self.evidence.refresh()
        counts = await office_query.counts(desk.storage, known, now, inactive)
        rows, matching = await office_query.table(desk.storage, query, known, now, inactive, PAGE_ROWS)
        pages = max(1, -(-matching // PAGE_ROWS))
        if query.page >= pages:  # a page past the last (the list got shorter): the last one
            query = TableQuery(query.state, query.channel, query.search, query.sort, query.descending, pages - 1)
            rows, matching = await office_query.table(desk.storage, query, known, now, inactive, PAGE_ROWS)
        deadline = await current_deadline(desk.storage, desk.settings.default_deadline)
        started, submitted = await office_query.progress_stamps(desk.storage)
        chart = progress_chart(started, submitted, desk.settings.policy.tz, now)
        links = Links(query)
        return desk.page(
            "office.html", counts=counts, total=counts["total"], matching=matching, query=query, links=links,
            wanted=query.state, search=query.search, page=query.page, pages=pages,
            deadline=desk.local(deadline), days_left=(deadline - now).days if deadline and deadline > now else None,
            rows=[row_view(desk, r.row, now, r.warnings) for r in rows],
            questions=len(desk.criteria.questions), channels=channel_labels(), chart=chart, nav="overview",
            waiting=await WebStore(desk.storage).invited_waiting())


def table_query(params: Any) -> TableQuery:
    """What the table is asked for in the URL; anything unknown is ignored."""
    sort = params.get("sort", "active")
    sort = sort if sort in SORTS else "active"
    direction = params.get("dir", SORTS[sort][1])
    return TableQuery(state=params.get("state", "") if params.get("state", "") in STATES else "",
                      channel=params.get("channel", "") if params.get("channel", "") in CHANNELS else "",
                      search=" ".join(params.get("q", "").split())[:40], sort=sort,
                      descending=direction != "asc", page=number(params.get("page")))


class Links:
    """The table's links: each keeps the filters, and says what changes."""

    def __init__(self, query: TableQuery) -> None:
        self.query = query

    def _url(self, **changes: Any) -> str:
        q = self.query
        params = {"state": q.state, "channel": q.channel, "q": q.search, "sort": q.sort,
                  "dir": "desc" if q.descending else "asc", "page": q.page}
        params.update(changes)
        return "/office?" + urlencode({k: v for k, v in params.items() if v not in ("", 0)})

    def sort(self, column: str) -> str:
        """Sorted by this column; clicked again, the other way round."""
        if column == self.query.sort:
            return self._url(dir="asc" if self.query.descending else "desc", page=0)
        return self._url(sort=column, dir=SORTS[column][1], page=0)

    def page(self, page: int) -> str:
        return self._url(page=page)

    def aria_sort(self, column: str) -> str:
        if column != self.query.sort:
            return "none"
        return "descending" if self.query.descending else "ascending"

    def arrow(self, column: str) -> str:
        if column != self.query.sort:
            return ""
        return "▼" if self.query.descending else "▲"


class EvidenceCache:
    """Per application: open evidence warnings and answers given, worked out again only where
    something changed. Both need every answer's text; the table's SQL takes them from here."""

    def __init__(self, storage: Storage, criteria: Criteria) -> None:
        self.storage = storage
        self.criteria = criteria
        self.known: dict[int, tuple[str, int, int]] = {}  # application id → (fingerprint, warnings, answered)
        self._mark = ""  # office_query.change_mark when `known` was last brought up to date
        self._json = "{}"
        self._lock = asyncio.Lock()  # two views at once check each application once

    async def refresh(self) -> str:
        """Up to date now; the figures as office_query takes them (known_json)."""
        async with self._lock:
            mark = await office_query.change_mark(self.storage)
            if mark == self._mark:
                return self._json
            prints = await office_query.fingerprints(self.storage)
            stale = [app for app, print_ in prints.items() if app not in self.known or self.known[app][0] != print_]
            for start in range(0, len(stale), _CHUNK):
                chunk = stale[start:start + _CHUNK]
                inputs = await office_query.evidence_inputs(self.storage, chunk)
                found = await asyncio.to_thread(open_warnings, self.criteria, inputs)
                for app in chunk:
                    self.known[app] = (prints[app], found[app], len(inputs[app][0]))
            for gone in self.known.keys() - prints.keys():  # erased, or back to consent
                del self.known[gone]
            self._mark = mark
            self._json = office_query.known_json({app: (w, n) for app, (_p, w, n) in self.known.items()})
            return self._json


def open_warnings(criteria: Criteria, inputs: dict[int, tuple[dict[str, str], dict[str, int]]]) -> dict[int, int]:
    """On the worker thread: the warnings an applicant has to act on ('empty' is not one: 已答 says it)."""
    return {app: sum(1 for found in evidence.check_application(criteria, answers, files).values()
                     for w in found if w.code != "empty")
            for app, (answers, files) in inputs.items()}


def channel_labels() -> dict[str, str]:
    return {"telegram": say("office_channel_telegram"), "web": say("office_channel_web"),
            "console": say("office_channel_console")}


def row_view(desk: Desk, row: ApplicantRow, now: datetime, warnings: int | None = None) -> dict[str, Any]:
    """An applicant as a row of the table (and the head of their own page)."""
    idle = row.status != "submitted" and desk.settings.policy.is_inactive(row, now)
    return {"id": row.applicant_id, "name": row.name or row.display_name or say("office_no_name"),
            "unit": row.unit, "channel": row.channel, "channel_label": channel_labels().get(row.channel, row.channel),
            "state": states.state_label(row) + (say("co_state_idle_mark") if idle else ""), "returned": row.returned,
            "submitted": row.status == "submitted", "answered": row.answered, "warnings": warnings,
            "active": desk.local(row.last_active_at)}


# -- the chart of progress over time ---------------------------------------------------------------

_W, _H = 360, 220  # the viewBox: drawn for a phone's width, scaled up on a desk
_LEFT, _RIGHT, _TOP, _BOTTOM = 30, 6, 34, 26
_STARTED, _SUBMITTED = "#8aa4c8", "#b42318"


def daily(stamps: list[str], tz: ZoneInfo) -> Counter[date]:
    """How many of these stored times fall on each day of the award's calendar."""
    days: Counter[date] = Counter()
    for stamp in stamps:
        try:
            days[in_zone(stamp, tz).date()] += 1
        except (TypeError, ValueError):
            continue
    return days


def progress_chart(started: list[str], submitted: list[str], tz: ZoneInfo, now: datetime) -> dict[str, Any] | None:
    """Started and submitted per day from the first start (the last CHART_DAYS days at most): the SVG,
    its description, and the same numbers as rows for a table. None before anyone started."""
    began, done = daily(started, tz), daily(submitted, tz)
    if not began and not done:
        return None
    today = now.astimezone(tz).date()
    first = max(min([*began, *done]), today - timedelta(days=CHART_DAYS - 1))
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    rows: list[dict[str, Any]] = [{"day": d.isoformat(), "started": began[d], "submitted": done[d]} for d in days]
    total_started, total_submitted = sum(r["started"] for r in rows), sum(r["submitted"] for r in rows)
    summary = say("office_chart_summary", first=days[0].isoformat(), last=days[-1].isoformat(),
                  started=total_started, submitted=total_submitted)
    return {"svg": Markup(_svg(rows, summary)), "rows": rows, "summary": summary}


def _svg(rows: list[dict[str, Any]], summary: str) -> str:
    """Two bars a day, a scale on the left, dates below, a legend above: presentation attributes only
    (the page's CSP allows no style attributes)."""
    top = max(1, *(max(r["started"], r["submitted"]) for r in rows))
    step = _nice_step(top)
    ceiling = step * -(-top // step)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    slot = plot_w / len(rows)
    bar = min(14.0, slot * 0.4)
    base = _TOP + plot_h

    def y(value: int) -> float:
        return base - plot_h * value / ceiling

    parts = [f'<svg class="chart" viewBox="0 0 {_W} {_H}" width="100%" role="img" '
             f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="chart-title">{escape(summary)}</title>',
             '<g font-size="13" fill="#57606a">']
    for value in range(0, ceiling + 1, step):
        parts.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'stroke="#e3e6ea" stroke-width="1"/>')
        parts.append(f'<text x="{_LEFT - 4}" y="{y(value) + 4:.1f}" text-anchor="end">{value}</text>')
    labelled = _label_days(len(rows))
    for n, row in enumerate(rows):
        x = _LEFT + slot * n + slot / 2
        for offset, key, colour in ((-bar, "started", _STARTED), (0.0, "submitted", _SUBMITTED)):
            if row[key]:
                parts.append(f'<rect x="{x + offset:.1f}" y="{y(row[key]):.1f}" width="{bar:.1f}" '
                             f'height="{base - y(row[key]):.1f}" fill="{colour}"/>')
        if n in labelled:  # the first and last dates kept inside the picture
            anchor = "start" if n == 0 and len(rows) > 1 else "end" if n == len(rows) - 1 and n else "middle"
            at = _LEFT if anchor == "start" else _W - _RIGHT if anchor == "end" else x
            parts.append(f'<text x="{at:.1f}" y="{base + 18}" text-anchor="{anchor}">{row["day"][5:]}</text>')
    parts.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{base}" y2="{base}" stroke="#57606a" stroke-width="1"/>')
    # The legend, above the plot.
    parts.append(f'<rect x="{_LEFT}" y="8" width="12" height="12" fill="{_STARTED}"/>'
                 f'<text x="{_LEFT + 16}" y="18" fill="#1f2328">{escape(say("office_chart_started"))}</text>'
                 f'<rect x="{_LEFT + 110}" y="8" width="12" height="12" fill="{_SUBMITTED}"/>'
                 f'<text x="{_LEFT + 126}" y="18" fill="#1f2328">{escape(say("office_chart_submitted"))}</text>')
    parts.append("</g></svg>")
    return "".join(parts)


def _nice_step(top: int) -> int:
    """A step for the scale giving at most 5 lines: 1, 2, 5, 10, 20, 50 …"""
    step = 1
    while top / step > 5:
        for factor in (2, 5 / 2, 2):  # 1 → 2 → 5 → 10
            step = int(step * factor)
            if top / step <= 5:
                break
    return step


def _label_days(count: int) -> set[int]:
    """Which days get a date below the axis: the first, the last, and at most 4 more evenly between
    (MM-DD is 5 characters: more would overlap on a phone)."""
    if count <= 6:
        return set(range(count))
    every = -(-(count - 1) // 5)
    chosen = set(range(0, count, every))
    if count - 1 - max(chosen) < every / 2:
        chosen.discard(max(chosen))
    return chosen | {count - 1}
