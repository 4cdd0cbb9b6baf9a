"""Configuration from environment variables (and a .env file), checked once at start-up."""

from __future__ import annotations

import logging
import math
from datetime import datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.criteria import DEFAULT_CRITERIA
from bot.document import TEMPLATE
from bot.files import default_data_dir
from bot.mail import SmtpConfig, SmtpUrlError, masked_url, parse_smtp_url, plausible_address
from bot.reminders import ReminderPolicy, parse_deadline
from bot.wording import say

# The web channel's own paths (bot/web): a webhook there would never be reached.
WEB_PATHS = frozenset({"api", "chat", "files", "k", "miniapp", "office", "register", "static"})

# AWARD_SEND_RATE=unlimited: no overall pace (Telegram's per-chat pace, AWARD_CHAT_RATE, still holds).
UNLIMITED = frozenset({"unlimited", "none", "不限"})

# A good value of each setting that is checked: shown beside a bad one, so the fix can be copied.
EXAMPLES: dict[str, str] = {
    "AWARD_DEADLINE": "2026-12-31 17:00",
    "AWARD_TIMEZONE": "Asia/Shanghai",
    "AWARD_QUIET_HOURS": "21:00-08:00",
    "AWARD_REMIND_DAYS": "7,3,1",
    "AWARD_COORDINATORS": "123456789,console:office",
    "AWARD_SEND_RATE": "30",
    "AWARD_CHAT_RATE": "1",
    "AWARD_INACTIVE_DAYS": "7",
    "AWARD_REMINDER_CHECK_SECONDS": "600",
    "AWARD_PDF": "false",
    "AWARD_LOG_LEVEL": "INFO",
    "AWARD_WEB_PORT": "8080",
    "AWARD_WEB_BASE_URL": "https://award.example.cn",
    "AWARD_WEBHOOK_URL": "https://award.example.cn/tg",
    "AWARD_WEB_REGISTRATION": "false",
    "AWARD_SMTP_URL": "smtps://award%40example.cn:password@smtp.example.cn:465",
    "AWARD_SMTP_FROM": "award@example.cn",
}


def remind_days(value: str) -> tuple[int, ...] | None:
    """AWARD_REMIND_DAYS ('7,3,1', or with ，) as days before the deadline, furthest first; None if it is
    no such list (empty, or a day that is not 1 to 365)."""
    parts = [p.strip() for p in value.replace("，", ",").split(",") if p.strip()]
    if not parts or not all(p.isdecimal() and 0 < int(p) <= 365 for p in parts):
        return None
    return tuple(sorted({int(p) for p in parts}, reverse=True))


def coordinator_entries(value: str) -> list[tuple[str, str, str]]:
    """AWARD_COORDINATORS's entries ('123456789,console:office', by commas of either width or spaces):
    each as written, its channel ('' where none is named) and its user id."""
    entries = []
    for entry in value.replace("，", ",").replace(" ", ",").split(","):
        entry = entry.strip()
        if entry:
            channel, _, user = entry.rpartition(":")
            entries.append((entry, channel, user))
    return entries


def _quiet_times(value: str) -> tuple[time, time] | None:
    start, _, end = value.replace("–", "-").partition("-")
    try:
        return time.fromisoformat(start.strip().zfill(5)), time.fromisoformat(end.strip().zfill(5))
    except ValueError:
        return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    db: Path = Field(default=Path("data/award.db"), alias="AWARD_DB")
    # Empty: the database's own folder beside it (data/award.db → data/award-files), see `files`.
    data_dir: str = Field(default="", alias="AWARD_DATA_DIR")
    criteria: Path = Field(default=DEFAULT_CRITERIA, alias="AWARD_CRITERIA")
    template: Path = Field(default=TEMPLATE, alias="AWARD_TEMPLATE")
    pdf: bool = Field(default=True, alias="AWARD_PDF")
    timezone: str = Field(default="Asia/Shanghai", alias="AWARD_TIMEZONE")
    coordinators: str = Field(default="", alias="AWARD_COORDINATORS")
    deadline: str = Field(default="", alias="AWARD_DEADLINE")
    remind_days: str = Field(default="7,3,1", alias="AWARD_REMIND_DAYS")
    inactive_days: int = Field(default=7, ge=1, le=365, alias="AWARD_INACTIVE_DAYS")
    quiet_hours: str = Field(default="21:00-08:00", alias="AWARD_QUIET_HOURS")
    # Messages a second, replies and reminders together; math.inf ("unlimited") for no overall pace.
    send_rate: float = Field(default=30.0, gt=0, alias="AWARD_SEND_RATE")
    chat_rate: float = Field(default=1.0, gt=0, le=100, alias="AWARD_CHAT_RATE")
    reminder_check_seconds: int = Field(default=600, ge=10, alias="AWARD_REMINDER_CHECK_SECONDS")
    log_level: str = Field(default="INFO", alias="AWARD_LOG_LEVEL")
    telegram_bot_token: str = Field(default="", alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field(default="", alias="TELEGRAM_API_URL")
    web_host: str = Field(default="127.0.0.1", alias="AWARD_WEB_HOST")
    # Unset: `award-bot run` serves Telegram alone; `award-bot web` uses 8080.
    web_port: int | None = Field(default=None, ge=1, le=65535, alias="AWARD_WEB_PORT")
    web_base_url: str = Field(default="", alias="AWARD_WEB_BASE_URL")
    # Updates by webhook on the web server's port instead of polling (award-bot run --webhook URL).
    webhook_url: str = Field(default="", alias="AWARD_WEBHOOK_URL")
    web_registration: bool = Field(default=True, alias="AWARD_WEB_REGISTRATION")
    # Empty: no e-mail. Set: reminders and 退回修改 notices also go to the 申报表's e-mail address.
    smtp_url: str = Field(default="", alias="AWARD_SMTP_URL")
    smtp_from: str = Field(default="", alias="AWARD_SMTP_FROM")

    @field_validator("send_rate", mode="before")
    @classmethod
    def _send_rate(cls, value: object) -> object:
        # Telegram's own limit is about 30 a second; paid broadcasts and a local Bot API server that
        # paces itself allow more. "unlimited" switches the overall pace off (a benchmark, a proxy).
        if isinstance(value, str) and value.strip().lower() in UNLIMITED:
            return math.inf
        return value

    @field_validator("remind_days")
    @classmethod
    def _days_list(cls, value: str) -> str:
        if remind_days(value) is None:
            raise ValueError(f"expected days before the deadline like 7,3,1, got {value!r}")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        if value.strip() and _quiet_times(value) is None:
            raise ValueError(f"expected quiet hours like 21:00-08:00, got {value!r}")
        return value

    @field_validator("coordinators")
    @classmethod
    def _coordinators(cls, value: str) -> str:
        # A typo here silently locks the office out (or lets nobody in): say which entry is wrong.
        for entry, channel, user in coordinator_entries(value):
            # No leading zero: ids are compared as text, and "0123" would never match user 123.
            if channel in ("", "telegram") and user.isascii() and user.isdecimal() and not user.startswith("0"):
                continue
            if channel == "console" and user:
                continue
            # The entry travels with the error: the message names it (see `explain`).
            raise PydanticCustomError("coordinator", "'{entry}' is not a coordinator", {"entry": entry})
        return value

    @field_validator("deadline")
    @classmethod
    def _deadline(cls, value: str) -> str:
        if value.strip() and parse_deadline(value, ZoneInfo("Asia/Shanghai")) is None:
            raise ValueError(f"expected a deadline like 2026-12-31 or 2026-12-31 17:00, got {value!r}")
        return value

    @field_validator("web_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if value.strip() and not value.strip().startswith(("http://", "https://")):
            raise ValueError(f"expected the public address like https://award.example.cn, got {value!r}")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")  # plain http only on this machine (tests)
        first = parts.path.strip("/").split("/")[0]
        if first in WEB_PATHS or not parts.path.strip("/"):
            raise ValueError(f"the path of {value!r} is the web page's; give the webhook its own, like /tg")
        if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
            raise ValueError(f"expected the https address Telegram posts to, like https://award.example.cn/tg, "
                             f"got {value!r}")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if value.strip():
            try:
                parse_smtp_url(value, "award@example.cn")  # the sender is checked on its own
            except SmtpUrlError as exc:
                # The value is shown only masked (see _bad_setting): it holds the password.
                raise PydanticCustomError("smtp_url", "{detail}", {"detail": str(exc)}) from None
        return value

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from(cls, value: str) -> str:
        if value.strip() and not plausible_address(value.strip()):
            raise ValueError(f"expected an e-mail address like award@example.cn, got {value!r}")
        return value.strip()

    def smtp(self) -> SmtpConfig | None:
        """The mail server as configured, or None: e-mail is off."""
        if not self.smtp_url.strip():
            return None
        return parse_smtp_url(self.smtp_url, self.smtp_from)

    @property
    def email(self) -> bool:
        """Whether reminders and notices also go by e-mail."""
        return bool(self.smtp_url.strip())

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        # logging would quietly fall back to INFO on a typo such as DEBGU.
        if value.strip().upper() not in logging.getLevelNamesMapping():
            raise ValueError(f"expected a log level such as DEBUG, INFO or WARNING, got {value!r}")
        return value.strip()

    def policy(self) -> ReminderPolicy:
        quiet = _quiet_times(self.quiet_hours) if self.quiet_hours.strip() else (time(0, 0), time(0, 0))
        assert quiet is not None
        days = remind_days(self.remind_days)
        assert days is not None  # checked when the settings were read
        return ReminderPolicy(ZoneInfo(self.timezone), days, self.inactive_days, quiet[0], quiet[1])

    def default_deadline(self) -> datetime | None:
        return parse_deadline(self.deadline, ZoneInfo(self.timezone)) if self.deadline.strip() else None

    @property
    def files(self) -> Path:
        """Where this database's files go: received evidence, 申报书, exports, LibreOffice's profile."""
        return Path(self.data_dir) if self.data_dir.strip() else default_data_dir(self.db.absolute())

    @property
    def libreoffice_profile(self) -> Path:
        return self.files / "libreoffice"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}, e.g. Asia/Shanghai") from exc
        return value


class ConfigError(Exception):
    """Settings that cannot be used: one line per bad setting, in Chinese and English."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_settings(**values: Any) -> Settings:
    """The settings from the environment and .env (and `values`), or a ConfigError saying what is wrong."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigError(explain(exc)) from None


def explain(exc: ValidationError) -> list[str]:
    """Each bad setting as a person reads it: the variable, the value given, and a good one."""
    lines, seen = [], set()
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        if name not in seen:
            seen.add(name)
            lines.append(_bad_setting(name, error))
    return lines


def _bad_setting(name: str, error: Any) -> str:
    given = error.get("input")
    value = given if isinstance(given, str) else "" if given is None else str(given)
    if name == "AWARD_SMTP_URL":
        value = masked_url(value)  # never the password on the screen
    detail = error.get("msg", "").removeprefix("Value error, ")
    params = {"name": name, "example": EXAMPLES.get(name, ""), "entry": (error.get("ctx") or {}).get("entry", ""),
              "detail": detail}
    problems = {
        "AWARD_DEADLINE": say("config_bad_deadline", **params),
        "AWARD_TIMEZONE": say("config_bad_timezone", **params),
        "AWARD_QUIET_HOURS": say("config_bad_quiet_hours", **params),
        "AWARD_REMIND_DAYS": say("config_bad_remind_days", **params),
        "AWARD_COORDINATORS": say("config_bad_coordinators", **params),
        "AWARD_SEND_RATE": say("config_bad_send_rate", **params),
        "AWARD_CHAT_RATE": say("config_bad_chat_rate", **params),
        "AWARD_INACTIVE_DAYS": say("config_bad_inactive_days", **params),
        "AWARD_REMINDER_CHECK_SECONDS": say("config_bad_reminder_check_seconds", **params),
        "AWARD_PDF": say("config_bad_pdf", **params),
        "AWARD_LOG_LEVEL": say("config_bad_log_level", **params),
        "AWARD_WEB_PORT": say("config_bad_web_port", **params),
        "AWARD_WEB_BASE_URL": say("config_bad_web_base_url", **params),
        "AWARD_WEBHOOK_URL": say("config_bad_webhook_url", **params),
        "AWARD_WEB_REGISTRATION": say("config_bad_web_registration", **params),
        "AWARD_SMTP_URL": say("config_bad_smtp_url", **params),
        "AWARD_SMTP_FROM": say("config_bad_smtp_from", **params),
    }
    problem = problems.get(name) or say("config_bad_setting", **params)
    return say("config_error", name=name, value=value if value.strip() else '""', problem=problem)
