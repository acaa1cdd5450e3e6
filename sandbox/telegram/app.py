"""A faithful, in-memory emulator of the Telegram Bot API for the demo, the tests and the benchmarks.

Bot side: `{url}/bot{token}/{method}` as a local Bot API server answers it (see `telegram_methods_*`).
People side and inspection: the control API under `{url}/sandbox/...` (see `telegram_control`), used by
`sandbox.telegram.client`. Run by hand with `python -m sandbox.telegram --port 8081 --token 123:ABC`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.telegram.bot_api import BotApi
from sandbox.telegram.control import ControlApi
from sandbox.telegram.files import FileMethods, FileStore
from sandbox.telegram.methods_messages import MessageMethods
from sandbox.telegram.methods_updates import UpdateMethods
from sandbox.telegram.state import SandboxState


class TelegramSandbox:
    """One emulated bot with its chats, updates, commands and webhook, served as a Starlette app.

    All state lives in memory behind one lock, so the app can be served by uvicorn in one thread while a
    test inspects or drives it from another through `state` (e.g. `state.faults.fail_next(...)`,
    `state.calls.calls()`, `state.users.send(...)`). Long polls and webhook deliveries run in the server's
    event loop. Out of process, `sandbox.telegram.client` offers the same over HTTP.
    """

    def __init__(
        self, bot_token: str, bot_username: str = "sandbox_booking_bot", bot_id: int = 7000000001
    ) -> None:
        self.state = SandboxState.build(bot_token, bot_id, bot_username)
        files = FileMethods(self.state, FileStore())
        handlers = {
            **MessageMethods(self.state).handlers(),
            **UpdateMethods(self.state).handlers(),
            **files.handlers(),
        }
        routes = [*BotApi(self.state, handlers).routes(), *ControlApi(self.state).routes(), *files.routes()]
        self.app = Starlette(routes=routes, lifespan=self._lifespan, exception_handlers={404: _not_found})

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.state.delivery.stop()


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)


def main(argv: list[str] | None = None) -> None:
    """`python -m sandbox.telegram --port N --token T`: serve the emulator until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.telegram", description=__doc__)
    parser.add_argument("--token", required=True, help="the bot token the emulator accepts")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--username", default="sandbox_booking_bot", help="the bot's username")
    parser.add_argument("--bot-id", type=int, default=7000000001)
    args = parser.parse_args(argv)
    sandbox = TelegramSandbox(args.token, args.username, args.bot_id)
    print(
        f"Telegram sandbox on http://{args.host}:{args.port} (bot API at /bot<token>/, control at /sandbox/)"
    )
    sys.stdout.flush()
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_level="warning")
