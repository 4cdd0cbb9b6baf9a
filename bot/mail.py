"""Reminders and 退回修改 notices by e-mail, for applicants who gave an address (AWARD_SMTP_URL).

An e-mail is an outbox message of its own (channel `email`, the address as recipient, the same
kind and applicant as the chat message it copies, and its own dedupe key), so the outbox's rules
hold for it as for any other: quiet hours, nothing after submission, one automatic reminder a day,
exactly once across restarts. `EmailTransport` delivers it, and tells the sender what happened:

- the server could not be reached, TLS or the login failed, a 4xx on the envelope → NotSent (retried)
- the server refused the recipient or the message for good (5xx)                 → Refused (failed)
- the connection broke or timed out after the message data went out               → MaybeSent (uncertain)

A bounce that comes later, as a mail to AWARD_SMTP_FROM, is not seen here. Nothing logged holds an
address, the server's URL or password, or the text of a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import ipaddress
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bot.sender import MaybeSent, NotSent, Refused
from bot.storage import OutboxMessage, Outgoing, Storage
from bot.wording import say

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

EMAIL = "email"  # the outbox channel of e-mails; the recipient is the address
RETURNED = "returned"  # the kind of a 退回修改 notice (the chat's and its e-mail copy)
EMAIL_KEY_SUFFIX = ":email"  # an e-mail copy's dedupe key: the chat message's key and this

# Plausible, not proven: ASCII (as the 申报表 takes it), one @, no spaces or header-breaking characters,
# a dot in the domain.
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\.]+(\.[^@\s<>()\[\],;:\"\\.]+)+")


def plausible_address(text: str) -> bool:
    return bool(text) and len(text) <= 254 and text.isascii() and _ADDRESS.fullmatch(text) is not None \
        and ".." not in text


def copy_of(message: Outgoing, address: str) -> Outgoing:
    """The e-mail copy of a chat message (a reminder, a 退回修改 notice) to `address`: the same kind,
    applicant and due time, its own dedupe key. The text is the chat's; buttons become the link."""
    key = message.dedupe_key + EMAIL_KEY_SUFFIX if message.dedupe_key else None
    return replace(message, channel=EMAIL, recipient=address.strip(), payload={"text": message.payload.get("text", "")},
                   dedupe_key=key)


def with_copies(messages: list[Outgoing], addresses: dict[int, str]) -> list[Outgoing]:
    """Each message followed by its e-mail copy, where its applicant has a plausible address."""
    out: list[Outgoing] = []
    for message in messages:
        out.append(message)
        address = addresses.get(message.applicant_id or 0, "").strip()
        if message.applicant_id is not None and plausible_address(address):
            out.append(copy_of(message, address))
    return out


def subject(kind: str, award: str) -> str:
    if kind == RETURNED:
        return say("mail_subject_returned", award=award)
    return say("mail_subject_reminder", award=award)


# -- the server ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    password: str = ""
    implicit_tls: bool = False  # smtps:// or port 465: TLS from the first byte
    starttls: bool | None = True  # True: required; None: when the server offers it (loopback only)
    sender: str = ""  # the From address
    sender_name: str = ""  # the From display name: the award's
    connect_timeout: float = 15.0
    send_timeout: float = 60.0  # the whole of one message: connect, envelope and data
    tls_context: ssl.SSLContext | None = None  # None: the system's trusted certificates

    def __repr__(self) -> str:  # never the password, should a config ever be printed
        return f"SmtpConfig(port={self.port}, tls={'implicit' if self.implicit_tls else self.starttls})"


class SmtpUrlError(ValueError):
    pass


def parse_smtp_url(url: str, sender: str = "") -> SmtpConfig:
    """`smtp://user:pass@host:587` (STARTTLS) or `smtps://user:pass@host:465` (TLS); user and password
    URL-decoded. STARTTLS may be skipped only on the same machine (localhost), where nothing is on the wire."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise SmtpUrlError("bad port") from exc
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpUrlError("scheme must be smtp:// or smtps://")
    host = parts.hostname or ""
    if not host:
        raise SmtpUrlError("no host")
    implicit = parts.scheme == "smtps" or port == 465
    port = port or (465 if implicit else 587)
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    # AWARD_SMTP_FROM is checked by the settings; else the login if it is an address, else one on the host.
    sender = sender.strip() or (username if "@" in username else f"{username or 'award-bot'}@{host}")
    return SmtpConfig(host, port, username, password, implicit_tls=implicit,
                      starttls=None if _loopback(host) else True, sender=sender)


def masked_url(url: str) -> str:
    """The URL as it may be shown: the password replaced by ***."""
    try:
        parts = urlsplit(url.strip())
        if parts.password is None:
            return url.strip()
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return parts._replace(netloc=f"{user}:***@{host}").geturl()
    except ValueError:
        return "***"


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- the link in each e-mail -----------------------------------------------------------------

LinkFor = Callable[[OutboxMessage], Awaitable[str | None]]


# -- the transport ---------------------------------------------------------------------------


class EmailTransport:
    """Sends the outbox's e-mails, one at a time, over one connection kept for a burst."""

    def __init__(self, config: SmtpConfig, link_for: LinkFor | None = None, *, idle_seconds: float = 10.0,
                 per_connection: int = 50) -> None:
        self.config = config
        self.link_for = link_for
        self.idle_seconds = idle_seconds
        self.per_connection = per_connection
        self._client: aiosmtplib.SMTP | None = None
        self._used = 0
        self._last = 0.0
        self._lock = asyncio.Lock()

    async def __call__(self, message: OutboxMessage) -> None:
        if message.channel != EMAIL:
            raise Refused(f"not an e-mail: {message.channel}")
        if not plausible_address(message.recipient):
            raise Refused("not an e-mail address")
        try:
            link = await self.link_for(message) if self.link_for is not None else None
        except Exception as exc:  # the database: nothing went out, try again later
            raise NotSent(f"no link: {type(exc).__name__}") from None
        data = self.compose(message, link).as_bytes(policy=email.policy.SMTP)
        async with self._lock:
            await self._send(message.recipient, data)

    def compose(self, message: OutboxMessage, link: str | None) -> EmailMessage:
        award = self.config.sender_name
        mail = EmailMessage()
        mail["Subject"] = subject(message.kind, award)
        mail["From"] = Address(say("mail_from_name", award=award) if award else "", addr_spec=self.config.sender)
        mail["To"] = message.recipient
        mail["Date"] = format_datetime(datetime.now(UTC))
        mail["Message-ID"] = make_msgid("award", domain=self.config.sender.rpartition("@")[2])
        mail["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a reminder
        # The outbox keeps plain text (each chat channel escapes it for its own markup): as typed.
        body = str(message.payload.get("text", ""))
        if link:
            body += "\n\n" + say("mail_link", link=link)
        body += "\n\n-- \n" + say("mail_footer", award=award or say("mail_award_default"))
        mail.set_content(body, charset="utf-8", cte="base64")
        return mail

    async def close(self) -> None:
        async with self._lock:
            await self._drop(quit_first=True)

    async def _send(self, recipient: str, data: bytes) -> None:
        phase = "connect"
        loop = asyncio.get_running_loop()
        reused = False
        try:
            async with asyncio.timeout(self.config.send_timeout):
                for attempt in (1, 2):
                    phase = "connect"
                    client, reused = await self._connection(loop.time())
                    phase = "envelope"
                    try:
                        await self._envelope(client, recipient)
                    except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                        # A kept connection the server has closed meanwhile: once more on a new one.
                        if reused and attempt == 1:
                            await self._drop(quit_first=False)
                            continue
                        raise
                    break
                phase = "data"
                await client.data(data)
        except aiosmtplib.SMTPRecipientRefused as exc:
            await self._drop(quit_first=True)
            if exc.code >= 500:
                raise Refused(f"recipient refused ({exc.code})") from None
            raise NotSent(f"recipient deferred ({exc.code})") from None
        except aiosmtplib.SMTPSenderRefused as exc:
            await self._drop(quit_first=True)
            if exc.code >= 500:
                log.error("the mail server refused the sender address (AWARD_SMTP_FROM): %s", exc.code)
                raise Refused(f"sender refused ({exc.code})") from None
            raise NotSent(f"sender deferred ({exc.code})") from None
        except aiosmtplib.SMTPDataError as exc:
            # An answer to the data: the server said no, so it holds nothing to deliver.
            await self._drop(quit_first=True)
            if exc.code >= 500:
                raise Refused(f"message refused ({exc.code})") from None
            raise NotSent(f"message deferred ({exc.code})") from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            await self._drop(quit_first=False)
            log.error("the mail server refused the user name or password in AWARD_SMTP_URL (%s)", exc.code)
            raise NotSent(f"login refused ({exc.code})") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._drop(quit_first=False)
            what = type(exc).__name__
            if phase == "data":
                raise MaybeSent(f"{what} while sending the message") from None
            raise NotSent(f"{what} before sending ({phase})") from None
        except BaseException:
            await self._drop(quit_first=False)
            raise
        self._used += 1
        self._last = loop.time()

    async def _connection(self, now: float) -> tuple[aiosmtplib.SMTP, bool]:
        client = self._client
        if client is not None and client.is_connected and self._used < self.per_connection \
                and now - self._last < self.idle_seconds:
            return client, True
        await self._drop(quit_first=True)
        config = self.config
        client = aiosmtplib.SMTP(hostname=config.host, port=config.port, timeout=config.connect_timeout,
                                 use_tls=config.implicit_tls,
                                 start_tls=False if config.implicit_tls else config.starttls,
                                 tls_context=config.tls_context, username=config.username or None,
                                 password=config.password or None)
        self._client, self._used = client, 0
        await client.connect()
        return client, False

    async def _envelope(self, client: aiosmtplib.SMTP, recipient: str) -> None:
        await client.mail(self.config.sender)
        await client.rcpt(recipient)

    async def _drop(self, *, quit_first: bool) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if quit_first and client.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.quit(), 2)
        with contextlib.suppress(Exception):
            client.close()


async def report_counts(storage: Storage, broadcast_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """A broadcast's outcomes counted apart: the chat messages' (one a person) and the e-mails'."""
    rows = await storage.fetchall("SELECT channel = ? AS mail, status, COUNT(*) AS n FROM outbox "
                                  "WHERE broadcast_id = ? GROUP BY channel = ?, status", (EMAIL, broadcast_id, EMAIL))
    chats: dict[str, int] = {}
    mails: dict[str, int] = {}
    for row in rows:
        (mails if row["mail"] else chats)[row["status"]] = row["n"]
    return chats, mails


def email_report(mails: dict[str, int]) -> str:
    """The line a broadcast's report adds about its e-mails; empty when it had none."""
    if not mails:
        return ""
    return say("mail_report", sent=mails.get("sent", 0), failed=mails.get("failed", 0) + mails.get("blocked", 0),
               uncertain=mails.get("uncertain", 0))
