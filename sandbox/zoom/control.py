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

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
OK = {"ok": True}


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Call `handler` with the JSON body merged with the query; bad input is 400, unknown things 404."""

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


class ControlEndpoints:
    """`/sandbox/...`: thin JSON wrappers around the `ZoomSandbox` methods of the same names."""

    def __init__(self, sandbox: ZoomSandbox) -> None:
        self._sandbox = sandbox

    def routes(self) -> list[Route]:
        """Every control route."""
        table: list[tuple[str, str, Handler]] = [
            ("/sandbox/users", "GET", self.users),
            ("/sandbox/users", "POST", self.add_user),
            ("/sandbox/login", "POST", self.login),
            ("/sandbox/user-settings", "POST", self.change_user_settings),
            ("/sandbox/consent/decline-next", "POST", self.decline_next_consent),
            ("/sandbox/meetings", "GET", self.meetings),
            ("/sandbox/requests", "GET", self.requests),
            ("/sandbox/token-calls", "GET", self.token_calls),
            ("/sandbox/deliveries", "GET", self.deliveries),
            ("/sandbox/faults", "GET", self.faults),
            ("/sandbox/faults", "POST", self.add_fault),
            ("/sandbox/faults", "DELETE", self.clear_faults),
            ("/sandbox/release-held", "POST", self.release_held),
            ("/sandbox/access-tokens/expire", "POST", self.expire_access_tokens),
            ("/sandbox/grants/revoke", "POST", self.revoke_user_grants),
            ("/sandbox/clock/advance", "POST", self.advance_time),
            ("/sandbox/settings", "POST", self.settings),
            ("/sandbox/webhooks", "POST", self.send_webhook),
        ]
        return [Route(path, _endpoint(handler), methods=[method]) for path, method, handler in table]

    async def change_user_settings(self, body: dict[str, Any]) -> Any:
        """`{"email", "settings": {section: {field: value}}}` → the user's settings now."""
        return self._sandbox.change_user_settings(str(body["email"]), dict(body["settings"]))

    async def users(self, body: dict[str, Any]) -> Any:
        """Every Zoom user."""
        return self._sandbox.users()

    async def add_user(self, body: dict[str, Any]) -> Any:
        """`{"email", "timezone"?}` → the user."""
        return self._sandbox.add_user(str(body["email"]), str(body.get("timezone", "UTC")))

    async def login(self, body: dict[str, Any]) -> Any:
        """`{"email"}`: who is logged in at zoom.us in the browser."""
        self._sandbox.login(str(body["email"]))
        return OK

    async def decline_next_consent(self, body: dict[str, Any]) -> Any:
        """The next consent screen is declined."""
        self._sandbox.decline_next_consent()
        return OK

    async def meetings(self, body: dict[str, Any]) -> Any:
        """`?email=` optional: meetings, deleted ones flagged."""
        return self._sandbox.meetings(body.get("email"))

    async def requests(self, body: dict[str, Any]) -> Any:
        """The request log."""
        return self._sandbox.requests()

    async def token_calls(self, body: dict[str, Any]) -> Any:
        """The `/oauth/token` calls."""
        return self._sandbox.token_calls()

    async def deliveries(self, body: dict[str, Any]) -> Any:
        """Webhook delivery reports."""
        return self._sandbox.deliveries()

    async def faults(self, body: dict[str, Any]) -> Any:
        """The armed fault switches."""
        return self._sandbox.faults.pending()

    async def add_fault(self, body: dict[str, Any]) -> Any:
        """`{"method", "path", "kind", "count"?, "skip"?, "params"?}`: arm a fault switch."""
        count = _optional_int(body.get("count", 1))
        params = dict(body.get("params", {}))
        method, path, kind = str(body["method"]), str(body["path"]), str(body["kind"])
        self._sandbox.faults.add(method, path, kind, count, int(body.get("skip", 0)), **params)
        return OK

    async def clear_faults(self, body: dict[str, Any]) -> Any:
        """Disarm every switch and let held requests go."""
        self._sandbox.clear_faults()
        return OK

    async def release_held(self, body: dict[str, Any]) -> Any:
        """Let held requests go."""
        self._sandbox.release_held()
        return OK

    async def expire_access_tokens(self, body: dict[str, Any]) -> Any:
        """Every access token issued so far expires now."""
        self._sandbox.expire_access_tokens()
        return OK

    async def revoke_user_grants(self, body: dict[str, Any]) -> Any:
        """`{"email"}`: revoke every grant of the user."""
        self._sandbox.revoke_user_grants(str(body["email"]))
        return OK

    async def advance_time(self, body: dict[str, Any]) -> Any:
        """`{"seconds"}`: move the clock forward."""
        self._sandbox.advance_time(float(body["seconds"]))
        return OK

    async def settings(self, body: dict[str, Any]) -> Any:
        """Set any of the knobs listed in `_knobs`."""
        knobs = self._knobs()
        unknown = set(body) - set(knobs)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(knobs)}")
        for name, value in body.items():
            convert, apply = knobs[name]
            apply(convert(value))
        return OK

    def _knobs(self) -> dict[str, tuple[Callable[[Any], Any], Callable[[Any], None]]]:
        sandbox = self._sandbox
        return {
            "token_lifetime": (int, sandbox.set_token_lifetime),
            "code_ttl": (float, sandbox.set_code_ttl),
            "scopes": (str, sandbox.set_scopes),
            "daily_limit": (int, sandbox.set_daily_limit),
            "daily_retry_after": (bool, sandbox.set_daily_retry_after),
            "qps_limit": (_optional_int, sandbox.set_qps_limit),
            "webhook_url": (_optional_str, sandbox.set_webhook_url),
            "emit_api_events": (bool, sandbox.set_emit_api_events),
            "webhook_retry_delays": (list, sandbox.set_webhook_retry_delays),
        }

    async def send_webhook(self, body: dict[str, Any]) -> Any:
        """`{"event", "variant"?, "params"?}` → the delivery report."""
        params = dict(body.get("params", {}))
        return await self._sandbox.send_webhook(
            str(body["event"]), str(body.get("variant", "signed")), **params
        )
