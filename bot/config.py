"""Configuration from environment variables (and a .env file), checked once at start-up."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.criteria import DEFAULT_CRITERIA
from bot.document import TEMPLATE
from bot.files import default_data_dir
from bot.reminders import ReminderPolicy, parse_deadline


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
    send_rate: float = Field(default=30.0, gt=0, le=30, alias="AWARD_SEND_RATE")
    chat_rate: float = Field(default=1.0, gt=0, le=100, alias="AWARD_CHAT_RATE")
    reminder_check_seconds: int = Field(default=600, ge=10, alias="AWARD_REMINDER_CHECK_SECONDS")
    log_level: str = Field(default="INFO", alias="AWARD_LOG_LEVEL")
    telegram_bot_token: str = Field(default="", alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field(default="", alias="TELEGRAM_API_URL")

    @field_validator("remind_days")
    @classmethod
    def _days_list(cls, value: str) -> str:
        parts = [p.strip() for p in value.replace("，", ",").split(",") if p.strip()]
        if not parts or not all(p.isdigit() and 0 < int(p) <= 365 for p in parts):
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
        for entry in value.replace("，", ",").replace(" ", ",").split(","):
            entry = entry.strip()
            if not entry:
                continue
            channel, _, user = entry.rpartition(":")
            # No leading zero: ids are compared as text, and "0123" would never match user 123.
            if channel in ("", "telegram") and user.isascii() and user.isdecimal() and not user.startswith("0"):
                continue
            if channel == "console" and user:
                continue
            raise ValueError(
                f"{entry!r} is not a coordinator: give Telegram user ids (numbers, e.g. 123456789; "
                "a @username will not do, ask @userinfobot for the id) or console:NAME")
        return value

    @field_validator("deadline")
    @classmethod
    def _deadline(cls, value: str) -> str:
        if value.strip() and parse_deadline(value, ZoneInfo("Asia/Shanghai")) is None:
            raise ValueError(f"expected a deadline like 2026-12-31 or 2026-12-31 17:00, got {value!r}")
        return value

    def policy(self) -> ReminderPolicy:
        quiet = _quiet_times(self.quiet_hours) if self.quiet_hours.strip() else (time(0, 0), time(0, 0))
        assert quiet is not None
        days = tuple(sorted({int(p) for p in self.remind_days.replace("，", ",").split(",") if p.strip()},
                            reverse=True))
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
