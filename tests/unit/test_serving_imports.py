"""What the serving process does not load: memory is mostly imported code (issue 13, README "Performance").

Alembic (with Mako and Pygments) runs in a child process only when the schema is behind; asyncpg,
PostgreSQL's SQL dialect, icalendar and Authlib (Zoom's OAuth: connecting, refreshing a token) are imported
by the code that needs them; settings are validated without pydantic.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

from alembic.config import Config
from alembic.script import ScriptDirectory

from storage.db import MIGRATIONS, head_revision, known_revisions

NOT_SERVED = (
    "alembic",
    "mako",
    "asyncpg",
    "icalendar",
    "sqlalchemy.dialects.postgresql",
    "authlib",
    "pydantic",
    "pydantic_settings",
)


def loaded_by(code: str) -> list[str]:
    """The modules of NOT_SERVED that a fresh interpreter has loaded after running `code`."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {NOT_SERVED!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_serving_path_imports_none_of_the_libraries_only_rare_paths_need() -> None:
    assert loaded_by("import bot.__main__, bot.app, bot.health, bot.web") == []


def test_the_migration_command_still_loads_alembic() -> None:
    """The probe itself sees an import (else the test above would pass whatever the code imports)."""
    assert "alembic" in loaded_by("import storage.db\nstorage.db._config()")


def test_the_migration_files_read_without_alembic_match_alembic() -> None:
    scripts = ScriptDirectory.from_config(_config())
    expected = {script.revision: follows(script.down_revision) for script in scripts.walk_revisions()}
    assert known_revisions() == expected
    assert head_revision() == scripts.get_current_head()


def follows(down: str | Sequence[str] | None) -> tuple[str, ...]:
    return (down,) if isinstance(down, str) else tuple(down or ())


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
