"""The award's clock: times stored as UTC stamps, shown to the minute in the award's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.clock import MINUTE, in_zone, local, now_utc, stamp

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_time_is_stored_in_utc_to_the_second() -> None:
    moment = datetime(2026, 11, 20, 17, 5, 42, 123456, tzinfo=SHANGHAI)
    assert stamp(moment) == "2026-11-20T09:05:42+00:00"
    assert stamp(datetime(2026, 11, 20, 9, 5, tzinfo=UTC)) == "2026-11-20T09:05:00+00:00"
    assert datetime.now(UTC) - datetime.fromisoformat(now_utc()) < timedelta(seconds=5)
    assert now_utc().endswith("+00:00")


def test_a_stored_time_is_shown_as_the_award_reads_it() -> None:
    assert local("2026-11-20T09:05:42+00:00", SHANGHAI) == "2026-11-20 17:05"
    assert local("2026-12-31T16:30:00+00:00", SHANGHAI) == "2027-01-01 00:30"  # the award's day, not UTC's
    assert local(datetime(2026, 11, 20, 9, 5, tzinfo=UTC), SHANGHAI) == "2026-11-20 17:05"
    assert local(datetime(2026, 11, 20, 17, 5, tzinfo=SHANGHAI), SHANGHAI) == "2026-11-20 17:05"
    # Another offset (a deadline kept as typed in another zone) is shown on the award's clock.
    assert local(datetime(2026, 11, 20, 10, 5, tzinfo=timezone(timedelta(hours=1))), SHANGHAI) == "2026-11-20 17:05"
    assert local("2026-11-20T09:05:00+00:00", SHANGHAI, "%Y%m%d") == "20261120"
    assert MINUTE == "%Y-%m-%d %H:%M"


def test_no_time_shows_nothing_and_a_stamp_without_a_zone_is_utc_as_stored() -> None:
    assert local(None, SHANGHAI) == "" and local("", SHANGHAI) == ""
    assert local("2026-11-20 09:05:00", SHANGHAI) == "2026-11-20 17:05"
    assert local(datetime(2026, 11, 20, 9, 5), SHANGHAI) == "2026-11-20 17:05"


def test_stored_text_that_is_no_time_is_shown_as_it_is() -> None:
    assert local("不详", SHANGHAI) == "不详"


def test_in_zone_gives_the_award_s_day_and_refuses_what_is_no_time() -> None:
    assert in_zone("2026-12-31T16:30:00+00:00", SHANGHAI).date().isoformat() == "2027-01-01"
    assert in_zone("2026-12-31T16:30:00", SHANGHAI).utcoffset() == timedelta(hours=8)
    with pytest.raises(ValueError):
        in_zone("不详", SHANGHAI)
    with pytest.raises(TypeError):
        in_zone(None, SHANGHAI)  # type: ignore[arg-type]
