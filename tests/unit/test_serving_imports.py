"""What the serving process does not load: memory is mostly imported code (issue 13, README "Performance").

Alembic (with Mako and Pygments) runs in a child process only when the schema is behind; asyncpg,
PostgreSQL's SQL dialect, icalendar and Authlib (Zoom's OAuth: connecting, refreshing a token) are imported
by the code that needs them; settings are validated without pydantic. `python -m bot` also keeps httpx's
command line (click, Pygments) and python-telegram-bot's import of `cryptography` out (`bot/imports.py`):
the tokens at rest are Fernet tokens made by `bot/fernet.py` on the OpenSSL that Python's `ssl` loads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

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
    "cryptography",
    "pygments",
    "httpx._main",
)
# What `python -m bot` leaves out of the libraries it does import: only in the serving process.
LEFT_OUT_BY_RUN = ("cryptography", "pygments", "httpx._main")


def loaded_by(code: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> list[str]:
    """The modules of NOT_SERVED that a fresh interpreter has loaded after running `code`."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in {NOT_SERVED!r} if sys.modules.get(m) is not None)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=cwd,
        env=env,
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_serving_path_imports_none_of_the_libraries_only_rare_paths_need() -> None:
    left_out = set(LEFT_OUT_BY_RUN)
    assert set(loaded_by("import bot.__main__, bot.app, bot.health, bot.web")) <= left_out


def test_running_the_bot_imports_neither_cryptography_nor_httpx_command_line(tmp_path: Path) -> None:
    """`run_bot` up to reading the settings (none here: it stops there), with everything it imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZOOM_"))}
    code = "import bot.__main__\nassert bot.__main__.run_bot() == 2\nimport bot.app, bot.health, bot.web"
    assert loaded_by(code, cwd=tmp_path, env=env) == []


def test_the_probe_sees_what_telegram_imports_without_the_serving_prelude() -> None:
    """Without `bot.imports`, PTB does import cryptography (else the test above proves nothing)."""
    assert "cryptography" in loaded_by("import telegram")


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
