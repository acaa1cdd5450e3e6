"""Settings read from a given mapping (how tests run the bot inside their own process) and the time knobs
the fast test layer shrinks, at today's production values by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

TOKEN = "123456:" + "A" * 35
OTHER_TOKEN = "654321:" + "B" * 35


def test_settings_from_a_mapping_read_neither_the_environment_nor_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", OTHER_TOKEN)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://elsewhere/db")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LOG_LEVEL=DEBUG\nWEB_PORT=9999\n")

    settings = load_settings(environ={"TELEGRAM_BOT_TOKEN": TOKEN, "REMINDER_MINUTE_SECONDS": "1"})

    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    assert settings.database_url == "sqlite+aiosqlite:///data/bot.db"
    assert settings.log_level == "INFO" and settings.web_port == 8080
    assert settings.reminder_minute_seconds == 1.0


def test_a_bad_value_in_the_mapping_is_one_line_naming_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"^TELEGRAM_CHAT_PERIOD_SECONDS: "):
        load_settings(environ={"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_PERIOD_SECONDS": "0"})


def test_the_knobs_tests_shrink_default_to_todays_values() -> None:
    settings = load_settings(environ={"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.telegram_chat_period_seconds == 5.0
    assert settings.telegram_busy_recheck_seconds == 0.3
