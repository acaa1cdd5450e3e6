"""What an operator sees of the running bot: /metrics, /readyz, `python -m bot migrate`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sandbox.harness import BotProcess, Sandbox, bot_environment
from sandbox.telegram.client import TelegramControl
from tests.support import POSTGRES_URL, fresh_database
from tests.support.databases import postgres_available
from tests.support.journeys import has_join, order, person, zoom_service
from tests.support.waiting import eventually

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(bot: BotProcess) -> Samples:
    """GET /metrics parsed by prometheus_client's own parser: value per (sample name, labels)."""
    answer = httpx.get(f"{bot.web_url}/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_an_order_its_calls_and_the_time_to_its_link(sandbox: Sandbox, bot: BotProcess) -> None:
    owner, customer = person(sandbox, 501, "Olga"), person(sandbox, 502, "Carl")
    shop = zoom_service(sandbox, owner, 30, "Coaching")
    before = scrape(bot)
    assert value(before, "bot_orders_total", event="placed") == 0
    with TelegramControl(sandbox.telegram_server.url) as telegram:
        telegram.fail_next("sendMessage", 429, retry_after=1)  # the owner's card waits once
        order(customer, shop.code)
    customer.wait_for(has_join, timeout=20, description="the Join button in the customer's chat")
    owner.wait_for(has_join, timeout=20, description="the Join button in the owner's chat")

    def card_sent() -> Samples | None:
        samples = scrape(bot)
        return samples if value(samples, "bot_jobs", kind="send", state="done") >= 1 else None

    after = eventually(card_sent, 10, "the owner's card sent")
    assert value(after, "bot_orders_total", event="placed") == 1
    assert value(after, "bot_orders_total", event="cancelled") == 0
    create = {"method": "POST /users/me/meetings", "outcome": "ok"}
    assert value(after, "bot_zoom_requests_total", **create) == 1
    sent = value(after, "bot_telegram_requests_total", method="sendMessage", outcome="ok")
    assert sent > value(before, "bot_telegram_requests_total", method="sendMessage", outcome="ok")
    assert value(after, "bot_telegram_requests_total", method="sendMessage", outcome="retry_after") == 1
    assert value(after, "bot_retry_after_total", service="telegram") == 1
    assert value(after, "bot_confirm_to_join_seconds_count") == 1
    assert 0 < value(after, "bot_confirm_to_join_seconds_sum") < 60
    assert value(after, "bot_jobs", kind="meeting_sync", state="done") == 1
    done_sync = frozenset({("kind", "meeting_sync"), ("state", "done")})
    assert ("bot_jobs_oldest_age_seconds", done_sync) not in after  # done jobs have no age
    assert all("token" not in str(labels).lower() for _, labels in after), "a label carries the token"


def admin_run(statement: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def readiness(bot: BotProcess) -> tuple[int, str]:
    answer = httpx.get(f"{bot.web_url}/readyz", timeout=10)
    return answer.status_code, str(answer.json().get("reason", ""))


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not reachable at TEST_POSTGRES_URL")
def test_readyz_is_503_while_the_database_refuses_connections_and_200_again_after(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    with fresh_database("postgresql", tmp_path) as url:
        name = url.rsplit("/", 1)[1]
        bot = BotProcess.in_folder(sandbox, bot_environment(sandbox, url), tmp_path)
        bot.start()
        try:
            eventually(lambda: readiness(bot)[0] == 200, 15, "ready after start-up")
            # The database goes away: no new connections, the open ones cut.
            admin_run(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin_run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")  # noqa: S608

            def refused() -> str | None:
                status, reason = readiness(bot)
                return reason if status == 503 else None

            reason = eventually(refused, 15, "503 without the database")
            assert reason == "the database does not answer"
            assert httpx.get(f"{bot.web_url}/healthz", timeout=10).status_code == 503
            admin_run(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            eventually(lambda: readiness(bot)[0] == 200, 20, "ready again once the database is back")
        finally:
            admin_run(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            bot.stop()


def run_bot(bot: BotProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=bot.cwd,
        env=bot.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_schema_newer_than_the_code_stops_start_up_with_one_line(sandbox: Sandbox, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    bot = BotProcess.in_folder(sandbox, bot_environment(sandbox, url), tmp_path)
    migrated = run_bot(bot, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "newest migration" in migrated.stdout

    async def from_the_future() -> None:
        import aiosqlite

        async with aiosqlite.connect(tmp_path / "bot.db") as db:
            await db.execute("UPDATE alembic_version SET version_num = '0099_from_a_newer_bot'")
            await db.commit()

    asyncio.run(from_the_future())
    for args in ((), ("migrate",)):
        done = run_bot(bot, *args)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
        assert lines[-1].startswith(
            "Database error: the database schema is at migration 0099_from_a_newer_bot, newer than this "
            "version of the bot knows (its newest is "
        ) and lines[-1].endswith("); run the newer version"), lines
