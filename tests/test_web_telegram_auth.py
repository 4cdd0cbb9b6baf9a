"""Signing in from the Telegram Mini App: only init data Telegram signed for our bot, and fresh, lets
an applicant in as that Telegram user; anything tampered, stale, forged or malformed is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from urllib.parse import quote

import pytest

from bot.web.telegram_auth import TelegramUser, sign_init_data, telegram_user

TOKEN = "123456:AAE-test-token-of-the-award-bot"
OTHER_TOKEN = "654321:AAE-some-other-bot"
NOW = 1_760_000_000.0
WANG = {"id": 279058397, "first_name": "王", "last_name": "芳", "username": "wangfang", "language_code": "zh-hans"}


def init_data(*, user: object = WANG, auth_date: object = int(NOW) - 30, token: str = TOKEN, **extra: str) -> str:
    fields = {"query_id": "AAHdF6IQAAAAAN0XohDhrOrc", "auth_date": str(auth_date), **extra}
    if user is not None:
        fields["user"] = user if isinstance(user, str) else json.dumps(user, ensure_ascii=False)
    return sign_init_data(fields, token)


def sign_in(data: str, **kwargs: float) -> TelegramUser | None:
    return telegram_user(data, TOKEN, now=NOW, **kwargs)


def test_a_mini_app_sign_in_is_accepted_as_that_telegram_user() -> None:
    assert sign_in(init_data()) == TelegramUser(id=279058397, first_name="王", last_name="芳", username="wangfang")


def test_init_data_encoded_as_telegram_sends_it_is_accepted() -> None:
    # Built by hand from the published recipe, %20-encoded like the Telegram apps do (sign_init_data
    # uses '+'), with the newer `signature` field, which takes part in the hash like any other.
    user = json.dumps({"id": 42, "first_name": "Li Na"}, separators=(",", ":"))
    fields = {"auth_date": str(int(NOW)), "chat_type": "sender", "signature": "abc-_1", "user": user}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    raw = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items()) + f"&hash={digest}"
    assert sign_in(raw) == TelegramUser(id=42, first_name="Li Na", last_name="", username="")


def test_someone_who_changes_the_user_id_is_refused() -> None:
    genuine = init_data()
    forged = genuine.replace("279058397", "279058398")
    assert forged != genuine
    assert sign_in(forged) is None


def test_any_changed_field_is_refused() -> None:
    genuine = init_data()
    assert sign_in(genuine.replace("query_id=AAH", "query_id=BAH")) is None
    assert sign_in(genuine + "&start_param=admin") is None  # an added field
    assert sign_in(genuine.replace("query_id=AAHdF6IQAAAAAN0XohDhrOrc&", "")) is None  # a removed one


def test_init_data_signed_for_another_bot_is_refused() -> None:
    assert sign_in(init_data(token=OTHER_TOKEN)) is None
    assert telegram_user(init_data(), OTHER_TOKEN, now=NOW) is None


def test_without_a_configured_token_nothing_is_accepted() -> None:
    assert telegram_user(init_data(token=""), "", now=NOW) is None


def test_init_data_older_than_a_day_is_refused() -> None:
    assert sign_in(init_data(auth_date=int(NOW) - 86_400)) is not None
    assert sign_in(init_data(auth_date=int(NOW) - 86_401)) is None
    assert sign_in(init_data(auth_date=int(NOW) - 3_601), max_age=3_600) is None


def test_init_data_dated_in_the_future_is_refused_beyond_clock_drift() -> None:
    assert sign_in(init_data(auth_date=int(NOW) + 60)) is not None
    assert sign_in(init_data(auth_date=int(NOW) + 61)) is None


def test_the_real_clock_is_used_when_no_time_is_given() -> None:
    assert telegram_user(init_data(auth_date=int(NOW)), TOKEN) is None  # NOW is long past


@pytest.mark.parametrize("auth_date", [None, "", "soon", "1.7e9", " 1760000000", "+1760000000", "1_760_000_000", "١٧٦"])
def test_a_missing_or_malformed_auth_date_is_refused(auth_date: str | None) -> None:
    fields = {"user": json.dumps(WANG)}
    if auth_date is not None:
        fields["auth_date"] = auth_date
    assert sign_in(sign_init_data(fields, TOKEN)) is None


@pytest.mark.parametrize(
    "user",
    [
        None,
        "",
        "not json",
        "[279058397]",
        "{}",
        '{"id": "279058397"}',
        '{"id": 1.5}',
        '{"id": true}',
        '{"id": 0}',
        '{"id": -5}',
        '{"id": 99999999999999999999}',
        "[" * 100_000,
    ],
)
def test_a_missing_or_malformed_user_is_refused(user: str | None) -> None:
    assert sign_in(init_data(user=user)) is None


def test_missing_or_empty_hash_is_refused() -> None:
    without = init_data().rsplit("&hash=", 1)[0]
    assert sign_in(without) is None
    assert sign_in(without + "&hash=") is None


def test_a_duplicated_key_is_refused() -> None:
    genuine = init_data()
    assert sign_in(genuine + "&user=" + quote(json.dumps({"id": 1}))) is None
    assert sign_in(genuine + "&hash=" + genuine.rsplit("&hash=", 1)[1]) is None


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "garbage",
        "&&&",
        "=",
        "hash",
        "a=1&&b=2",
        "%ff%fe=1&hash=00",
        "hash=ünïcödé",
        pytest.param("x=" + "a" * 20_000, id="too-long"),
        pytest.param("&".join(f"k{i}=v" for i in range(100)) + "&hash=00", id="too-many-fields"),
    ],
)
def test_garbage_is_refused_without_an_error(garbage: str) -> None:
    assert sign_in(garbage) is None


def test_a_refusal_logs_neither_the_init_data_nor_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.web.telegram_auth")
    forged = init_data().replace("279058397", "279058398")
    assert sign_in(forged) is None
    assert caplog.records, "a refusal should say why, at debug level"
    logged = caplog.text
    for secret in (TOKEN, forged, forged.rsplit("&hash=", 1)[1], "279058398", "AAHdF6IQAAAAAN0XohDhrOrc"):
        assert secret not in logged


def test_signing_refuses_fields_that_already_carry_a_hash() -> None:
    with pytest.raises(ValueError):
        sign_init_data({"auth_date": "1", "hash": "00"}, TOKEN)
