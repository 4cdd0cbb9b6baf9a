"""A real Chromium on a phone-sized screen against the web channel served in-process.

The server runs on its own event loop in a background thread (Selenium's calls block, so they
cannot share the test's loop): the same wiring as `award-bot web` (bot/web/serve.py's start_site,
the outbox sender with the web transport), on a temporary database, without PDF conversion.
`Phone` plays a person: it types, taps, uploads and reads only what the page shows.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from bot.cli_start import claim_files, make_flows
from bot.config import Settings
from bot.criteria import load_criteria
from bot.sender import OutboxSender
from bot.storage import Storage
from bot.web.app import SITE
from bot.web.channel import WebTransport
from bot.web.guard import SESSION_COOKIE, Bucket
from bot.web.serve import RoutedTransport, start_site
from bot.web.store import CHANNEL, WebStore

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WIDTH, HEIGHT = 390, 844  # an ordinary phone, in CSS pixels
DESK_WIDTH, DESK_HEIGHT = 1280, 900  # the award office's screen
ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/124.0.0.0 Mobile Safari/537.36")
WECHAT = ("Mozilla/5.0 (Linux; Android 14; V2309A Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 "
          "MMWEBID/2309 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/WIFI "
          "Language/zh_CN ABI/arm64")
WAIT = 10.0  # seconds: far above what any step takes here, so a slow CI machine does not flake

T = TypeVar("T")


def missing_browser() -> str:
    """Why the browser tests cannot run here; empty when they can."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    return f"not installed: {', '.join(missing)} (apt-get install chromium chromium-driver)" if missing else ""


class WebServer:
    """`award-bot web` in a background thread: the site, its database and its outbox sender."""

    def __init__(self, folder: Path, coordinators: str = "") -> None:
        self.folder = folder
        self.coordinators = coordinators  # AWARD_COORDINATORS: who may sign in to the desk
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="web-server", daemon=True)
        self.origin = ""

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the server's loop (as the server itself would) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self) -> WebServer:
        self.thread.start()
        self.call(self._start())
        return self

    async def _start(self) -> None:
        settings = Settings(_env_file=None, AWARD_DB=str(self.folder / "award.db"),  # type: ignore[call-arg]
                            AWARD_PDF=False, AWARD_WEB_HOST="127.0.0.1", AWARD_COORDINATORS=self.coordinators)
        criteria = load_criteria(settings.criteria)
        self.storage = await Storage.open(settings.db)
        await claim_files(settings, self.storage)
        router = make_flows(settings, self.storage, criteria)
        self.runner = await start_site(router, self.storage, criteria, settings, "127.0.0.1", 0)
        port = self.runner.addresses[0][1]
        self.origin = f"http://127.0.0.1:{port}"
        # As configured for `award-bot invite` beside this server: its links point here.
        self.settings = settings.model_copy(update={"web_port": port})
        self.site = self.runner.app[SITE]
        # A person is held to 10 messages at once, then one a second; a test taps faster than
        # anyone, and waits for each reply anyway.
        self.site.messages = Bucket(burst=1000, rate=1000)
        self.store = WebStore(self.storage)
        self.sender = OutboxSender(self.storage, RoutedTransport({CHANNEL: WebTransport(self.store)}),
                                   rate=settings.send_rate, per_chat_interval=0)
        self.sending = asyncio.create_task(self.sender.run(), name="outbox-sender")

    def stop(self) -> None:
        try:
            if self.origin:
                self.call(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    async def _stop(self) -> None:
        self.sender.stop()
        await self.sending
        await self.runner.cleanup()
        await self.storage.close()

    def user_id(self, display_name: str) -> str:
        async def find() -> str:
            row = await self.storage.fetchone("SELECT user_id FROM web_people WHERE display_name = ?",
                                              (display_name,))
            assert row is not None, f"no web person {display_name}"
            return str(row["user_id"])
        return self.call(find())


def fetch(url: str, session: str | None) -> tuple[int, dict[str, str], bytes]:
    """A GET as another program would make it, with a session cookie taken from a browser."""
    request = urllib.request.Request(url, headers={"Cookie": f"{SESSION_COOKIE}={session}"} if session else {})
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class Phone:
    """One person's phone browser: what they see, and what they type, tap and upload."""

    def __init__(self, origin: str, user_agent: str = ANDROID, *, desk: bool = False) -> None:
        """A phone; with `desk`, a desktop browser window (the award office's) instead."""
        self.origin = origin
        options = Options()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--no-first-run", "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--disable-extensions", "--lang=zh-CN"):
            options.add_argument(argument)
        if desk:
            options.add_argument(f"--window-size={DESK_WIDTH},{DESK_HEIGHT}")
        else:
            options.add_experimental_option("mobileEmulation", {
                "deviceMetrics": {"width": WIDTH, "height": HEIGHT, "pixelRatio": 1.0, "touch": True, "mobile": True},
                "userAgent": user_agent})
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.requested: list[str] = []

    def close(self) -> None:
        self.driver.quit()

    # -- looking --------------------------------------------------------------------------

    def open(self, path_or_url: str) -> None:
        self.driver.get(path_or_url if path_or_url.startswith("http") else self.origin + path_or_url)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def wait(self, condition: Callable[[], T], what: str, timeout: float = WAIT) -> T:
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(lambda _driver: condition())
        except TimeoutException:
            raise AssertionError(f"waited {timeout:.0f} s for {what}; the log shows:\n{self.log_text()}") from None

    def messages(self, after: int = 0) -> list[dict[str, Any]]:
        """The conversation as shown: each message's id, side, visible text, buttons and links."""
        return self.driver.execute_script("""
            var after = arguments[0];
            return Array.from(document.querySelectorAll('#log .msg')).map(function (m) {
              var text = m.querySelector('.text');
              return {id: Number(m.getAttribute('data-id')), me: m.classList.contains('me'),
                      text: text ? text.innerText : '', raw: text ? text.textContent : '',
                      buttons: Array.from(m.querySelectorAll('button')).map(function (b) { return b.innerText; }),
                      links: Array.from(m.querySelectorAll('a')).map(function (a) {
                        return {href: a.getAttribute('href'), download: a.getAttribute('download'),
                                text: a.innerText}; }),
                      hint: Array.from(m.querySelectorAll('.hint')).map(function (h) { return h.innerText; })};
            }).filter(function (m) { return m.id > after; });
        """, after)

    def last_id(self) -> int:
        return int(self.driver.execute_script(
            "var m = document.querySelectorAll('#log .msg'); "
            "return m.length ? Number(m[m.length - 1].getAttribute('data-id')) : 0;"))

    def log_text(self) -> str:
        try:
            return self.find('[role="log"]').text[-3000:]
        except Exception:
            return self.driver.page_source[-3000:]

    def progress(self) -> str:
        return self.find("#progress").text

    def session(self) -> str:
        cookie = self.driver.get_cookie(SESSION_COOKIE)
        assert cookie is not None, "no session cookie"
        return str(cookie["value"])

    # -- doing ----------------------------------------------------------------------------

    def _replied(self, before: int, action: str) -> list[dict[str, Any]]:
        """Waits for the bot's answer to what was just done; returns all messages since."""
        self.wait(lambda: any(not m["me"] for m in self.messages(before)) and
                  self.driver.execute_script("return document.getElementById('notice').hidden"),
                  f"a reply to {action}")
        return self.messages(before)

    def send(self, text: str, *, paste: bool = False) -> list[dict[str, Any]]:
        """Types (or pastes) into the answer box and presses 发送."""
        box = self.find('textarea[aria-label="回答"]')
        before = self.last_id()
        if paste:
            self.driver.execute_script(
                "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));", box, text)
        else:
            box.send_keys(text)
        send = self.driver.find_element(By.XPATH, '//button[normalize-space()="发送"]')
        assert send.tag_name == "button"
        send.click()
        replies = self._replied(before, repr(text[:20]))
        self.wait(lambda: box.get_attribute("value") == "", "the answer box to empty")
        return replies

    def button(self, label: str) -> WebElement:
        """The newest button whose label starts with `label` (as a person taps the one just shown)."""
        buttons = [b for b in self.driver.find_elements(By.CSS_SELECTOR, "#log button")
                   if b.text.strip().startswith(label)]
        assert buttons, f"no button {label!r} on the page; the log shows:\n{self.log_text()}"
        return buttons[-1]

    def tap(self, label: str) -> list[dict[str, Any]]:
        button = self.button(label)
        assert button.tag_name == "button"
        before = self.last_id()
        # A long message's buttons may sit below the answer box: a person scrolls them up first.
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()
        return self._replied(before, f"tapping {label}")

    def upload(self, path: Path) -> list[dict[str, Any]]:
        before = self.last_id()
        self.find('input[aria-label="上传材料"]').send_keys(str(path))
        return self._replied(before, f"uploading {path.name}")

    def see(self, text: str, timeout: float = WAIT) -> dict[str, Any]:
        """Waits until a message showing `text` is in the log; returns it."""
        def shown() -> dict[str, Any] | None:
            return next((m for m in self.messages() if text in m["text"]), None)
        return self.wait(shown, f"{text!r} in the log", timeout)

    # -- what the browser did ---------------------------------------------------------------

    def requests(self) -> list[str]:
        """Every URL the page has asked for so far (from Chromium's network log)."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
        return self.requested

    def console_errors(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def layout_problems(self) -> list[str]:
        """What would look broken on this small screen: sideways scrolling, text under 16 px (the
        issue's floor: no zoom on focus), small or covered controls."""
        return self.driver.execute_script("""
            var problems = [], width = window.innerWidth;
            if (document.documentElement.scrollWidth > width) {
              problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + width);
            }
            document.querySelectorAll('body *').forEach(function (node) {
              var box = node.getBoundingClientRect(), style = getComputedStyle(node);
              if (!box.width || !box.height || style.visibility === 'hidden' || node.closest('svg')) { return; }
              if (box.right > width + 1) { problems.push('beyond the right edge: ' + node.outerHTML.slice(0, 80)); }
              var own = Array.from(node.childNodes).some(function (c) { return c.nodeType === 3 && c.data.trim(); });
              if (own && parseFloat(style.fontSize) < 16) {
                problems.push('text under 16px (' + style.fontSize + '): ' + node.textContent.slice(0, 40));
              }
              var control = node.matches('button, .button, label.upload');
              if (control && box.height < 40) {
                problems.push('control under 40px tall (' + box.height + '): ' + node.textContent.slice(0, 40));
              }
              if (control && box.bottom > 0 && box.top < window.innerHeight) {
                var x = Math.min(box.left + box.width / 2, width - 1), y = box.top + box.height / 2;
                if (y > 0 && y < window.innerHeight) {
                  var top = document.elementFromPoint(x, y);
                  // A reply's button scrolled under the sticky header or answer box is a chat scrolled, not a fault.
                  var scrolledUnder = node.closest('#log') && top && top.closest('.composer, .top');
                  if (top && top !== node && !node.contains(top) && !top.contains(node) && !scrolledUnder) {
                    problems.push('covered: ' + node.textContent.slice(0, 30) + ' by ' + top.outerHTML.slice(0, 60));
                  }
                }
              }
            });
            return problems;
        """)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        assert self.driver.save_screenshot(str(path)), f"no screenshot {path}"
        return path
