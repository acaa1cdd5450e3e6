"""Both emulators in a process of their own, so hundreds of simulated people do not slow them down.

In the benchmark's own process the emulators would share one interpreter lock with every customer's
thread, and the bot would wait on an emulator starved by its own callers. `python -m bench.remote_sandbox`
starts them (sandbox.harness.start_sandbox), prints where they listen, and serves until its standard
input closes. The benchmark talks to them over HTTP only, as the bot does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

from sandbox.harness import Credentials, Sandbox, start_sandbox
from sandbox.zoom.control_client import ZoomControl

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Served:
    url: str


@dataclass
class RemoteSandbox:
    """What the benchmark uses of `sandbox.harness.Sandbox`: addresses, credentials, Zoom's controls."""

    telegram_server: Served
    zoom_server: Served
    bot_port: int
    zoom_control: ZoomControl
    credentials: Credentials
    process: subprocess.Popen[str]

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.bot_port}"

    def stop(self) -> None:
        self.zoom_control.close()
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_remote_sandbox() -> Sandbox:
    """The emulators in a child process; typed as a Sandbox for the HTTP-only helpers that take one."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.remote_sandbox"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"bench.remote_sandbox did not start (exit {process.wait()})")
    where = json.loads(line)
    remote = RemoteSandbox(
        telegram_server=Served(where["telegram"]),
        zoom_server=Served(where["zoom"]),
        bot_port=int(where["bot_port"]),
        zoom_control=ZoomControl(where["zoom"]),
        credentials=Credentials(**where["credentials"]),
        process=process,
    )
    return cast(Sandbox, remote)


def main() -> None:
    sandbox = start_sandbox()
    where = {
        "telegram": sandbox.telegram_server.url,
        "zoom": sandbox.zoom_server.url,
        "bot_port": sandbox.bot_port,
        "credentials": asdict(sandbox.credentials),
    }
    print(json.dumps(where), flush=True)
    sys.stdin.read()
    sandbox.stop()


if __name__ == "__main__":
    main()
