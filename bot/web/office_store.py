"""The office desk's sign-in: one-time links (15 minutes, used once) and sessions, kept only hashed."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

from bot.storage import Storage
from bot.web.store import Who, digest, new_token

LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)  # a working day at the desk


class OfficeStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def new_link(self, who: Who, now: datetime | None = None) -> str:
        return await self._issue(who, "link", LINK_LIFETIME, now)

    async def use_link(self, token: str, now: datetime | None = None) -> Who | None:
        """The coordinator a link signs in, once: used or expired, it signs in no one."""
        moment = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        wanted = digest(token)
        async with self.storage.transaction() as db:
            rows = list(await db.execute_fetchall(
                "SELECT token_hash, channel, user_id FROM office_tokens WHERE token_hash = ? AND purpose = 'link' "
                "AND used_at IS NULL AND expires_at > ?", (wanted, moment)))
            if not rows or not hmac.compare_digest(rows[0]["token_hash"], wanted):
                return None
            await db.execute("UPDATE office_tokens SET used_at = ? WHERE token_hash = ?", (moment, wanted))
        return Who(rows[0]["channel"], rows[0]["user_id"])

    async def new_session(self, who: Who, now: datetime | None = None) -> str:
        return await self._issue(who, "session", SESSION_LIFETIME, now)

    async def session(self, token: str, now: datetime | None = None) -> Who | None:
        if not token or len(token) > 200:
            return None
        moment = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        wanted = digest(token)
        row = await self.storage.fetchone(
            "SELECT token_hash, channel, user_id FROM office_tokens WHERE token_hash = ? AND purpose = 'session' "
            "AND expires_at > ?", (wanted, moment))
        if row is None or not hmac.compare_digest(row["token_hash"], wanted):
            return None
        return Who(row["channel"], row["user_id"])

    async def end_session(self, token: str) -> None:
        if token:
            await self.storage.write("DELETE FROM office_tokens WHERE token_hash = ? AND purpose = 'session'",
                                     (digest(token),))

    async def _issue(self, who: Who, purpose: str, lifetime: timedelta, now: datetime | None) -> str:
        token = new_token()
        moment = now or datetime.now(UTC)
        await self.storage.write(
            "INSERT INTO office_tokens (token_hash, purpose, channel, user_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (digest(token), purpose, who.channel, who.user_id, moment.isoformat(timespec="seconds"),
             (moment + lifetime).isoformat(timespec="seconds")))
        return token
