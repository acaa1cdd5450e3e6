"""Availability on real databases: defaults for existing rows after the migration, days off, buffers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from bot.services.availability import Availability
from bot.services.persons import Person, Persons
from storage import repos
from storage.db import MIGRATIONS, create_engine, create_sessionmaker, migrate
from storage.models import DEFAULT_HOURS, OrderRow, PersonRow, ServiceRow

OWNER = Person(7, "Olivia")


def _upgrade_to(revision: str) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    return run


async def test_existing_owners_services_and_orders_get_defaults_and_stay_as_they_were(
    any_database_url: str,
) -> None:
    engine = create_engine(any_database_url)
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade_to("0002"))
        now = datetime(2026, 11, 1, tzinfo=UTC)
        await connection.execute(
            text(
                "INSERT INTO users (id, first_name, owner_menu_set, booking_seq, created_at) "
                "VALUES (7, 'O', false, 0, :t)"
            ),
            {"t": now},
        )
        await connection.execute(
            text(
                "INSERT INTO services "
                "(id, code, owner_id, name, duration_min, timezone, zoom_enabled, created_at) "
                "VALUES (1, 'c', 7, 'S', 60, 'Europe/Berlin', false, :t)"
            ),
            {"t": now},
        )
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        user = await session.get(PersonRow, 7)
        service = await session.get(ServiceRow, 1)
        assert user is not None and user.hours == DEFAULT_HOURS
        assert service is not None and service.hours is None and service.reminder_minutes == [1440, 60]
        assert (service.step_min, service.buffer_min, service.notice_min) == (30, 0, 0)
        assert (service.horizon_days, service.changes_min) == (14, 0)
    await engine.dispose()


async def test_days_off_are_listed_as_runs_with_the_active_orders_on_them(any_database_url: str) -> None:
    engine = create_engine(any_database_url)
    await migrate(engine)
    sessions = create_sessionmaker(engine)
    availability = Availability(sessions, Persons(sessions, "Europe/Berlin"))
    today = await availability.today(OWNER.id)
    first = today + timedelta(days=3)
    await availability.add_days_off(OWNER, f"{first.isoformat()}..{(first + timedelta(days=2)).isoformat()}")
    listed = await availability.add_days_off(OWNER, (first + timedelta(days=1)).isoformat())  # already off
    assert listed.ranges == [(first, first + timedelta(days=2))] and listed.active_orders == 0
    start = datetime(first.year, first.month, first.day, 23, 30, tzinfo=UTC)  # 00:30 the next day in Berlin
    async with sessions.begin() as session:
        session.add(
            ServiceRow(
                id=1,
                code="c",
                owner_id=OWNER.id,
                name="S",
                duration_min=60,
                timezone="Europe/Berlin",
                created_at=start,
                buffer_min=15,
            )
        )
        await session.flush()
        for order_id, status in ((1, "new"), (2, "cancelled")):
            session.add(
                OrderRow(
                    id=order_id, service_id=1, owner_id=OWNER.id, customer_id=OWNER.id, name="n",
                    start_at=start, end_at=start + timedelta(hours=1), duration_min=60,
                    timezone="Europe/Berlin", status=status, version=1, created_at=start, updated_at=start,
                )
            )  # fmt: skip
    counted = await availability.days_off(OWNER.id)
    assert counted.active_orders == 1  # the active one, on a day off in its own time zone
    async with sessions() as session:
        blocked = await repos.blocked_intervals(
            session, OWNER.id, start + timedelta(hours=1), start + timedelta(hours=2)
        )
    assert blocked == [(start, start + timedelta(minutes=75))]  # the service's buffer extends the order
    removed = await availability.remove_days_off(OWNER.id, first, first + timedelta(days=2))
    assert removed.ranges == [] and removed.active_orders == 0
    await engine.dispose()
