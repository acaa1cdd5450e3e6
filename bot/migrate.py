"""Start-up migrations in a process of their own, so Alembic never enters the serving process.

`serve` reads the schema's migration without Alembic (`storage.db.schema_is_current`); only when it is
behind does it run `python -m bot.migrate` (this module) and wait for it. The child takes the same
PostgreSQL advisory lock as `python -m bot migrate`, so replicas started together still take turns.
The child's log lines go where the bot's go (it inherits stderr); its outcome is one line on stdout.
"""

from __future__ import annotations

import asyncio
import os
import sys

from storage.db import SchemaTooNew

# The child's exit codes, as `python -m bot migrate` uses them.
DONE, FAILED, TOO_NEW = 0, 1, 2


class MigrationFailed(Exception):
    """The child process could not bring the schema to the newest migration."""


async def migrate_in_child(database_url: str, log_level: str, log_format: str) -> None:
    """Run the migrations in `python -m bot.migrate` and wait; raises `SchemaTooNew` or `MigrationFailed`."""
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": log_level, "LOG_FORMAT": log_format}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.migrate",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    outcome = out.decode(errors="replace").strip()
    if child.returncode == TOO_NEW:
        raise SchemaTooNew(outcome)
    if child.returncode != DONE:
        raise MigrationFailed(outcome or f"the migration process ended with {child.returncode}")


def main() -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.logs import configure_logging
    from storage.db import create_engine, migrate

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), log_format=os.environ.get("LOG_FORMAT", "text"))

    async def run(url: str) -> None:
        engine = create_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(run(os.environ["DATABASE_URL"]))
    except SchemaTooNew as exc:
        print(exc)
        return TOO_NEW
    except (OSError, SQLAlchemyError) as exc:
        print(f"could not migrate ({type(exc).__name__}: {exc})")
        return FAILED
    return DONE


if __name__ == "__main__":
    sys.exit(main())
