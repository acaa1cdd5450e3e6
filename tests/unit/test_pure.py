"""Pure functions: slots, button data, signatures, settings, encryption, Zoom error mapping."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bot import slots
from bot.crypto import EncryptionKeyError, TokenCipher
from bot.domain import OrderAction
from bot.settings import Settings, SettingsError, load_settings
from bot.telegram.buttons import Verb, data, parse
from bot.zoom import webhook
from bot.zoom.client import MeetingSpec, error_from_response, format_start_time, retry_at
from bot.zoom.errors import ZoomAuthError, ZoomNotFound, ZoomRateLimited, ZoomRequestError, ZoomServerError

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_slots_every_half_hour_from_nine_until_the_end_fits_before_six() -> None:
    starts = slots.day_starts(date(2026, 12, 1), slots.Rules("Europe/Berlin", 60))
    labels = [start.strftime("%H:%M") for start in starts]
    assert labels[0] == "09:00" and labels[-1] == "17:00" and "09:30" in labels and len(labels) == 17


def test_slots_leave_out_the_past_and_busy_times() -> None:
    now = datetime(2026, 12, 1, 10, 10, tzinfo=UTC)  # 11:10 in Berlin
    busy = [(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), datetime(2026, 12, 1, 13, 0, tzinfo=UTC))]
    starts = slots.free_starts(date(2026, 12, 1), slots.Rules("Europe/Berlin", 60), busy, now)
    labels = [start.strftime("%H:%M") for start in starts]
    assert labels[:4] == ["11:30", "12:00", "14:00", "14:30"]  # 13:00-14:00 Berlin is busy


def test_slots_across_daylight_saving_change_stay_at_local_wall_time() -> None:
    every_day = slots.Rules("Europe/Berlin", 30, week=(slots.NINE_TO_SIX,) * 7)
    before, after = (
        slots.day_starts(date(2026, 3, 28), every_day),
        slots.day_starts(date(2026, 3, 30), every_day),
    )
    assert before[0].astimezone(UTC).hour == 8 and after[0].astimezone(UTC).hour == 7


def test_offered_refuses_odd_minutes_the_past_and_far_future() -> None:
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    rules = slots.Rules("UTC", 60)
    assert slots.is_offered(datetime(2026, 12, 2, 9, 0, tzinfo=UTC), rules, now)
    assert not slots.is_offered(datetime(2026, 12, 2, 9, 10, tzinfo=UTC), rules, now)
    assert not slots.is_offered(datetime(2026, 11, 30, 9, 0, tzinfo=UTC), rules, now)
    assert not slots.is_offered(datetime(2026, 12, 2, 17, 30, tzinfo=UTC), rules, now)
    assert not slots.is_offered(now + timedelta(days=120), rules, now)


def test_button_data_round_trip_and_refusals() -> None:
    value = data(Verb.ACTION_CONFIRMED, 12, OrderAction.RESCHEDULE, 3, "202612011030")
    assert value == "y:12:rs:3:202612011030"  # the wire format of the contract
    press = parse(value)
    assert press is not None and press.verb is Verb.ACTION_CONFIRMED and press.int_arg(0) == 12
    assert press.action(1) is OrderAction.RESCHEDULE and press.arg(3) == "202612011030"
    assert press.action(0) is None and press.action(9) is None
    for forged in ["", "x" * 65, "a:1:<script>", "y:1:2:3:4:5:6:7", "Ünïcode", "a::", "zz:1", "q"]:
        assert parse(forged) is None
    with pytest.raises(ValueError):
        data(Verb.ORDER_ACTION, "x" * 70)
    with pytest.raises(ValueError):
        data("zz", 1)  # type: ignore[arg-type]  # a verb nobody registered


def test_webhook_signature_is_verified_over_the_raw_body_within_five_minutes() -> None:
    body = b'{"event":"meeting.deleted"}'
    now = int(time.time())
    good = hmac.new(b"secret", f"v0:{now}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"x-zm-request-timestamp": str(now), "x-zm-signature": f"v0={good}"}
    assert webhook.verify("secret", headers, body)
    assert not webhook.verify("secret", headers, body + b" ")
    assert not webhook.verify("other", headers, body)
    assert not webhook.verify("secret", {}, body)
    stale = now - 600
    stale_sig = hmac.new(b"secret", f"v0:{stale}:".encode() + body, hashlib.sha256).hexdigest()
    assert not webhook.verify(
        "secret", {"x-zm-request-timestamp": str(stale), "x-zm-signature": f"v0={stale_sig}"}, body
    )
    assert not webhook.verify("", headers, body)


def test_url_validation_answer() -> None:
    answer = webhook.url_validation_answer("secret", "plain")
    assert answer["encryptedToken"] == hmac.new(b"secret", b"plain", hashlib.sha256).hexdigest()


def test_settings_errors_are_one_line_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="^TELEGRAM_BOT_TOKEN: is required"):
        load_settings(_env_file=None)
    with pytest.raises(SettingsError, match="^DEFAULT_TIMEZONE"):
        load_settings(_env_file=None, telegram_bot_token=TOKEN, default_timezone="Mars/Olympus")
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(_env_file=None, telegram_bot_token=TOKEN, telegram_mode="webhook")
    with pytest.raises(SettingsError, match="^DATABASE_URL"):
        load_settings(_env_file=None, telegram_bot_token=TOKEN, database_url="mysql://x")
    settings = load_settings(_env_file=None, telegram_bot_token=TOKEN)
    assert TOKEN not in repr(settings)


# The time knobs with the values the code had as constants before they became settings.
PRODUCTION_TIMES = {
    "job_lease_seconds": 15.0,
    "job_backoff_base_seconds": 2.0,
    "job_backoff_cap_seconds": 600.0,
    "job_max_attempts": 25,
    "meeting_edit_settle_seconds": 3.0,
    "zoom_timeout_seconds": 15.0,
    "zoom_connect_timeout_seconds": 5.0,
    "zoom_login_ttl_seconds": 600.0,
    "zoom_login_kept_seconds": 86400.0,
    "zoom_refresh_margin_seconds": 120.0,
    "zoom_settings_max_age_seconds": 86400.0,
    "zoom_idle_refresh_seconds": 604800.0,
    "zoom_refresh_check_seconds": 3600.0,
    "telegram_poll_timeout_seconds": 10,
    "telegram_poll_retry_seconds": 1.0,
    "telegram_poll_retry_cap_seconds": 30.0,
    "telegram_conflict_wait_seconds": 5.0,
    "shutdown_drain_seconds": 15.0,
    "telegram_timeout_seconds": 5.0,
    "telegram_overall_per_second": 30.0,
    "telegram_chat_burst": 5,
    "telegram_chat_period_seconds": 5.0,
    "health_check_timeout_seconds": 3.0,
}


def test_time_knobs_are_settings_with_the_production_values_as_defaults_and_documented() -> None:
    settings = load_settings(_env_file=None, telegram_bot_token=TOKEN)
    assert {name: getattr(settings, name) for name in PRODUCTION_TIMES} == PRODUCTION_TIMES
    example = Path(__file__).parents[2] / ".env.example"
    documented = dict(
        line.split("=", 1) for line in example.read_text().splitlines() if line and not line.startswith("#")
    )
    assert set(documented) == {name.upper() for name in Settings.names()}
    for name, value in PRODUCTION_TIMES.items():
        assert float(documented[name.upper()]) == value, name
    shrunk = load_settings(_env_file=None, telegram_bot_token=TOKEN, job_backoff_base_seconds="0.25")
    assert shrunk.job_backoff_base_seconds == 0.25


def test_cipher_rotation_first_key_encrypts_all_decrypt() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = TokenCipher([old]).encrypt("refresh-token")
    rotated = TokenCipher([new, old])
    assert rotated.decrypt(stored) == "refresh-token"
    assert TokenCipher([new]).decrypt(rotated.rotate(stored)) == "refresh-token"
    with pytest.raises(EncryptionKeyError):
        TokenCipher([new]).decrypt(stored)
    with pytest.raises(EncryptionKeyError):
        TokenCipher(["not-a-key"])


def test_start_time_is_utc_with_z() -> None:
    berlin_ten = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert format_start_time(berlin_ten) == "2026-12-01T09:00:00Z"
    body = MeetingSpec("x" * 300, berlin_ten, 45, "Europe/Berlin", "a" * 3000).body()
    assert len(body["topic"]) == 200 and len(body["agenda"]) == 2000 and body["timezone"] == "Europe/Berlin"


def _response(status: int, body: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body.encode(), headers=headers)


def test_zoom_errors_map_to_types_including_xml_bodies() -> None:
    assert isinstance(
        error_from_response(_response(401, '{"code":124,"message":"Invalid access token."}'), "x"),
        ZoomAuthError,
    )
    assert isinstance(
        error_from_response(_response(404, '{"code":3001,"message":"gone"}'), "x"), ZoomNotFound
    )
    assert isinstance(error_from_response(_response(502, "<html>bad gateway</html>"), "x"), ZoomServerError)
    xml = "<?xml version='1.0'?><error><code>300</code><message>Invalid password</message></error>"
    refused = error_from_response(_response(400, xml, **{"content-type": "application/xml"}), "x")
    assert (
        isinstance(refused, ZoomRequestError) and refused.code == 300 and "Invalid password" in str(refused)
    )


def test_rate_limit_retry_after_seconds_date_or_next_utc_midnight() -> None:
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    qps = _response(429, '{"code":429,"message":"per-second"}', **{"retry-after": "3"})
    assert retry_at(qps, daily=False, now=now) == now + timedelta(seconds=3)
    dated = _response(429, "{}", **{"retry-after": "2026-12-02T00:00:00Z"})
    assert retry_at(dated, daily=True, now=now) == datetime(2026, 12, 2, tzinfo=UTC)
    http_date = _response(429, "{}", **{"retry-after": "Wed, 02 Dec 2026 00:00:00 GMT"})
    assert retry_at(http_date, daily=True, now=now) == datetime(2026, 12, 2, tzinfo=UTC)
    daily = error_from_response(
        _response(
            429,
            '{"code":429,"message":"You have exceeded the daily rate limit (100) of Meeting Create/Update '
            'API requests permitted for this particular user."}',
        ),
        "x",
    )
    assert isinstance(daily, ZoomRateLimited) and daily.daily and daily.retry_at is not None
    assert daily.retry_at.hour == 0 and daily.retry_at > datetime.now(UTC)


@pytest.mark.parametrize("wanted", ["23:30", "05:30", "00:00", "12:15"])
@pytest.mark.parametrize(
    "now", [datetime(2027, 3, 28, 1, 30, tzinfo=UTC), datetime(2027, 11, 7, 6, 5, tzinfo=UTC)]
)
def test_the_tests_owner_zone_is_one_where_it_is_the_wanted_time_now(wanted: str, now: datetime) -> None:
    """BOT_TEST_LOCAL_TIME picks a real IANA zone where it is within half an hour of the wanted time."""
    from zoneinfo import ZoneInfo

    from tests.support import owner_zone_at

    local = now.astimezone(ZoneInfo(owner_zone_at(wanted, now)))
    hours, minutes = map(int, wanted.split(":"))
    gap = abs(local.hour * 60 + local.minute - (hours * 60 + minutes))
    assert min(gap, 24 * 60 - gap) <= 30
