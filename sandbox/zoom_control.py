"""The sandbox's JSON control API under `/sandbox/`: steer the emulator and read what happened."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from sandbox.zoom import ZoomSandbox

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[dict[str, Any]], Awaitable[Any]]


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _settings(sandbox: ZoomSandbox) -> dict[str, tuple[Callable[[Any], Any], Callable[[Any], None]]]:
    """Every knob of `POST /sandbox/settings`: how to read the JSON value and what to set."""
    return {
        "token_lifetime": (int, sandbox.set_token_lifetime),
        "code_ttl": (float, sandbox.set_code_ttl),
        "scopes": (str, sandbox.set_scopes),
        "daily_limit": (int, sandbox.set_daily_limit),
        "daily_retry_after": (bool, sandbox.set_daily_retry_after),
        "qps_limit": (_optional_int, sandbox.set_qps_limit),
        "webhook_url": (_optional_str, sandbox.set_webhook_url),
        "emit_api_events": (bool, sandbox.set_emit_api_events),
    }


def _endpoint(handler: Handler) -> Endpoint:
    """Wrap a handler of the JSON body: its result becomes JSON; bad input 400, unknown things 404."""

    async def endpoint(request: Request) -> Response:
        try:
            raw = await request.body()
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            body.update(request.query_params)
            return JSONResponse(await handler(body))
        except KeyError as exc:
            return JSONResponse({"error": f"not found: {exc}"}, status_code=404)
        except (ValueError, LookupError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return endpoint


def control_routes(sandbox: ZoomSandbox) -> list[Route]:
    """Routes of the control API, bound to one sandbox."""

    async def add_user(body: dict[str, Any]) -> Any:
        return sandbox.add_user(str(body["email"]), str(body.get("timezone", "UTC")))

    async def users(body: dict[str, Any]) -> Any:
        return sandbox.users()

    async def login(body: dict[str, Any]) -> Any:
        sandbox.login(str(body["email"]))
        return {"ok": True}

    async def decline(body: dict[str, Any]) -> Any:
        sandbox.decline_next_consent()
        return {"ok": True}

    async def meetings(body: dict[str, Any]) -> Any:
        return sandbox.meetings(body.get("email"))

    async def requests(body: dict[str, Any]) -> Any:
        return sandbox.requests()

    async def token_calls(body: dict[str, Any]) -> Any:
        return sandbox.token_calls()

    async def deliveries(body: dict[str, Any]) -> Any:
        return sandbox.deliveries()

    async def faults(body: dict[str, Any]) -> Any:
        return sandbox.faults.pending()

    async def add_fault(body: dict[str, Any]) -> Any:
        count = body.get("count", 1)
        params = dict(body.get("params", {}))
        sandbox.faults.add(
            str(body["method"]),
            str(body["path"]),
            str(body["kind"]),
            count,
            int(body.get("skip", 0)),
            **params,
        )
        return {"ok": True}

    async def clear_faults(body: dict[str, Any]) -> Any:
        sandbox.clear_faults()
        return {"ok": True}

    async def release_held(body: dict[str, Any]) -> Any:
        sandbox.release_held()
        return {"ok": True}

    async def expire_tokens(body: dict[str, Any]) -> Any:
        sandbox.expire_access_tokens()
        return {"ok": True}

    async def revoke_grants(body: dict[str, Any]) -> Any:
        sandbox.revoke_user_grants(str(body["email"]))
        return {"ok": True}

    async def advance(body: dict[str, Any]) -> Any:
        sandbox.advance_time(float(body["seconds"]))
        return {"ok": True}

    async def settings(body: dict[str, Any]) -> Any:
        knobs = _settings(sandbox)
        unknown = set(body) - set(knobs)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(knobs)}")
        for name, value in body.items():
            convert, apply = knobs[name]
            apply(convert(value))
        return {"ok": True}

    async def send_webhook(body: dict[str, Any]) -> Any:
        params = dict(body.get("params", {}))
        return await sandbox.send_webhook(str(body["event"]), str(body.get("variant", "signed")), **params)

    table: list[tuple[str, str, Handler]] = [
        ("/sandbox/users", "GET", users),
        ("/sandbox/users", "POST", add_user),
        ("/sandbox/login", "POST", login),
        ("/sandbox/consent/decline-next", "POST", decline),
        ("/sandbox/meetings", "GET", meetings),
        ("/sandbox/requests", "GET", requests),
        ("/sandbox/token-calls", "GET", token_calls),
        ("/sandbox/deliveries", "GET", deliveries),
        ("/sandbox/faults", "GET", faults),
        ("/sandbox/faults", "POST", add_fault),
        ("/sandbox/faults", "DELETE", clear_faults),
        ("/sandbox/release-held", "POST", release_held),
        ("/sandbox/access-tokens/expire", "POST", expire_tokens),
        ("/sandbox/grants/revoke", "POST", revoke_grants),
        ("/sandbox/clock/advance", "POST", advance),
        ("/sandbox/settings", "POST", settings),
        ("/sandbox/webhooks", "POST", send_webhook),
    ]
    return [Route(path, _endpoint(handler), methods=[method]) for path, method, handler in table]
