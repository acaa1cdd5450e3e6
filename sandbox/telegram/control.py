"""The control API under /sandbox: what users do, what the tests inspect, the faults they inject.

Requests and answers are JSON. User actions name the user with
`"user": {"id": 42, "first_name": "Ann", "username": "ann", "language_code": "en"}`.
Errors are `{"error": "..."}` with 400 (bad request), 404 (unknown chat or query) or 409 (something a
Telegram app would not let the user do, e.g. pressing a button that is not there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.telegram.state import SandboxState
from sandbox.telegram.users import UserActionError
from sandbox.telegram.world import User

JSON = dict[str, Any]
Endpoint = Callable[[Request], Awaitable[Any]]
MAX_WAIT = 60.0  # seconds a request for a chat may wait for its next change


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ControlApi:
    """HTTP access to everything a test needs, so the emulator can run in another process."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def routes(self) -> list[Route]:
        post, get, delete = ["POST"], ["GET"], ["DELETE"]
        table: list[tuple[str, Endpoint, list[str]]] = [
            ("/sandbox/send", self.send, post),
            ("/sandbox/sticker", self.sticker, post),
            ("/sandbox/edit", self.edit, post),
            ("/sandbox/press", self.press, post),
            ("/sandbox/block", self.block, post),
            ("/sandbox/chats/{chat_id}", self.chat, get),
            ("/sandbox/chats/{chat_id}/commands", self.commands, get),
            ("/sandbox/callback_queries/{query_id}", self.callback_query, get),
            ("/sandbox/calls", self.calls, get),
            ("/sandbox/calls", self.clear_calls, delete),
            ("/sandbox/faults", self.faults, get),
            ("/sandbox/faults", self.inject_faults, post),
            ("/sandbox/faults", self.clear_faults, delete),
            ("/sandbox/webhook", self.webhook, get),
            ("/sandbox/updates", self.updates, get),
            ("/sandbox/clock", self.advance_clock, post),
            ("/sandbox/config", self.config, get),
            ("/sandbox/config", self.configure, post),
            ("/sandbox/bot", self.bot, get),
        ]
        return [Route(path, _json_endpoint(handler), methods=methods) for path, handler, methods in table]

    # What users do.

    async def send(self, request: Request) -> JSON:
        body = await _body(request)
        person, text = _person(body), _string(body, "text")
        group_id = body.get("group_id")
        if group_id is None:
            message = self._state.users.send(person, text)
        elif isinstance(group_id, int) and group_id < 0:
            message = self._state.users.send_in_group(person, group_id, text)
        else:
            raise ControlError(400, "group_id must be a negative integer")
        return self._done({"message_id": message.message_id, "chat_id": message.chat["id"]})

    async def sticker(self, request: Request) -> JSON:
        message = self._state.users.send_sticker(_person(await _body(request)))
        return self._done({"message_id": message.message_id, "chat_id": message.chat["id"]})

    async def edit(self, request: Request) -> JSON:
        body = await _body(request)
        message = self._state.users.edit(_person(body), _integer(body, "message_id"), _string(body, "text"))
        return self._done({"message_id": message.message_id, "chat_id": message.chat["id"]})

    async def press(self, request: Request) -> JSON:
        body = await _body(request)
        person, message_id = _person(body), _integer(body, "message_id")
        if isinstance(body.get("data"), str):
            query_id = self._state.users.press_data(person, message_id, body["data"])
            return self._done({"callback_query_id": query_id, "url": None})
        pressed = self._state.users.press(person, message_id, _string(body, "label"))
        return self._done({"callback_query_id": pressed.query_id, "url": pressed.url})

    async def block(self, request: Request) -> JSON:
        body = await _body(request)
        blocked = bool(body.get("blocked", True))
        self._state.users.set_blocked(_person(body), blocked)
        return self._done({"blocked": blocked})

    def _done(self, answer: JSON) -> JSON:
        """An action's answer plus `seq`: whatever the bot sends or edits after it has a higher one."""
        return {**answer, "seq": self._state.world.changes()}

    # What tests inspect.

    async def chat(self, request: Request) -> JSON:
        """The chat; with `after` (a `seq`) and `wait` (seconds, at most MAX_WAIT), once something in it was
        sent or edited after `after`, or `wait` ran out: a client waiting for the bot's answer asks once
        instead of polling."""
        chat_id = _chat_id(request)
        after, wait = request.query_params.get("after"), request.query_params.get("wait")
        if after is not None and wait is not None:
            await self._changed(chat_id, int(after), min(float(wait), MAX_WAIT))
        transcript = self._state.world.transcript(chat_id)
        if transcript is None:
            raise ControlError(404, "no such chat: nobody has written to the bot there yet")
        return transcript

    async def _changed(self, chat_id: int, after: int, wait: float) -> None:
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def notify() -> None:  # under the sandbox lock, maybe on another thread
            loop.call_soon_threadsafe(changed.set)

        if not self._state.world.watch(chat_id, after, notify):
            return
        try:
            await asyncio.wait_for(changed.wait(), max(wait, 0.0))
        except TimeoutError:
            pass
        finally:
            self._state.world.unwatch(chat_id, notify)

    async def commands(self, request: Request) -> JSON:
        chat_id = _chat_id(request)
        language = request.query_params.get("language_code", "")
        user_id = request.query_params.get("user_id")
        menus = self._state.commands
        if chat_id < 0 and user_id is not None:
            return {"commands": menus.for_group_member(chat_id, int(user_id), language)}
        return {"commands": menus.for_private_chat(chat_id, language)}

    async def callback_query(self, request: Request) -> JSON:
        query = self._state.callbacks.get(request.path_params["query_id"])
        if query is None:
            raise ControlError(404, "no such callback query")
        return query.as_json()

    async def calls(self, request: Request) -> JSON:
        return {"calls": self._state.calls.calls(request.query_params.get("method"))}

    async def clear_calls(self, request: Request) -> JSON:
        self._state.calls.clear()
        return {}

    async def webhook(self, request: Request) -> JSON:
        config = self._state.updates.webhook()
        return {
            "info": self._state.updates.webhook_info(),
            "secret_token": None if config is None else config.secret_token,
            "attempts": list(self._state.delivery.attempts),
        }

    async def updates(self, request: Request) -> JSON:
        return {"updates": list(self._state.updates.created)}

    async def bot(self, request: Request) -> JSON:
        return {"user": self._state.bot_user}

    # Faults and settings.

    async def faults(self, request: Request) -> JSON:
        return self._state.faults.describe()

    async def inject_faults(self, request: Request) -> JSON:
        body = await _body(request)
        faults = self._state.faults
        if isinstance(body.get("fail_next"), dict):
            failure = body["fail_next"]
            faults.fail_next(
                _string(failure, "method"),
                status=int(failure.get("status", 429)),
                retry_after=failure.get("retry_after"),
                count=int(failure.get("count", 1)),
                description=failure.get("description"),
                commit=bool(failure.get("commit", False)),
            )
        if "flood_limit" in body:
            limit = body["flood_limit"] or {}
            faults.set_flood_limit(limit.get("max_messages"), float(limit.get("per_seconds", 1.0)))
        if "overall_limit" in body:
            limit = body["overall_limit"] or {}
            faults.set_overall_limit(limit.get("max_messages"), float(limit.get("per_seconds", 1.0)))
        if isinstance(body.get("delay"), dict):
            faults.set_delay(float(body["delay"].get("seconds", 0.0)), str(body["delay"].get("method", "*")))
        return faults.describe()

    async def clear_faults(self, request: Request) -> JSON:
        self._state.faults.clear()
        return self._state.faults.describe()

    async def advance_clock(self, request: Request) -> JSON:
        body = await _body(request)
        self._state.clock.advance(float(body.get("seconds", 0.0)))
        return {"time": self._state.clock.time()}

    async def config(self, request: Request) -> JSON:
        policy = self._state.delivery.policy
        return {
            "callback_answer_window": self._state.callbacks.answer_window,
            "privacy_mode": self._state.users.privacy_mode,
            "busy_loop_guard": self._state.updates.busy_loop_guard,
            "webhook_retry": {
                "base_delay": policy.base_delay,
                "max_delay": policy.max_delay,
                "max_attempts": policy.max_attempts,
            },
        }

    async def configure(self, request: Request) -> JSON:
        body = await _body(request)
        state = self._state
        if "callback_answer_window" in body:
            state.callbacks.answer_window = float(body["callback_answer_window"])
        if "privacy_mode" in body:
            state.users.privacy_mode = bool(body["privacy_mode"])
        if "busy_loop_guard" in body:
            state.updates.busy_loop_guard = bool(body["busy_loop_guard"])
        retry = body.get("webhook_retry") or {}
        policy = state.delivery.policy
        policy.base_delay = float(retry.get("base_delay", policy.base_delay))
        policy.max_delay = float(retry.get("max_delay", policy.max_delay))
        policy.max_attempts = int(retry.get("max_attempts", policy.max_attempts))
        return await self.config(request)


def _json_endpoint(handler: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await handler(request))
        except ControlError as error:
            return JSONResponse({"error": str(error)}, status_code=error.status)
        except UserActionError as error:
            return JSONResponse({"error": str(error)}, status_code=409)
        except (TypeError, ValueError) as error:
            return JSONResponse({"error": f"bad request: {error}"}, status_code=400)

    return endpoint


async def _body(request: Request) -> JSON:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ControlError(400, "the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _person(body: JSON) -> User:
    user = body.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), int) or not user.get("first_name"):
        raise ControlError(400, '"user" must be an object with an integer "id" and a "first_name"')
    return User(
        id=user["id"],
        first_name=str(user["first_name"]),
        last_name=user.get("last_name"),
        username=user.get("username"),
        language_code=user.get("language_code"),
    )


def _chat_id(request: Request) -> int:
    """Chat ids in paths may be negative (groups), which Starlette's int convertor does not match."""
    try:
        return int(request.path_params["chat_id"])
    except ValueError as exc:
        raise ControlError(404, "chat ids are integers") from exc


def _string(body: JSON, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise ControlError(400, f'"{name}" must be a string')
    return value


def _integer(body: JSON, name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ControlError(400, f'"{name}" must be an integer')
    return value
