"""Logs as one line per event (text or JSON, with the ids being handled), and the deployment files."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.logs import configure_logging, log_context

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAHsecretsecretsecretsecretsecret0123"


@pytest.fixture
def restore_logging():  # type: ignore[no-untyped-def]
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def lines_of(capsys: pytest.CaptureFixture[str], log_format: str) -> list[str]:
    from bot.settings import load_settings

    settings = load_settings(telegram_bot_token=TOKEN, log_format=log_format)
    configure_logging("INFO", settings)
    log = logging.getLogger("bot.test")
    with log_context(update_id=7, order_id=None):
        with log_context(job_id=3, order_id=12):
            try:
                raise ValueError(f"refused {TOKEN}")
            except ValueError:
                log.exception("Job failed with %s", TOKEN)
        log.info("handled")
    log.info("outside")
    return capsys.readouterr().err.splitlines()


def test_json_logs_are_one_object_per_line_with_the_ids_and_no_secret(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    lines = lines_of(capsys, "json")
    assert len(lines) == 3
    failed, handled, outside = (json.loads(line) for line in lines)
    assert (failed["job_id"], failed["order_id"], failed["update_id"]) == (3, 12, 7)
    assert failed["level"] == "ERROR" and "ValueError" in failed["exception"]
    assert handled["update_id"] == 7 and "job_id" not in handled and "order_id" not in handled
    assert not {"update_id", "order_id", "job_id"} & set(outside)
    assert all(TOKEN not in line and TOKEN.split(":")[1] not in line for line in lines)


def test_text_logs_keep_a_traceback_on_the_line_of_its_event(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    lines = lines_of(capsys, "text")
    assert len(lines) == 3
    assert " ERROR bot.test: Job failed with *** [update_id=7 order_id=12 job_id=3] | Traceback" in lines[0]
    assert lines[1].endswith("INFO bot.test: handled [update_id=7]") and lines[2].endswith("outside")
    assert all(TOKEN.split(":")[1] not in line for line in lines)


def test_compose_runs_postgres_a_migration_and_two_replicas_behind_the_proxy() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "bot-1", "bot-2", "proxy"}
    assert services["migrate"]["command"] == ["python", "-m", "bot", "migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("bot-1", "bot-2"):
        bot = services[name]
        assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert bot["environment"]["TELEGRAM_MODE"] == "webhook"
        assert bot["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://bot:")
        assert bot["environment"]["DATABASE_URL"].endswith("@postgres:5432/bot")
    assert {"bot-1", "bot-2"} == set(services["proxy"]["depends_on"])
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy bot-1:8080 bot-2:8080" in caddyfile and "health_uri /readyz" in caddyfile
    mounted = services["proxy"]["volumes"][0].split(":")[0]
    assert (ROOT / mounted).resolve() == ROOT / "deploy" / "Caddyfile"


def test_the_image_is_slim_non_root_and_checks_readiness() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    user = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user and user[-1] not in ("root", "0")
    assert "HEALTHCHECK" in dockerfile and "/readyz" in dockerfile
    assert dockerfile.rstrip().endswith('CMD ["python", "-m", "bot"]')
    # Each COPY source exists, so the build context has what the image needs.
    for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile, re.M):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), source


def test_the_cli_offers_migrate() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "migrate" in done.stdout
