"""The office desk as its tests serve it: an app in the test process, a browser, a signed-in session.

The `desk` fixture (tests/conftest.py) serves it for two coordinators, telegram:9000 and console:王主任.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from bot.criteria import Criteria
from bot.flows.dispatch import Dispatcher
from bot.flows.interview import Interview
from bot.reminders import ReminderPolicy
from bot.storage import Storage
from bot.web.app import WebSettings, build_app
from bot.web.office import OfficeSettings
from bot.web.office_store import OfficeStore
from bot.web.store import Who

BOSS = Who("telegram", "9000")
POLICY = ReminderPolicy(ZoneInfo("Asia/Shanghai"))


def desk_app(storage: Storage, criteria: Criteria, tmp_path: Path, members: set[tuple[str, str]]) -> TestServer:
    interview = Interview(storage, criteria, data_dir=tmp_path / "files")
    return TestServer(build_app(Dispatcher(interview.handle).handle, storage, criteria, WebSettings(),
                                OfficeSettings(frozenset(members), POLICY)))


def browser(server: TestServer) -> ClientSession:
    return ClientSession(base_url=str(server.make_url("")).rstrip("/"), cookie_jar=CookieJar(unsafe=True))


async def signed_in(server: TestServer, storage: Storage) -> ClientSession:
    """A browser signed in to the desk as BOSS, from a one-time link."""
    session = browser(server)
    link = await OfficeStore(storage).new_link(BOSS)
    assert (await session.get(f"/office/in/{link}", allow_redirects=False)).status == 303
    return session
