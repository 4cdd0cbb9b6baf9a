"""What the web channel keeps: people, their links and sessions (hashed), and what their page shows."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from bot.flows.events import Reply
from bot.storage import Storage, now_utc

CHANNEL = "web"
TOKEN_BYTES = 24  # 192 bits: a link or a session cannot be guessed


@dataclass(frozen=True)
class Who:
    """Whom a session or a link signs in as: a web person, or a Telegram user in the Mini App."""

    channel: str
    user_id: str


@dataclass(frozen=True)
class Shown:
    """One message of the conversation as the page shows it."""

    id: int
    role: str  # 'bot' or 'me'
    payload: dict[str, Any]


@dataclass(frozen=True)
class Invited:
    """Someone the office invited, as its list shows them."""

    user_id: str
    name: str
    unit: str
    invited_at: str
    first_used_at: str | None  # None: the link was never opened
    has_link: bool  # False: revoked
    applicant_id: int | None  # their application, once the chat page opened


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class WebStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    # -- people and tokens ---------------------------------------------------------------

    async def add_person(self, display_name: str, unit: str = "", *, invited: bool = False) -> tuple[Who, str]:
        """A new web person and their personal link token (returned once, kept only hashed)."""
        who = Who(CHANNEL, "w" + secrets.token_hex(8))
        token = new_token()
        async with self.storage.transaction() as db:
            await db.execute("INSERT INTO web_people (user_id, display_name, unit, invited, created_at) "
                             "VALUES (?, ?, ?, ?, ?)", (who.user_id, display_name, unit, int(invited), now_utc()))
            await db.execute("INSERT INTO web_tokens (token_hash, purpose, channel, user_id, created_at) "
                             "VALUES (?, 'link', ?, ?, ?)", (digest(token), who.channel, who.user_id, now_utc()))
        return who, token

    async def person(self, user_id: str) -> dict[str, str] | None:
        row = await self.storage.fetchone("SELECT display_name, unit FROM web_people WHERE user_id = ?", (user_id,))
        return {"display_name": row["display_name"], "unit": row["unit"]} if row else None

    async def new_session(self, who: Who) -> str:
        token = new_token()
        await self.storage.write("INSERT INTO web_tokens (token_hash, purpose, channel, user_id, created_at) "
                                 "VALUES (?, 'session', ?, ?, ?)", (digest(token), who.channel, who.user_id, now_utc()))
        return token

    async def holder(self, token: str, purpose: str) -> Who | None:
        """Whom a token of this purpose signs in as; None for anything else (a link is no session)."""
        if not token or len(token) > 200:
            return None
        wanted = digest(token)
        row = await self.storage.fetchone(
            "SELECT token_hash, channel, user_id FROM web_tokens WHERE token_hash = ? AND purpose = ?",
            (wanted, purpose))
        # The lookup is by hash; comparing again in constant time costs nothing and leaks nothing.
        if row is None or not hmac.compare_digest(row["token_hash"], wanted):
            return None
        return Who(row["channel"], row["user_id"])

    # -- invitations (the office's desk) --------------------------------------------------

    async def invite_people(self, people: list[tuple[str, str]]) -> tuple[list[tuple[str, str, str]],
                                                                          list[tuple[str, str]]]:
        """Invite everyone of a list at once: ([(name, unit, link token)], [(name, unit) skipped]).

        Someone already invited under the same name and unit whose link still works is skipped, not
        invited twice (a double click, a list sent again); all in one transaction, so two such
        requests at once cannot both invite them. Tokens are returned once and kept only hashed.
        """
        made: list[tuple[str, str, str]] = []
        skipped: list[tuple[str, str]] = []
        now = now_utc()
        async with self.storage.transaction() as db:
            rows = await (await db.execute(
                "SELECT p.display_name, p.unit FROM web_people p WHERE p.invited = 1 AND EXISTS "
                "(SELECT 1 FROM web_tokens t WHERE t.channel = ? AND t.user_id = p.user_id AND t.purpose = 'link')",
                (CHANNEL,))).fetchall()
            known = {(r[0], r[1]) for r in rows}
            for name, unit in people:
                if (name, unit) in known:
                    skipped.append((name, unit))
                    continue
                user_id, token = "w" + secrets.token_hex(8), new_token()
                await db.execute("INSERT INTO web_people (user_id, display_name, unit, invited, created_at) "
                                 "VALUES (?, ?, ?, 1, ?)", (user_id, name, unit, now))
                await db.execute("INSERT INTO web_tokens (token_hash, purpose, channel, user_id, created_at) "
                                 "VALUES (?, 'link', ?, ?, ?)", (digest(token), CHANNEL, user_id, now))
                made.append((name, unit, token))
        return made, skipped

    async def invited_waiting(self) -> int:
        """Invited, with a working link, and not yet agreed and started: not among the desk's applicants."""
        row = await self.storage.fetchone(
            "SELECT COUNT(*) FROM web_people p WHERE p.invited = 1 AND EXISTS (SELECT 1 FROM web_tokens t "
            "WHERE t.channel = ? AND t.user_id = p.user_id AND t.purpose = 'link') AND NOT EXISTS (SELECT 1 "
            "FROM applicants a JOIN applications x ON x.applicant_id = a.id WHERE a.channel = ? "
            "AND a.external_id = p.user_id AND x.status != 'consent')", (CHANNEL, CHANNEL))
        return int(row[0]) if row else 0

    async def invited_count(self) -> int:
        row = await self.storage.fetchone("SELECT COUNT(*) FROM web_people WHERE invited = 1")
        return int(row[0]) if row else 0

    async def invited(self, offset: int = 0, limit: int = 100, *, user_id: str | None = None) -> list[Invited]:
        """Everyone the office invited (or the one named), the newest batch first and each batch in its
        own order, with whether and when their link was first used.

        Used: a session was opened with it (sessions go when the link is revoked), or the interview
        knows them (from when they agree and start; this stays after a revocation).
        """
        rows = await self.storage.fetchall(
            "SELECT p.user_id, p.display_name, p.unit, p.created_at, "
            "(SELECT MIN(t.created_at) FROM web_tokens t WHERE t.channel = ? AND t.user_id = p.user_id "
            " AND t.purpose = 'session') AS first_session, "
            "EXISTS (SELECT 1 FROM web_tokens t WHERE t.channel = ? AND t.user_id = p.user_id "
            " AND t.purpose = 'link') AS has_link, "
            "a.id AS applicant_id, a.created_at AS started_at "
            "FROM web_people p LEFT JOIN applicants a ON a.channel = ? AND a.external_id = p.user_id "
            "WHERE p.invited = 1 AND (? IS NULL OR p.user_id = ?) "
            "ORDER BY p.created_at DESC, p.rowid LIMIT ? OFFSET ?",
            (CHANNEL, CHANNEL, CHANNEL, user_id, user_id, limit, offset))
        return [Invited(r["user_id"], r["display_name"], r["unit"], r["created_at"],
                        min(filter(None, (r["first_session"], r["started_at"])), default=None),
                        bool(r["has_link"]), r["applicant_id"]) for r in rows]

    async def revoke(self, user_id: str, *, renew: bool = False) -> str | None:
        """The person's link and every session opened with it stop working; their answers stay.

        With `renew`, a new link token (returned once, kept only hashed) replaces the old one in the
        same transaction. None, and nothing done, for someone who is not a web person.
        """
        token = new_token() if renew else ""
        async with self.storage.transaction() as db:
            found = await (await db.execute("SELECT 1 FROM web_people WHERE user_id = ?", (user_id,))).fetchone()
            if found is None:
                return None
            await db.execute("DELETE FROM web_tokens WHERE channel = ? AND user_id = ?", (CHANNEL, user_id))
            if token:
                await db.execute("INSERT INTO web_tokens (token_hash, purpose, channel, user_id, created_at) "
                                 "VALUES (?, 'link', ?, ?, ?)", (digest(token), CHANNEL, user_id, now_utc()))
        return token

    # -- the conversation ----------------------------------------------------------------

    async def record(self, who: Who, role: str, payloads: list[dict[str, Any]]) -> None:
        await self._insert(who, [(role, payload) for payload in payloads])

    async def record_exchange(self, who: Who, mine: dict[str, Any] | None, replies: list[dict[str, Any]]) -> None:
        """What they sent and what came back, in one transaction: the log never shows one without the other."""
        await self._insert(who, ([("me", mine)] if mine is not None else []) + [("bot", p) for p in replies])

    async def _insert(self, who: Who, rows: list[tuple[str, dict[str, Any]]]) -> None:
        if not rows:
            return
        now = now_utc()
        async with self.storage.transaction() as db:
            await db.executemany(
                "INSERT INTO web_messages (channel, user_id, role, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                [(who.channel, who.user_id, role, json.dumps(p, ensure_ascii=False), now) for role, p in rows])

    async def place(self, who: Who) -> tuple[int, str, str]:
        """Questions answered, the step and the status: one query, no answer's text."""
        row = await self.storage.fetchone(
            "SELECT p.step, (SELECT COUNT(*) FROM answers a WHERE a.application_id = p.id AND a.text != ''), "
            "p.status FROM applications p JOIN applicants c ON c.id = p.applicant_id "
            "WHERE c.channel = ? AND c.external_id = ?", (who.channel, who.user_id))
        return (int(row[1]), str(row[0]), str(row[2])) if row else (0, "", "")

    async def shown(self, who: Who, after: int = 0, limit: int = 500) -> list[Shown]:
        rows = await self.storage.fetchall(
            "SELECT id, role, payload FROM web_messages WHERE channel = ? AND user_id = ? AND id > ? "
            "ORDER BY id DESC LIMIT ?", (who.channel, who.user_id, after, limit))
        return [Shown(r["id"], r["role"], json.loads(r["payload"])) for r in reversed(rows)]

    async def message(self, who: Who, message_id: int) -> Shown | None:
        """One of this person's messages: never anyone else's (a guessed id finds nothing)."""
        row = await self.storage.fetchone(
            "SELECT id, role, payload FROM web_messages WHERE id = ? AND channel = ? AND user_id = ?",
            (message_id, who.channel, who.user_id))
        return Shown(row["id"], row["role"], json.loads(row["payload"])) if row else None


def reply_payload(reply: Reply) -> dict[str, Any]:
    """A reply as the page keeps it: text, buttons, and a document by its path and the name it is sent as."""
    payload: dict[str, Any] = {"text": reply.text}
    if reply.buttons:
        payload["buttons"] = [[[b.label, b.data] for b in row] for row in reply.buttons]
    if reply.document is not None:
        payload["document"] = {"path": str(reply.document),
                               "name": reply.document_name or reply.document.name}
    return payload
