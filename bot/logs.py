"""Logging that never holds personal data or the bot's token, at any level.

Our own modules log ids, counts and kinds, never answer texts or file names. The libraries below
us are another matter at DEBUG: python-telegram-bot logs every request with its parameters and
every update it receives (answers, captions, file names), httpx logs URLs (which carry the
token), aiosqlite logs each SQL statement with its values. So below INFO only our own records
pass, and the token is cut out of every line, tracebacks included.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import traceback

OWN = "bot"
_MASK = "<secret>"  # the bot token or the SMTP password, never in a log line


class _OnlyOwnDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or record.name == OWN or record.name.startswith(OWN + ".")


class _Redacting(logging.Formatter):
    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, _MASK)
        return text


def setup(level: str, *, secrets: list[str] | None = None) -> None:
    """Log to stderr at `level` (a name such as INFO or DEBUG), safely."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_OnlyOwnDebug())
    handler.setFormatter(_Redacting("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets or []))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # Each request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def unexpected(logger: logging.Logger, what: str, *args: object) -> None:
    """Log the exception being handled, once, with its traceback but without what it may quote.

    An exception's message can quote its input ("invalid literal for int(): '<what was typed>'"),
    so only the messages of system errors (files, the database) are kept; the rest show their type.
    """
    kind, error, _ = sys.exc_info()
    lines = traceback.format_tb(error.__traceback__) if error is not None else []
    chain = []
    while error is not None:
        said = str(error) if isinstance(error, OSError | sqlite3.Error) else "(message not logged)"
        chain.append(f"{type(error).__module__}.{type(error).__qualname__}: {said}")
        error = error.__cause__ or error.__context__
    logger.error(what + "\nTraceback (most recent call last):\n%s%s", *args, "".join(lines),
                 "\n  caused by ".join(chain) if kind else "")
