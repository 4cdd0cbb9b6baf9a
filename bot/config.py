"""Configuration from environment variables (and a .env file), checked once at start-up."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.criteria import DEFAULT_CRITERIA
from bot.document import TEMPLATE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    db: Path = Field(default=Path("data/award.db"), alias="AWARD_DB")
    data_dir: Path = Field(default=Path("data"), alias="AWARD_DATA_DIR")
    criteria: Path = Field(default=DEFAULT_CRITERIA, alias="AWARD_CRITERIA")
    template: Path = Field(default=TEMPLATE, alias="AWARD_TEMPLATE")
    pdf: bool = Field(default=True, alias="AWARD_PDF")
    timezone: str = Field(default="Asia/Shanghai", alias="AWARD_TIMEZONE")
    log_level: str = Field(default="INFO", alias="AWARD_LOG_LEVEL")
    telegram_bot_token: str = Field(default="", alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field(default="", alias="TELEGRAM_API_URL")

    @property
    def libreoffice_profile(self) -> Path:
        return self.data_dir / "libreoffice"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}, e.g. Asia/Shanghai") from exc
        return value
