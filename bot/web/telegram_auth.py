"""Sign-in from a Telegram Mini App: check the `initData` Telegram hands the page.

The page sends `window.Telegram.WebApp.initData` as is; only a string signed with our bot token
proves who is on the other end (https://core.telegram.org/bots/webapps, "Validating data received
via the Mini App"). Anything that does not check out is refused with None, never half-trusted.
The init data and the token are never logged: the data is a bearer credential for a day, and the
token is the bot itself. Only the reason for a refusal is logged, at debug level.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE = 86_400.0  # a day, as Telegram's own examples suggest
FUTURE_SKEW = 60.0  # clocks drift; more than this ahead is not drift but forgery or replay games

# Real init data is well under 2 KB and about ten fields; the caps keep a hostile request from
# making us parse megabytes before the hash refuses it.
MAX_INIT_DATA_CHARS = 16_384
MAX_FIELDS = 64

# Telegram user ids fit in 52 bits; the bound keeps an absurd id out of SQLite's 64-bit integers.
MAX_USER_ID = 2**63 - 1

# int() would accept " 12", "+12", "1_2" and non-ASCII digits; Telegram sends plain digits.
_AUTH_DATE = re.compile(r"[0-9]{1,12}", re.ASCII)


@dataclass(frozen=True)
class TelegramUser:
    """The Telegram account that opened the Mini App, as Telegram signed it."""

    id: int
    first_name: str
    last_name: str
    username: str


def _secret_key(bot_token: str) -> bytes:
    # The key is derived from the token with the constant "WebAppData" as HMAC key (not the other
    # way round, as in the Login Widget), so a Login Widget hash cannot pass as init data.
    return hmac.new(b"WebAppData", bot_token.encode("utf-8"), hashlib.sha256).digest()


def _data_check_string(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"{key}={value}" for key, value in sorted(pairs))


def _expected_hash(pairs: list[tuple[str, str]], bot_token: str) -> str:
    check = _data_check_string(pairs).encode("utf-8")
    return hmac.new(_secret_key(bot_token), check, hashlib.sha256).hexdigest()


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """Build init data as Telegram would send it for `fields` (tests and browser tests use it).

    `fields` are the plain values (`user` already JSON); the result is the URL-encoded query
    string with `hash` appended, which `telegram_user` accepts with the same token.
    """
    if "hash" in fields:
        raise ValueError("fields must not contain 'hash'; it is computed here")
    pairs = list(fields.items())
    return urlencode([*pairs, ("hash", _expected_hash(pairs, bot_token))])


def _refuse(reason: str) -> None:
    log.debug("Mini App sign-in refused: %s", reason)


def _pairs(init_data: str) -> list[tuple[str, str]] | None:
    if len(init_data) > MAX_INIT_DATA_CHARS:
        return None
    try:
        # strict: a malformed pair is refused rather than guessed at; errors="strict": bytes that
        # are not UTF-8 are refused rather than replaced (Telegram only sends UTF-8).
        return parse_qsl(
            init_data,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError is a ValueError too
        return None


def _user(raw: str) -> TelegramUser | None:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    user_id = data.get("id")
    # bool is an int in Python; JSON true must not become user 1.
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id <= MAX_USER_ID:
        return None

    def text(key: str) -> str:
        value = data.get(key)
        return value if isinstance(value, str) else ""

    return TelegramUser(
        id=user_id, first_name=text("first_name"), last_name=text("last_name"), username=text("username")
    )


def telegram_user(
    init_data: str, bot_token: str, *, now: float | None = None, max_age: float = DEFAULT_MAX_AGE
) -> TelegramUser | None:
    """The Telegram user `init_data` was signed for, or None if it is not genuine and fresh."""
    if not bot_token:
        # An unset token would make the key public; refuse everything rather than accept forgeries.
        _refuse("no bot token configured")
        return None
    pairs = _pairs(init_data)
    if not pairs:
        _refuse("not a query string")
        return None
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        # Parsers disagree on which duplicate wins; the signed one and the used one could differ.
        _refuse("duplicate key")
        return None
    fields = dict(pairs)
    received = fields.pop("hash", None)
    if not received:
        _refuse("no hash")
        return None
    expected = _expected_hash(list(fields.items()), bot_token)
    # Bytes, because compare_digest raises TypeError on a str that is not ASCII.
    if not hmac.compare_digest(expected.encode("ascii"), received.encode("utf-8")):
        _refuse("hash mismatch")
        return None

    # Only signed data gets this far, so what follows checks Telegram's own values.
    auth_date = fields.get("auth_date", "")
    if not _AUTH_DATE.fullmatch(auth_date):
        _refuse("auth_date missing or not an integer")
        return None
    current = time.time() if now is None else now
    signed_at = int(auth_date)
    if current - signed_at > max_age:
        _refuse("auth_date too old")
        return None
    if signed_at - current > FUTURE_SKEW:
        _refuse("auth_date in the future")
        return None

    user = _user(fields.get("user", ""))
    if user is None:
        _refuse("user missing or without an integer id")
    return user
