"""The award's clock: times are stored as UTC stamps, and shown as the award's time zone reads them.

Storage keeps every time as an ISO stamp in UTC, to the second (`stamp`, `now_utc`); people read
them to the minute in the award's time zone (AWARD_TIMEZONE): `local`.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

MINUTE = "%Y-%m-%d %H:%M"  # how a time is shown: 2026-12-31 17:00


def stamp(moment: datetime) -> str:
    """`moment` as storage keeps times: in UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def now_utc() -> str:
    """Now, as storage keeps times."""
    return stamp(datetime.now(UTC))


def in_zone(value: datetime | str, tz: tzinfo) -> datetime:
    """A stored stamp (or a time) on the award's clock; one without a zone is taken as UTC, as stored.

    Raises ValueError for text that is not a time (TypeError for what is no text).
    """
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(tz)


def local(value: datetime | str | None, tz: tzinfo, fmt: str = MINUTE) -> str:
    """A stored stamp (or a time) as the award's clock shows it: '2026-12-31 17:00'.

    Empty for no time; a stored text that is no time is shown as it is.
    """
    if not value:
        return ""
    try:
        return in_zone(value, tz).strftime(fmt)
    except ValueError:
        return str(value)
