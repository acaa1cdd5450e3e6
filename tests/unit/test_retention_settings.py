"""Retention settings can't be set shorter than Zoom and Telegram may repeat what the bot dedupes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import keep_for
from bot.settings import SettingsError, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi"
ZOOM_RETRIES = timedelta(minutes=5 + 20 + 60)  # Zoom's three retries of a webhook event
TELEGRAM_KEEPS = timedelta(hours=24)  # how long Telegram keeps an update it could deliver again
TELEGRAM_RENUMBERS = timedelta(days=7)  # after a week without updates, ids start at random


def test_defaults_keep_dedupe_keys_as_long_as_repeats_may_come() -> None:
    keep = keep_for(load_settings(_env_file=None, telegram_bot_token=TOKEN))
    assert keep.finished == timedelta(days=30) and keep.finished >= ZOOM_RETRIES
    assert TELEGRAM_KEEPS <= keep.updates < TELEGRAM_RENUMBERS
    assert keep.interval == timedelta(hours=1) and keep.edits == timedelta(hours=1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("retention_days", 0),
        ("processed_updates_hours", 23),
        ("processed_updates_hours", 168),
        ("purge_interval_seconds", 0),
        ("customer_edits", 0),
        ("customer_edits_window_seconds", 0),
    ],
)
def test_a_window_shorter_than_repeats_or_empty_is_refused_naming_it(name: str, value: int) -> None:
    with pytest.raises(SettingsError, match=f"^{name.upper()}:"):
        load_settings(_env_file=None, telegram_bot_token=TOKEN, **{name: value})
