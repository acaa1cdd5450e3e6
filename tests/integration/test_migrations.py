"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and run twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, delete, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from bot.migrate import migrate_in_child
from storage.db import (
    MIGRATIONS,
    SchemaTooNew,
    create_engine,
    create_sessionmaker,
    head_revision,
    migrate,
    schema_is_current,
    schema_revision,
)
from storage.models import Base, JobRow, OrderRow, PersonRow, ServiceRow


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_models(any_database_url: str) -> None:
    engine = create_engine(any_database_url)
    await migrate(engine)
    await migrate(engine)  # idempotent: a restart runs it again
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    await engine.dispose()
    assert differences == []


async def test_start_up_migrates_in_a_child_process_only_when_the_schema_is_behind(
    any_database_url: str,
) -> None:
    """`serve` checks the schema without Alembic and runs `python -m bot.migrate` only when it is behind;
    a schema newer than the code is refused the same way by the check and by the child."""
    engine = create_engine(any_database_url)
    try:
        assert await schema_is_current(engine) is False
        await migrate_in_child(any_database_url, "WARNING", "text")
        assert await schema_is_current(engine) is True
        assert await schema_revision(engine) == head_revision()
        await migrate_in_child(any_database_url, "WARNING", "text")  # nothing to do, still fine
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_a_newer_bot'"))
        with pytest.raises(SchemaTooNew) as by_check:
            await schema_is_current(engine)
        with pytest.raises(SchemaTooNew) as by_child:
            await migrate_in_child(any_database_url, "WARNING", "text")
    finally:
        await engine.dispose()
    assert str(by_check.value) == str(by_child.value)
    assert str(by_check.value).startswith(
        "the database schema is at migration 0099_from_a_newer_bot, newer than"
    )


def _to(revision: str, *, down: bool = False) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    return run


def _order(order_id: int, customer_id: int, now: datetime) -> dict[str, object]:
    return {
        "id": order_id,
        "service_id": 1,
        "owner_id": 7,
        "customer_id": customer_id,
        "name": f"Order {order_id}",
        "start_at": now,
        "end_at": now + timedelta(minutes=30),
        "duration_min": 30,
        "timezone": "UTC",
        "status": "new",
        "created_at": now,
        "updated_at": now,
    }


def _referred_tables(connection: Connection, table: str) -> set[str]:
    return {key["referred_table"] for key in inspect(connection).get_foreign_keys(table)}


async def test_users_become_persons_with_their_rows_and_the_foreign_keys_still_hold(
    any_database_url: str,
) -> None:
    """0011_persons renames the table users on a database with data: the rows stay, the foreign keys of
    services and orders point at persons and are still enforced, and the downgrade gives users back."""
    now = datetime(2026, 11, 1, 10, tzinfo=UTC)
    engine = create_engine(any_database_url)
    async with engine.begin() as connection:
        await connection.run_sync(_to("0010_customer_edits"))
        for person_id, name in ((7, "Olivia"), (8, "Alice")):
            await connection.execute(
                text(
                    "INSERT INTO users (id, first_name, owner_menu_set, booking_seq, created_at) "
                    "VALUES (:id, :name, false, 0, :t)"
                ),
                {"id": person_id, "name": name, "t": now},
            )
        await connection.execute(
            insert(ServiceRow).values(
                id=1, code="c", owner_id=7, name="S", duration_min=30, timezone="UTC", created_at=now
            )
        )
        await connection.execute(insert(OrderRow).values(_order(1, 8, now)))
    await migrate(engine)
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert "persons" in tables and "users" not in tables
        for table in ("services", "orders", "days_off", "zoom_connections"):
            assert await connection.run_sync(_referred_tables, table) == {"persons"} | (
                {"services"} if table == "orders" else set()
            )
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        assert [
            (p.id, p.first_name) for p in await session.scalars(select(PersonRow).order_by(PersonRow.id))
        ] == [
            (7, "Olivia"),
            (8, "Alice"),
        ]
        order = await session.get(OrderRow, 1)
        assert order is not None and (order.owner_id, order.customer_id) == (7, 8)
        await session.execute(insert(OrderRow).values(_order(2, 8, now + timedelta(hours=1))))
    with pytest.raises(IntegrityError):  # a customer who is not a person is refused, as before
        async with sessions.begin() as session:
            await session.execute(insert(OrderRow).values(_order(3, 999, now + timedelta(hours=2))))
    with pytest.raises(IntegrityError):  # and a person with orders cannot be deleted
        async with sessions.begin() as session:
            await session.execute(delete(PersonRow).where(PersonRow.id == 8))
    async with engine.begin() as connection:
        await connection.run_sync(_to("0010_customer_edits", down=True))
        names = await connection.execute(text("SELECT first_name FROM users ORDER BY id"))
        assert [row[0] for row in names] == ["Olivia", "Alice"]
        assert await connection.run_sync(_referred_tables, "orders") == {"users", "services"}
    await engine.dispose()


async def test_jobs_queued_before_get_their_chat_from_the_payload(any_database_url: str) -> None:
    """0013_job_chat fills jobs.chat_id from each queued job's payload, so a claim keeps the chat's order
    for jobs queued by the version before; a payload without a numeric chat leaves it empty."""
    now = datetime(2026, 11, 1, 10, tzinfo=UTC)
    engine = create_engine(any_database_url)
    payloads = {"a": {"chat_id": 5_000_000_001, "card_role": "owner"}, "b": {}, "c": {"chat_id": "odd"}}
    async with engine.begin() as connection:
        await connection.run_sync(_to("0012_card_shown"))
        for key, payload in payloads.items():
            await connection.execute(
                text(
                    "INSERT INTO jobs (kind, key, payload, progress, status, attempts, run_at, created_at, "
                    "updated_at) VALUES ('send', :key, :payload, '{}', 'pending', 0, :t, :t, :t)"
                ),
                {"key": key, "payload": json.dumps(payload), "t": now},
            )
    await migrate(engine)
    async with create_sessionmaker(engine)() as session:
        rows = await session.execute(select(JobRow.key, JobRow.chat_id).order_by(JobRow.key))
        assert rows.all() == [("a", 5_000_000_001), ("b", None), ("c", None)]
    async with engine.begin() as connection:
        await connection.run_sync(_to("0012_card_shown", down=True))
        columns = await connection.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("jobs")}
        )
        assert "chat_id" not in columns
    await engine.dispose()
