"""How settings are read without pydantic (issue 13): the environment over `.env`, names in any case, text
converted to each setting's type, and every bad value refused in one line naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SecretStr, SettingsError, load_settings

TOKEN = "123456:" + "A" * 35


def test_the_environment_wins_over_dotenv_and_names_match_in_any_case(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f'TELEGRAM_BOT_TOKEN="{TOKEN}"\n# a comment\nexport WEB_PORT=9001\nLOG_LEVEL=debug\n')
    monkeypatch.setenv("web_port", "9002")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("LOG_LEVEL", raising=False)

    settings = load_settings(_env_file=dotenv)

    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    assert settings.web_port == 9002
    assert settings.log_level == "DEBUG"


def test_text_becomes_the_settings_type_and_typed_values_are_kept() -> None:
    settings = load_settings(
        environ={"TELEGRAM_BOT_TOKEN": TOKEN, "WEB_PORT": " 8443 ", "JOB_LEASE_SECONDS": "2.5"},
        telegram_chat_burst=7,
        zoom_client_secret=SecretStr("s3cret"),
        telegram_mode="webhook",
        telegram_webhook_secret="w3bh00k",
    )
    assert (settings.web_port, settings.job_lease_seconds, settings.telegram_chat_burst) == (8443, 2.5, 7)
    assert isinstance(settings.job_lease_seconds, float)
    assert settings.zoom_client_secret.get_secret_value() == "s3cret"
    assert settings.telegram_webhook_secret == SecretStr("w3bh00k")
    assert settings.encryption_key is None and settings.zoom_configured is False
    assert "s3cret" not in repr(settings) and "w3bh00k" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEB_PORT", "80a", "Input should be a valid integer"),
        ("WEB_PORT", "0", "Input should be greater than or equal to 1"),
        ("WEB_PORT", "65536", "Input should be less than or equal to 65535"),
        ("JOB_LEASE_SECONDS", "soon", "Input should be a valid number"),
        ("JOB_LEASE_SECONDS", "nan", "Input should be a valid number"),
        ("JOB_LEASE_SECONDS", "0", "Input should be greater than 0"),
        ("PROCESSED_UPDATES_HOURS", "168", "Input should be less than 168"),
        ("TELEGRAM_MODE", "push", "Input should be 'polling' or 'webhook'"),
        ("LOG_FORMAT", "XML", "Input should be 'text' or 'json'"),
        ("PUBLIC_URL", "ftp://x", "must be an http(s) URL"),
        ("TELEGRAM_BOT_TOKEN", "nope", "must look like 123456:ABC-DEF"),
        ("TELEGRAM_WEBHOOK_SECRET", "a b", "must be 1-256 characters"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_the_setting(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={"TELEGRAM_BOT_TOKEN": TOKEN, name: value})
    assert str(refused.value).startswith(f"{name}: {message}")
    assert "\n" not in str(refused.value) and value not in str(refused.value).split(":", 1)[0]


def test_urls_lose_their_trailing_slash() -> None:
    settings = load_settings(environ={"TELEGRAM_BOT_TOKEN": TOKEN, "PUBLIC_URL": "https://bot.example/"})
    assert settings.public_url == "https://bot.example"
    assert settings.oauth_redirect_uri == "https://bot.example/zoom/oauth/callback"
