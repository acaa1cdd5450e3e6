"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and run twice."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from bot.migrate import migrate_in_child
from storage.db import (
    SchemaTooNew,
    create_engine,
    head_revision,
    migrate,
    schema_is_current,
    schema_revision,
)
from storage.models import Base


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
