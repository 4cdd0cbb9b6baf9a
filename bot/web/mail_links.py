"""The e-mail transport as configured, and the link each e-mail carries to its reader.

Issuing a personal web link is the web channel's business (its tokens, kept hashed), so the
wiring lives here, with the channels, and hands bot.mail a `LinkFor`.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.config import Settings
from bot.criteria import Criteria
from bot.mail import EmailTransport, LinkFor, parse_smtp_url
from bot.storage import OutboxMessage, Storage, now_utc
from bot.web.store import CHANNEL, digest, new_token

log = logging.getLogger("bot.mail")


def personal_links(storage: Storage, base_url: str, telegram_link: str | None = None) -> LinkFor:
    """Where an e-mail sends its reader: a web applicant gets a fresh personal link (/k/<token>, issued
    now, kept hashed); a Telegram applicant the bot (t.me/…) when known; anyone else no link. Without
    AWARD_WEB_BASE_URL there is no address the reader could open, so no web link either."""
    base = base_url.strip().rstrip("/")

    async def link_for(message: OutboxMessage) -> str | None:
        if message.applicant_id is None:
            return None
        row = await storage.fetchone("SELECT channel, external_id FROM applicants WHERE id = ?",
                                     (message.applicant_id,))
        if row is None:
            return None
        if row["channel"] == "web" and base:
            return f"{base}/k/{await _issue_link(storage, row['external_id'])}"
        if row["channel"] == "telegram" and telegram_link:
            return telegram_link
        return None

    return link_for


async def _issue_link(storage: Storage, user_id: str) -> str:
    """A new personal link for an existing web person (as WebStore.add_person makes the first)."""
    token = new_token()
    await storage.write("INSERT INTO web_tokens (token_hash, purpose, channel, user_id, created_at) "
                        "VALUES (?, 'link', ?, ?, ?)", (digest(token), CHANNEL, user_id, now_utc()))
    return token



def email_transport(settings: Settings, storage: Storage, criteria: Criteria,
                    telegram_link: str | None = None) -> EmailTransport | None:
    """The e-mail transport as configured, or None without AWARD_SMTP_URL."""
    if not settings.smtp_url.strip():
        return None
    config = replace(parse_smtp_url(settings.smtp_url, settings.smtp_from), sender_name=criteria.award)
    if not settings.web_base_url.strip():
        log.warning("e-mail reminders are on but AWARD_WEB_BASE_URL is not set: web applicants' e-mails "
                    "carry no personal link")
    log.info("e-mail reminders are on")
    return EmailTransport(config, personal_links(storage, settings.web_base_url, telegram_link))
