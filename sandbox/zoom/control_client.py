"""A synchronous client for the Zoom sandbox's control API, for tests, the demo and benchmarks."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_MAX_REDIRECTS = 10


class SandboxControlError(Exception):
    """The control API refused a call (bad parameters, unknown user or meeting)."""


class WebhookNotDelivered(SandboxControlError):
    """The sandbox could not get an answer from the webhook endpoint (refused, timed out, ...)."""


class ZoomControl:
    """Steers a running `ZoomSandbox` over HTTP and reads back what the bot did to it.

    It also plays the person's browser: `open_authorize_link` follows a "Connect Zoom" link through
    zoom.us's consent screen back to the bot's callback, keeping cookies the way a browser would.
    """

    def __init__(self, sandbox_url: str, timeout: float = 30.0) -> None:
        self.url = sandbox_url.rstrip("/")
        self._timeout = timeout
        self._http = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> ZoomControl:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, **query: Any) -> Any:
        params = {name: value for name, value in query.items() if value is not None}
        response = self._http.request(method, f"/sandbox{path}", json=body, params=params)
        if response.is_error:
            raise SandboxControlError(f"{method} /sandbox{path}: {response.status_code} {response.text}")
        return response.json()

    # Zoom users and the browser

    def add_user(self, email: str, timezone: str = "UTC") -> dict[str, Any]:
        """Create a Zoom user (or get the existing one with that email)."""
        user: dict[str, Any] = self._call("POST", "/users", {"email": email, "timezone": timezone})
        return user

    def users(self) -> list[dict[str, Any]]:
        """Every Zoom user of the sandbox."""
        users: list[dict[str, Any]] = self._call("GET", "/users")
        return users

    def change_user_settings(self, email: str, settings: dict[str, Any]) -> dict[str, Any]:
        """Change a Zoom user's own settings, e.g. `{"in_meeting": {"waiting_room": True}}`."""
        result: dict[str, Any] = self._call("POST", "/user-settings", {"email": email, "settings": settings})
        return result

    def login(self, email: str) -> None:
        """Who the browser is logged in as at zoom.us."""
        self._call("POST", "/login", {"email": email})

    def decline_next_consent(self) -> None:
        """The person clicks "Decline" on the next consent screen."""
        self._call("POST", "/consent/decline-next")

    def open_authorize_link(self, url: str) -> httpx.Response:
        """Do what a browser does with a Connect Zoom link; returns the last page (the bot's callback).

        Redirects are followed, with cookies, only between the link's host, the sandbox and loopback; a
        redirect anywhere else (say, back to t.me) is returned as it is instead of leaving the machine.
        """
        local = {httpx.URL(url).host, httpx.URL(self.url).host, *_LOOPBACK}
        with httpx.Client(timeout=self._timeout, trust_env=False) as browser:
            response = browser.get(url)
            for _ in range(_MAX_REDIRECTS):
                follow = response.next_request
                if follow is None or follow.url.host not in local:
                    return response
                response = browser.send(follow)
            return response

    # What happened

    def meetings(self, email: str | None = None) -> list[dict[str, Any]]:
        """Every meeting (of one host), deleted ones included with `deleted: true`."""
        meetings: list[dict[str, Any]] = self._call("GET", "/meetings", email=email)
        return meetings

    def requests(self) -> list[dict[str, Any]]:
        """The log of calls to the emulated Zoom: method, path, query, json, status, user, fault, at."""
        log: list[dict[str, Any]] = self._call("GET", "/requests")
        return log

    def token_calls(self) -> list[dict[str, Any]]:
        """The `/oauth/token` calls: grant_type, status, error, at."""
        calls: list[dict[str, Any]] = self._call("GET", "/token-calls")
        return calls

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery report, including the echoes of API changes."""
        reports: list[dict[str, Any]] = self._call("GET", "/deliveries")
        return reports

    # Fault switches and knobs

    def fault(self, method: str, path_pattern: str, kind: str, count: int | None = 1, **params: Any) -> None:
        """Arm a fault switch for the next `count` requests (None: all) matching method and path glob.

        `skip=N` lets N matching requests through first. Kinds and their parameters are listed in
        `sandbox.zoom.faults.FAULT_KINDS`.
        """
        skip = int(params.pop("skip", 0))
        body = {
            "method": method,
            "path": path_pattern,
            "kind": kind,
            "count": count,
            "skip": skip,
            "params": params,
        }
        self._call("POST", "/faults", body)

    def faults(self) -> list[dict[str, Any]]:
        """The armed fault switches."""
        faults: list[dict[str, Any]] = self._call("GET", "/faults")
        return faults

    def clear_faults(self) -> None:
        """Disarm every fault switch and let go of held requests."""
        self._call("DELETE", "/faults")

    def release_held(self) -> None:
        """Let go of requests held open by hang faults."""
        self._call("POST", "/release-held")

    def set_token_lifetime(self, seconds: int) -> None:
        """Lifetime of access tokens issued from now on."""
        self._settings(token_lifetime=seconds)

    def set_code_ttl(self, seconds: float) -> None:
        """Lifetime of authorization codes issued from now on."""
        self._settings(code_ttl=seconds)

    def set_scopes(self, scopes: str) -> None:
        """Scopes granted by authorizations from now on (space-separated)."""
        self._settings(scopes=scopes)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is expired now."""
        self._call("POST", "/access-tokens/expire")

    def revoke_user_grants(self, email: str) -> None:
        """Revoke every grant of this Zoom user."""
        self._call("POST", "/grants/revoke", {"email": email})

    def set_daily_limit(self, n: int) -> None:
        """Per-user daily cap of meeting create+update calls."""
        self._settings(daily_limit=n)

    def set_daily_retry_after(self, enabled: bool) -> None:
        """Whether the daily-cap 429 carries an ISO `Retry-After`."""
        self._settings(daily_retry_after=enabled)

    def set_qps_limit(self, per_second: int | None) -> None:
        """Per-second limit per rate-limit label; None switches it off."""
        self._settings(qps_limit=per_second)

    def advance_time(self, seconds: float) -> None:
        """Move the sandbox clock forward."""
        self._call("POST", "/clock/advance", {"seconds": seconds})

    def _settings(self, **settings: Any) -> None:
        self._call("POST", "/settings", settings)

    # Webhooks

    def set_webhook_url(self, url: str) -> None:
        """Where the sandbox POSTs events."""
        self._settings(webhook_url=url)

    def set_emit_api_events(self, enabled: bool) -> None:
        """Echo the app's own PATCH/DELETE as webhooks, as real Zoom does."""
        self._settings(emit_api_events=enabled)

    def set_webhook_retry_delays(self, delays: list[float]) -> None:
        """Pauses before re-sending an event that got no 2xx (real Zoom: 300, 1200, 3600 s); [] for none."""
        self._settings(webhook_retry_delays=delays)

    def send_webhook(self, event: str, *, variant: str = "signed", **params: Any) -> httpx.Response:
        """Make `event` happen and deliver it; returns the bot's answer as an httpx.Response.

        Events: `endpoint.url_validation` (`plain_token=` optional; the answer's check is in the
        `x-sandbox-url-validation` header, "passed" or "failed"), `app_deauthorized` (`email=`),
        `meeting.deleted` (`meeting_id=`), `meeting.updated` (`meeting_id=`, `changes={...}`).
        Variants: signed, forged, stale, unsigned, replay.
        """
        body = {"event": event, "variant": variant, "params": params}
        report: dict[str, Any] = self._call("POST", "/webhooks", body)
        if not report["delivered"]:
            raise WebhookNotDelivered(f"{event} to {report['url']}: {report['error']}")
        return _as_response(report)


def _as_response(report: dict[str, Any]) -> httpx.Response:
    headers = dict(report["headers"])
    headers.pop("content-encoding", None)  # the text is already decoded
    headers.pop("content-length", None)
    if "url_validation" in report:
        headers["x-sandbox-url-validation"] = report["url_validation"]
    request = httpx.Request(
        "POST", report["url"], headers=report["sent"]["headers"], content=report["sent"]["body"]
    )
    return httpx.Response(report["status"], headers=headers, text=report["body"], request=request)
