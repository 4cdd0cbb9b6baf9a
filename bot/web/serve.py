"""`award-bot web` and `award-bot invite`: the web channel's server, and personal links made in advance."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot.config import Settings
from bot.criteria import Criteria
from bot.flows.coordinator import Coordinators
from bot.flows.router import Router
from bot.mail import EMAIL
from bot.reminders import current_deadline, queue_automatic, reminder_gate
from bot.sender import OutboxSender, Refused, Transport
from bot.storage import OutboxMessage, Storage
from bot.web.app import WebSettings, build_app
from bot.web.channel import WebTransport
from bot.web.mail_links import email_transport
from bot.web.office import OfficeSettings
from bot.web.office_store import OfficeStore
from bot.web.qr import qr_png
from bot.web.store import CHANNEL, WebStore, Who

log = logging.getLogger(__name__)


def web_settings(settings: Settings) -> WebSettings:
    return WebSettings(base_url=settings.web_base_url.strip(), registration=settings.web_registration,
                       award_timezone=settings.timezone, default_deadline=settings.default_deadline(),
                       telegram_token=settings.telegram_bot_token)


def mini_app_url(settings: Settings) -> str | None:
    """Where Telegram opens the page as a Mini App: only an https address served by this process."""
    base = settings.web_base_url.strip().rstrip("/")
    return f"{base}/miniapp" if settings.web_port and base.startswith("https://") else None


class RoutedTransport:
    """One outbox, several channels: each message goes out through its own channel's transport."""

    def __init__(self, transports: dict[str, Transport]) -> None:
        self.transports = transports

    async def __call__(self, message: OutboxMessage) -> None:
        transport = self.transports.get(message.channel)
        if transport is None:
            raise Refused(f"no transport for channel {message.channel}")
        await transport(message)


async def start_routes(routes: list[web.RouteDef], host: str, port: int) -> web.AppRunner:
    """A site of these routes alone (the Telegram webhook, when the web channel is off)."""
    app = web.Application(client_max_size=1024 ** 2)
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def start_site(router: Router, storage: Storage, criteria: Criteria, settings: Settings,
                     host: str, port: int, extra: list[web.RouteDef] | None = None) -> web.AppRunner:
    base = settings.web_base_url.strip().rstrip("/")
    office = OfficeSettings(Coordinators.parse(settings.coordinators).members, settings.policy(),
                            settings.default_deadline(), base.startswith("https://"), base, settings.email,
                            settings.files)
    app = build_app(router.handle, storage, criteria, web_settings(settings), office)
    if extra:
        app.add_routes(extra)  # the Telegram webhook, on the web channel's port
    runner = web.AppRunner(app, access_log=None)  # the access log would hold personal links' tokens
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("web channel is serving on %s:%d", host, port)
    return runner


async def serve_web(settings: Settings, host: str, port: int,
                    make_flows: Callable[[Settings, Storage, Criteria], Router],
                    criteria: Criteria, claim: Callable[[Settings, Storage], Awaitable[None]]) -> int:
    """The web channel alone (no Telegram token needed), with the outbox sender and reminders."""
    storage = await Storage.open(settings.db)
    try:
        await claim(settings, storage)
        router = make_flows(settings, storage, criteria)
        runner = await start_site(router, storage, criteria, settings, host, port)
        policy = settings.policy()
        # The same gate as the Telegram bot's: quiet hours, nothing after submission, advice still due.
        routes: dict[str, Transport] = {CHANNEL: WebTransport(WebStore(storage))}
        mail = email_transport(settings, storage, criteria)
        if mail is not None:
            routes[EMAIL] = mail  # reminders and 退回修改 notices to those who gave an e-mail address
        sender = OutboxSender(storage, RoutedTransport(routes),
                              rate=settings.send_rate, per_chat_interval=0,
                              gate=reminder_gate(storage, policy, Coordinators.parse(settings.coordinators)))
        sending = asyncio.create_task(sender.run(), name="outbox-sender")

        async def plan_reminders() -> None:
            while True:
                try:
                    deadline = await current_deadline(storage, settings.default_deadline())
                    if await queue_automatic(storage, criteria, policy, deadline, datetime.now(UTC),
                                             email=settings.email):
                        sender.wake()
                except Exception:
                    log.exception("reminder planning failed")
                await asyncio.sleep(settings.reminder_check_seconds)

        planning = asyncio.create_task(plan_reminders(), name="reminders")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        gc.collect()
        gc.freeze()  # what was made to start lives as long as the server (see bot/cli_start.serve)
        log.info("stop with Ctrl+C")
        await stop.wait()
        planning.cancel()
        sender.stop()
        await sending
        if mail is not None:
            await mail.close()
        await runner.cleanup()
    finally:
        await storage.close()
    return 0


async def invite(storage: Storage, settings: Settings, name: str, unit: str,
                 qr_dir: Path | None) -> tuple[str, Path | None]:
    """A personal link for someone the office invites (and its QR code as a PNG to print)."""
    _who, token = await WebStore(storage).add_person(name, unit, invited=True)
    base = settings.web_base_url.strip().rstrip("/") or f"http://{settings.web_host}:{settings.web_port or 8080}"
    link = f"{base}/k/{token}"
    png = None
    if qr_dir is not None:
        png = qr_dir / f"{_file_part(name)}-{token[:6]}.png"
        await asyncio.to_thread(_write_png, png, qr_png(link))
    return link, png


def _write_png(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def office_link(storage: Storage, settings: Settings, coordinator: str) -> str | None:
    """A one-time sign-in link to the desk for a coordinator named as in AWARD_COORDINATORS; None if not one."""
    named = Coordinators.parse(coordinator).members
    if len(named) != 1 or not named <= Coordinators.parse(settings.coordinators).members:
        return None
    [member] = named
    token = await OfficeStore(storage).new_link(Who(*member))
    base = settings.web_base_url.strip().rstrip("/") or f"http://{settings.web_host}:{settings.web_port or 8080}"
    return f"{base}/office/in/{token}"


def _file_part(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)[:20] or "invite"
