"""The soak test as a benchmark step: `python -m bench.soak [--seed N] [--database sqlite|postgresql]`.

Runs tests/faults/test_soak.py with RUN_SOAK=1 (it is skipped otherwise) and prints its counts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, help="another random fault sequence (SOAK_SEED)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)
    env = {**os.environ, "RUN_SOAK": "1", "BOT_TEST_DATABASE": args.database}
    if args.seed is not None:
        env["SOAK_SEED"] = str(args.seed)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/faults/test_soak.py",
        "-s",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    return subprocess.run(command, env=env, check=False).returncode  # noqa: S603 (our own interpreter)


if __name__ == "__main__":
    sys.exit(main())
