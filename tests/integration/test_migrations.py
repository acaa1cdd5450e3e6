"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and run twice."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from storage.db import create_engine, migrate
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
