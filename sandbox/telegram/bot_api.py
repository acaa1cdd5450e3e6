"""`/bot{token}/{method}`: authentication, method lookup, injected faults, the envelope and the call log."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.telegram.errors import BotApiError, method_not_found, unauthorized
from sandbox.telegram.params import Params, read_params
from sandbox.telegram.state import SandboxState


@dataclass(frozen=True)
class MethodCall:
    """What a method implementation receives."""

    params: Params
    request: Request


@dataclass(frozen=True)
class Described:
    """A result that comes with a `description`, like setWebhook's "Webhook was set"."""

    result: Any
    description: str


Handler = Callable[[MethodCall], Awaitable[Any]]


class BotApi:
    """The bot-facing HTTP API. Method names are case-insensitive, GET and POST both work."""

    def __init__(self, state: SandboxState, handlers: dict[str, Handler]) -> None:
        self._state = state
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}

    def routes(self) -> list[Route]:
        return [Route("/bot{token}/{method}", self.endpoint, methods=["GET", "POST"])]

    async def endpoint(self, request: Request) -> Response:
        requested = request.path_params["method"]
        name, handler = self._handlers.get(requested.lower(), (requested, None))
        params = Params({})
        try:
            if request.path_params["token"] != self._state.token:
                raise unauthorized()
            if handler is None:
                raise method_not_found()
            params = await read_params(request)
            result = await self._call(name, handler, MethodCall(params, request))
        except BotApiError as error:
            self._state.calls.record(name, params.logged(), error.status, error.description)
            return _error_response(error)
        self._state.calls.record(name, params.logged(), 200, None)
        return _ok_response(result)

    async def _call(self, name: str, handler: Handler, call: MethodCall) -> Any:
        """Apply the injected delay and failure for `name`, then run the method."""
        delay = self._state.faults.delay_for(name)
        if delay > 0:
            await asyncio.sleep(delay)
        failure = self._state.faults.take_failure(name)
        if failure is None:
            return await handler(call)
        if failure.commit:
            await handler(call)
        raise failure.error


def _ok_response(result: Any) -> Response:
    if isinstance(result, Described):
        return JSONResponse({"ok": True, "result": result.result, "description": result.description})
    return JSONResponse({"ok": True, "result": result})


def _error_response(error: BotApiError) -> Response:
    if error.html_body is not None:
        return HTMLResponse(error.html_body, status_code=error.status, headers=error.headers)
    return JSONResponse(error.envelope(), status_code=error.status, headers=error.headers)
