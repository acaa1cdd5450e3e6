"""The Zoom emulator, driven over real HTTP on loopback by httpx, authlib and a tiny fake bot."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.zoom.errors import ZoomGrantError
from bot.zoom.oauth import ZoomOAuth, new_code_verifier
from sandbox.server import ServedApp, free_port
from sandbox.zoom import ZoomSandbox
from sandbox.zoom.control_client import SandboxControlError, ZoomControl
from tests.support.waiting import wait_until

CLIENT_ID = "sandboxClientId"
CLIENT_SECRET = "sandbox-client-secret"
WEBHOOK_SECRET = "sandbox-webhook-secret"
SCOPE = (
    "meeting:read:meeting meeting:write:meeting meeting:update:meeting user:read:user user:read:email "
    "user:read:settings"
)
WITHOUT_SETTINGS = SCOPE.removesuffix(" user:read:settings")
LIST_ITEM_KEYS = "uuid id host_id topic type start_time duration timezone agenda created_at join_url"
DEAUTHORIZED_KEYS = "user_data_retention account_id user_id signature deauthorization_time client_id"
INVALID_TOKEN = {"reason": "Invalid Token!", "error": "invalid_grant"}
INVALID_CODE = {"reason": "Invalid authorization code", "error": "invalid_grant"}
DAILY_MESSAGE = (
    "You have exceeded the daily rate limit (2) of Meeting Create/Update API requests permitted for "
    "this particular user. You may resume these requests at GMT 00:00:00."
)


def zoom_signature_ok(body: bytes, headers: Any, now: float) -> bool:
    """The §4.2 check a receiver does: HMAC over `v0:{ts}:{raw body}` and a 5-minute window."""
    timestamp = headers.get("x-zm-request-timestamp", "")
    signature = headers.get("x-zm-signature", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > 300:
        return False
    message = f"v0:{timestamp}:{body.decode()}".encode()
    expected = "v0=" + hmac.new(WEBHOOK_SECRET.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@dataclass
class FakeBot:
    """The app side: a Connect link, the OAuth callback (authlib's async client) and a webhook endpoint."""

    zoom_url: str = ""
    redirect_uri: str = ""
    verifiers: dict[str, str] = field(default_factory=dict)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0  # how many of the next events to answer with 500

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/connect", self.connect),
                Route("/zoom/callback", self.callback),
                Route("/webhook", self.webhook, methods=["POST"]),
                Route("/to-telegram", self.to_telegram),
            ]
        )

    async def connect(self, request: Request) -> Response:
        verifier, state = generate_token(64), generate_token(32)
        url = prepare_grant_uri(
            f"{self.zoom_url}/oauth/authorize",
            CLIENT_ID,
            "code",
            redirect_uri=self.redirect_uri,
            state=state,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        self.verifiers[state] = verifier
        return RedirectResponse(url, status_code=302)

    async def callback(self, request: Request) -> Response:
        if "error" in request.query_params:
            return HTMLResponse(f"declined: {request.query_params['error']}")
        verifier = self.verifiers.pop(request.query_params["state"])
        body = prepare_token_request(
            "authorization_code",
            code=request.query_params["code"],
            redirect_uri=self.redirect_uri,
            code_verifier=verifier,
        )
        async with httpx.AsyncClient(trust_env=False) as client:
            answer = await client.post(
                f"{self.zoom_url}/oauth/token",
                content=body,
                auth=httpx.BasicAuth(CLIENT_ID, CLIENT_SECRET),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        answer.raise_for_status()
        self.tokens.append(answer.json())
        return HTMLResponse("Zoom connected")

    async def to_telegram(self, request: Request) -> Response:
        return RedirectResponse("https://t.me/sandbox_bot?start=done", status_code=302)

    async def webhook(self, request: Request) -> Response:
        body = await request.body()
        self.received.append({"body": body, "headers": dict(request.headers)})
        if not zoom_signature_ok(body, request.headers, time.time()):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        event = json.loads(body)
        if event["event"] == "endpoint.url_validation":
            plain = event["payload"]["plainToken"]
            digest = hmac.new(WEBHOOK_SECRET.encode(), plain.encode(), hashlib.sha256).hexdigest()
            return JSONResponse({"plainToken": plain, "encryptedToken": digest})
        if self.failures > 0:
            self.failures -= 1
            return Response(status_code=500)
        return Response(status_code=204)


@dataclass
class World:
    bot: FakeBot
    sandbox: ZoomSandbox
    zoom: str
    control: ZoomControl

    @property
    def redirect_uri(self) -> str:
        return self.bot.redirect_uri


@pytest.fixture
def world() -> Iterator[World]:
    bot = FakeBot()
    bot_server = ServedApp(bot.app())
    bot.redirect_uri = f"{bot_server.url}/zoom/callback"
    sandbox = ZoomSandbox(
        CLIENT_ID, CLIENT_SECRET, bot.redirect_uri, WEBHOOK_SECRET, f"{bot_server.url}/webhook"
    )
    with bot_server, ServedApp(sandbox.app) as zoom_server, ZoomControl(zoom_server.url) as control:
        bot.zoom_url = zoom_server.url
        yield World(bot, sandbox, zoom_server.url, control)
        sandbox.release_held()


# OAuth helpers: what a browser and a plain HTTP client would do.


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize(world: World, **overrides: str) -> httpx.Response:
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": world.redirect_uri}
    params.update(overrides)
    return httpx.get(f"{world.zoom}/oauth/authorize", params=params)


def redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302
    query = parse_qs(urlparse(response.headers["location"]).query)
    return {name: values[0] for name, values in query.items()}


def exchange(world: World, code: str, **extra: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": world.redirect_uri, **extra}
    return httpx.post(f"{world.zoom}/oauth/token", data=data, auth=(CLIENT_ID, CLIENT_SECRET))


def refresh(world: World, refresh_token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return httpx.post(f"{world.zoom}/oauth/token", data=data, auth=(CLIENT_ID, CLIENT_SECRET))


def pkce_code(world: World, verifier: str) -> str:
    return redirect_params(authorize(world, code_challenge=s256(verifier), code_challenge_method="S256"))[
        "code"
    ]


def connect(world: World) -> dict[str, Any]:
    verifier = generate_token(64)
    response = exchange(world, pkce_code(world, verifier), code_verifier=verifier)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def api(world: World, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{world.zoom}/v2", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def create(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/users/me/meetings", json={"topic": "Consultation", "duration": 30, **body})


def future(days: int = 3) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


# OAuth


def test_a_person_connects_through_the_bot_with_authlib_and_pkce(world: World) -> None:
    page = world.control.open_authorize_link(f"{bot_url(world)}/connect")
    assert page.status_code == 200 and page.text == "Zoom connected"
    token = world.bot.tokens[0]
    assert token["token_type"] == "bearer" and token["expires_in"] == 3599 and token["scope"] == SCOPE
    assert token["api_url"] == "https://api.zoom.us"
    with api(world, token["access_token"]) as client:
        assert client.get("/users/me").json()["email"] == "owner@example.com"
    calls = [(c["grant_type"], c["status"]) for c in world.control.token_calls()]
    assert calls == [("authorization_code", 200)]


def bot_url(world: World) -> str:
    return world.redirect_uri.removesuffix("/zoom/callback")


def test_declined_consent_redirects_with_access_denied(world: World) -> None:
    world.control.decline_next_consent()
    assert world.control.open_authorize_link(f"{bot_url(world)}/connect").text == "declined: access_denied"
    assert redirect_params(authorize(world, state="s1"))["state"] == "s1"  # the next consent is granted


def test_the_browser_does_not_leave_the_machine(world: World) -> None:
    page = world.control.open_authorize_link(f"{bot_url(world)}/to-telegram")
    assert page.status_code == 302 and page.headers["location"].startswith("https://t.me/")


async def test_the_bots_own_oauth_client_exchanges_and_refreshes(world: World) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        oauth = ZoomOAuth(http, world.zoom, CLIENT_ID, CLIENT_SECRET, world.redirect_uri)
        verifier = new_code_verifier()
        url = oauth.authorize_url("state-1", verifier)
        location = (await http.get(url)).headers["location"]
        code = parse_qs(urlparse(location).query)["code"][0]
        token = await oauth.exchange_code(code, verifier)
        renewed = await oauth.refresh(token.refresh_token)
        assert renewed.refresh_token != token.refresh_token and renewed.access_token != token.access_token
        with pytest.raises(ZoomGrantError):
            await oauth.refresh(token.refresh_token)  # rotated: the old one is dead at once
    calls = [c["grant_type"] for c in world.control.token_calls()]
    assert calls == ["authorization_code", "refresh_token", "refresh_token"]


def test_state_is_echoed_verbatim_and_omitted_when_absent(world: World) -> None:
    state = "a.b-c_d~e"
    assert redirect_params(authorize(world, state=state))["state"] == state
    assert "state" not in redirect_params(authorize(world))


def test_wrong_or_missing_pkce_verifier_is_invalid_grant(world: World) -> None:
    verifier = generate_token(64)
    for attempt in ({"code_verifier": generate_token(64)}, {}):
        response = exchange(world, pkce_code(world, verifier), **attempt)
        assert response.status_code == 400
        assert response.json() == INVALID_CODE


def test_plain_pkce_is_the_default_method(world: World) -> None:
    code = redirect_params(authorize(world, code_challenge="plain-verifier-" + "x" * 40))["code"]
    assert exchange(world, code, code_verifier="plain-verifier-" + "x" * 40).status_code == 200


def test_code_is_single_use(world: World) -> None:
    code = redirect_params(authorize(world))["code"]
    assert exchange(world, code).status_code == 200
    again = exchange(world, code)
    assert again.status_code == 400
    assert again.json() == INVALID_CODE


def test_code_expires_after_five_minutes(world: World) -> None:
    code = redirect_params(authorize(world))["code"]
    world.control.advance_time(301)
    assert exchange(world, code).json() == INVALID_CODE


def test_code_ttl_is_a_knob(world: World) -> None:
    world.control.set_code_ttl(0.2)
    code = redirect_params(authorize(world))["code"]
    world.control.advance_time(0.3)
    assert exchange(world, code).status_code == 400


def test_code_is_bound_to_the_redirect_uri(world: World) -> None:
    code = redirect_params(authorize(world))["code"]
    response = exchange(world, code, redirect_uri="http://127.0.0.1:1/elsewhere")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"redirect_uri": "http://127.0.0.1:1/evil"}, "Redirect URI mismatch."),
        ({"client_id": "someone-else"}, "Invalid client_id."),
        ({"response_type": "token"}, "Unsupported response type."),
        ({"scope": "meeting:write:meeting"}, "Invalid scopes"),
    ],
)
def test_authorize_refuses_with_an_error_page_not_a_redirect(
    world: World, overrides: dict[str, str], text: str
) -> None:
    response = authorize(world, **overrides)
    assert response.status_code == 400 and "location" not in response.headers
    assert text in response.text
    if "redirect_uri" in overrides:
        assert "4709" in response.text


def test_token_endpoint_requires_basic_auth(world: World) -> None:
    code = redirect_params(authorize(world))["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": world.redirect_uri}
    for auth in ((CLIENT_ID, "wrong"), None):
        response = httpx.post(f"{world.zoom}/oauth/token", data=data, auth=auth)
        assert response.status_code == 400
        assert response.json() == {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
    credentials_in_body = {**data, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    in_body = httpx.post(f"{world.zoom}/oauth/token", data=credentials_in_body)
    assert in_body.json()["error"] == "invalid_client"


def test_token_endpoint_reads_query_parameters_too(world: World) -> None:
    code = redirect_params(authorize(world))["code"]
    params = {"grant_type": "authorization_code", "code": code, "redirect_uri": world.redirect_uri}
    response = httpx.post(f"{world.zoom}/oauth/token", params=params, auth=(CLIENT_ID, CLIENT_SECRET))
    assert response.status_code == 200


def test_unsupported_grant_type(world: World) -> None:
    response = httpx.post(
        f"{world.zoom}/oauth/token", data={"grant_type": "password"}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert response.status_code == 400
    assert response.json() == {"reason": "unsupported grant type", "error": "unsupported_grant_type"}


def test_refresh_rotates_and_the_old_refresh_token_dies_at_once(world: World) -> None:
    first = connect(world)
    second = refresh(world, first["refresh_token"]).json()
    reuse = refresh(world, first["refresh_token"])
    assert reuse.status_code == 400
    assert reuse.json() == INVALID_TOKEN
    with api(world, first["access_token"]) as old, api(world, second["access_token"]) as new:
        assert old.get("/users/me").status_code == 200  # the old access token lives until its own expiry
        assert new.get("/users/me").status_code == 200
    assert refresh(world, second["refresh_token"]).status_code == 200
    grants = [c["grant_type"] for c in world.control.token_calls() if c["status"] == 200]
    assert grants == ["authorization_code", "refresh_token", "refresh_token"]


def test_a_new_authorization_revokes_the_previous_grant(world: World) -> None:
    first = connect(world)
    second = connect(world)
    assert refresh(world, first["refresh_token"]).json()["error"] == "invalid_grant"
    with api(world, first["access_token"]) as old, api(world, second["access_token"]) as new:
        assert old.get("/users/me").status_code == 401
        assert new.get("/users/me").status_code == 200


def test_revoke_kills_access_and_refresh_tokens(world: World) -> None:
    tokens = connect(world)
    response = httpx.post(
        f"{world.zoom}/oauth/revoke", data={"token": tokens["access_token"]}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert response.status_code == 200 and response.json() == {"status": "success"}
    assert refresh(world, tokens["refresh_token"]).json() == INVALID_TOKEN
    with api(world, tokens["access_token"]) as client:
        assert client.get("/users/me").json()["code"] == 124


def test_revoke_with_a_refresh_token_revokes_nothing(world: World) -> None:
    """The reference documents revoking with the access token; a refresh token leaves the grant live."""
    tokens = connect(world)
    response = httpx.post(
        f"{world.zoom}/oauth/revoke", data={"token": tokens["refresh_token"]}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert response.status_code == 200
    with api(world, tokens["access_token"]) as client:
        assert client.get("/users/me").status_code == 200
    assert refresh(world, tokens["refresh_token"]).status_code == 200


# API authentication


def test_api_rejects_bad_tokens_with_code_124(world: World) -> None:
    tokens = connect(world)
    invalid = {"code": 124, "message": "Invalid access token."}
    assert httpx.get(f"{world.zoom}/v2/users/me").json() == invalid
    with api(world, "not-a-token") as client:
        response = client.get("/users/me")
        assert response.status_code == 401 and response.json() == invalid
    query = httpx.get(f"{world.zoom}/v2/users/me", params={"access_token": tokens["access_token"]})
    assert query.status_code == 401
    assert query.json() == {
        "code": 124,
        "message": "Invalid access token, this access token is not supported as query parameter string.",
    }
    world.control.expire_access_tokens()
    with api(world, tokens["access_token"]) as client:
        assert client.get("/users/me").json() == invalid
    assert refresh(world, tokens["refresh_token"]).status_code == 200


def test_short_token_lifetime_and_clock(world: World) -> None:
    world.control.set_token_lifetime(60)
    tokens = connect(world)
    assert tokens["expires_in"] == 60
    world.control.advance_time(61)
    with api(world, tokens["access_token"]) as client:
        assert client.get("/users/me").status_code == 401


def test_revoked_user_grants(world: World) -> None:
    tokens = connect(world)
    world.control.revoke_user_grants("owner@example.com")
    assert refresh(world, tokens["refresh_token"]).json() == INVALID_TOKEN
    with api(world, tokens["access_token"]) as client:
        assert client.get("/users/me").json()["code"] == 124


def test_every_response_carries_a_tracking_id(world: World) -> None:
    refused = authorize(world, client_id="x")
    for response in (httpx.get(f"{world.zoom}/v2/users/me"), authorize(world), refused):
        assert response.headers["x-zm-trackingid"].startswith("v=2.0;clid=us05;rid=WEB_")


def test_users_me_profile(world: World) -> None:
    with api(world, connect(world)["access_token"]) as client:
        me = client.get("/users/me").json()
    assert len(me["id"]) == 22 and len(me["account_id"]) == 22
    assert me["email"] == "owner@example.com" and me["status"] == "active" and me["timezone"] == "UTC"
    assert isinstance(me["pmi"], int)


# Meetings


def test_create_then_get_round_trip_with_utc_z(world: World) -> None:
    start = future()
    with api(world, connect(world)["access_token"]) as client:
        created = create(client, start_time=start.strftime("%Y-%m-%dT%H:%M:%SZ"), timezone="Europe/Berlin")
        assert created.status_code == 201
        meeting = created.json()
        assert 10**10 <= meeting["id"] < 10**11
        fetched = client.get(f"/meetings/{meeting['id']}").json()
    assert meeting["start_time"] == start.strftime("%Y-%m-%dT%H:%M:%SZ") == fetched["start_time"]
    assert meeting["status"] == "waiting" and meeting["type"] == 2 and meeting["pre_schedule"] is False
    assert meeting["host_email"] == "owner@example.com" and meeting["timezone"] == "Europe/Berlin"
    assert meeting["start_url"].startswith(f"https://us05web.zoom.us/s/{meeting['id']}?zak=")
    assert (
        meeting["join_url"]
        == f"https://us05web.zoom.us/j/{meeting['id']}?pwd={meeting['encrypted_password']}"
    )
    expected = {"uuid", "host_id", "agenda", "created_at", "password", "h323_password", "pstn_password"}
    assert expected | {"settings", "duration"} <= set(meeting)
    assert fetched["join_url"] == meeting["join_url"]


def test_local_start_time_is_read_in_the_given_timezone(world: World) -> None:
    with api(world, connect(world)["access_token"]) as client:
        winter = create(client, start_time="2031-01-15T10:00:00", timezone="Europe/Berlin").json()
        summer = create(client, start_time="2031-07-15T10:00:00", timezone="America/New_York").json()
    assert winter["start_time"] == "2031-01-15T09:00:00Z"
    assert summer["start_time"] == "2031-07-15T14:00:00Z"


def test_local_start_time_without_timezone_uses_the_users(world: World) -> None:
    world.control.add_user("tokyo@example.com", timezone="Asia/Tokyo")
    world.control.login("tokyo@example.com")
    with api(world, connect(world)["access_token"]) as client:
        meeting = create(client, start_time="2031-03-01T09:00:00").json()
    assert meeting["start_time"] == "2031-03-01T00:00:00Z" and meeting["timezone"] == "Asia/Tokyo"
    assert meeting["host_email"] == "tokyo@example.com"


def test_an_offset_is_taken_as_utc_wall_clock_like_real_zoom(world: World) -> None:
    with api(world, connect(world)["access_token"]) as client:
        meeting = create(client, start_time="2031-03-01T09:00:00+02:00").json()
    assert meeting["start_time"] == "2031-03-01T09:00:00Z"


def test_topic_of_201_characters_is_rejected(world: World) -> None:
    with api(world, connect(world)["access_token"]) as client:
        response = create(client, topic="x" * 201)
        assert create(client, topic="x" * 200).status_code == 201
    assert response.status_code == 400
    assert response.json() == {
        "code": 300,
        "message": "Validation Failed.",
        "errors": [{"field": "topic", "message": "Invalid field."}],
    }


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        ({"agenda": "a" * 2001}, "agenda"),
        ({"password": "12345678901"}, "password"),
        ({"password": "pass word"}, "password"),
        ({"duration": 0}, "duration"),
        ({"duration": "30"}, "duration"),
        ({"duration": 30.5}, "duration"),
        ({"start_time": "tomorrow at ten"}, "start_time"),
        ({"start_time": "2031-03-01 09:00:00"}, "start_time"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"settings": {"audio": "carrier-pigeon"}}, "settings.audio"),
    ],
)
def test_meeting_validation(world: World, body: dict[str, Any], field_name: str) -> None:
    with api(world, connect(world)["access_token"]) as client:
        response = create(client, **body)
    assert response.status_code == 400
    assert response.json()["code"] == 300 and response.json()["errors"][0]["field"] == field_name


def test_body_that_is_not_json_is_code_300(world: World) -> None:
    with api(world, connect(world)["access_token"]) as client:
        response = client.post("/users/me/meetings", content=b"topic=hello")
    assert response.status_code == 400 and response.json()["code"] == 300


def test_create_for_own_id_or_email_but_not_someone_else(world: World) -> None:
    other = world.control.add_user("other@example.com")
    with api(world, connect(world)["access_token"]) as client:
        me = client.get("/users/me").json()
        assert client.post(f"/users/{me['id']}/meetings", json={}).status_code == 201
        assert client.post("/users/owner@example.com/meetings", json={}).status_code == 201
        assert client.post(f"/users/{other['id']}/meetings", json={}).json()["code"] == 1001


def test_patch_is_204_with_empty_body_and_ignores_a_past_start(world: World) -> None:
    start = future()
    with api(world, connect(world)["access_token"]) as client:
        meeting = create(client, start_time=start.strftime("%Y-%m-%dT%H:%M:%SZ")).json()
        patched = client.patch(f"/meetings/{meeting['id']}", json={"topic": "Moved", "duration": 45})
        assert patched.status_code == 204 and patched.content == b""
        past = client.patch(f"/meetings/{meeting['id']}", json={"start_time": "2001-01-01T10:00:00Z"})
        assert past.status_code == 204
        later = (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert client.patch(f"/meetings/{meeting['id']}", json={"start_time": later}).status_code == 204
        fetched = client.get(f"/meetings/{meeting['id']}").json()
        invalid = client.patch(f"/meetings/{meeting['id']}", json={"topic": "y" * 201})
    assert (fetched["topic"], fetched["duration"], fetched["start_time"]) == ("Moved", 45, later)
    assert invalid.status_code == 400 and invalid.json()["errors"][0]["field"] == "topic"


def test_unknown_and_foreign_meetings_are_3001(world: World) -> None:
    owner = connect(world)
    with api(world, owner["access_token"]) as client:
        meeting = create(client).json()
        unknown = client.get("/meetings/12345678901")
        assert client.patch("/meetings/12345678901", json={"topic": "x"}).status_code == 404
    assert unknown.status_code == 404
    assert unknown.json() == {"code": 3001, "message": "Meeting 12345678901 is not found or has expired."}
    world.control.add_user("other@example.com")
    world.control.login("other@example.com")
    with api(world, connect(world)["access_token"]) as other:
        assert other.get(f"/meetings/{meeting['id']}").json()["code"] == 3001


def test_list_upcoming_shows_only_the_hosts_future_meetings(world: World) -> None:
    with api(world, connect(world)["access_token"]) as client:
        soon = create(client, start_time=future(1).strftime("%Y-%m-%dT%H:%M:%SZ")).json()
        later = create(client, start_time=future(9).strftime("%Y-%m-%dT%H:%M:%SZ")).json()
        create(client, start_time="2001-01-01T10:00:00Z")
        upcoming = client.get("/users/me/meetings", params={"type": "upcoming"}).json()
        scheduled = client.get("/users/me/meetings", params={"type": "scheduled"}).json()
        page = client.get("/users/me/meetings", params={"type": "upcoming", "page_size": 1}).json()
        next_page = {"type": "upcoming", "page_size": 1, "next_page_token": page["next_page_token"]}
        rest = client.get("/users/me/meetings", params=next_page).json()
    assert [m["id"] for m in upcoming["meetings"]] == [soon["id"], later["id"]]
    assert upcoming["total_records"] == 2 and upcoming["next_page_token"] == ""
    assert scheduled["total_records"] == 3
    assert set(upcoming["meetings"][0]) == set(LIST_ITEM_KEYS.split())
    assert [m["id"] for m in page["meetings"] + rest["meetings"]] == [soon["id"], later["id"]]
    world.control.add_user("other@example.com")
    world.control.login("other@example.com")
    with api(world, connect(world)["access_token"]) as other:
        assert other.get("/users/me/meetings", params={"type": "upcoming"}).json()["meetings"] == []


def test_delete_needs_the_delete_scope_and_is_logged(world: World) -> None:
    with api(world, connect(world)["access_token"]) as client:
        meeting = create(client).json()
        refused = client.delete(f"/meetings/{meeting['id']}")
    assert refused.status_code == 400
    assert refused.json() == {
        "code": 4711,
        "message": "Invalid access token, does not contain scopes:[meeting:delete:meeting].",
    }
    world.control.set_scopes(SCOPE + " meeting:delete:meeting")
    with api(world, connect(world)["access_token"]) as client:
        deleted = client.delete(f"/meetings/{meeting['id']}")
        assert deleted.status_code == 204 and deleted.content == b""
        assert client.get(f"/meetings/{meeting['id']}").json()["code"] == 3001
        assert client.delete(f"/meetings/{meeting['id']}").status_code == 404
    deletes = [r for r in world.control.requests() if r["method"] == "DELETE"]
    assert [r["status"] for r in deletes] == [400, 204, 404]
    assert world.control.meetings()[0]["deleted"] is True


def test_request_log_names_the_user_and_body(world: World) -> None:
    with api(world, connect(world)["access_token"]) as client:
        create(client, topic="Logged")
    entry = world.control.requests()[-1]
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/v2/users/me/meetings", 201)
    assert entry["user"] == "owner@example.com" and entry["json"]["topic"] == "Logged"


# Rate limits


def test_daily_limit_of_create_and_update(world: World) -> None:
    world.control.set_daily_limit(2)
    with api(world, connect(world)["access_token"]) as client:
        first = create(client)
        assert first.headers["x-ratelimit-remaining"] == "1"
        assert client.patch(f"/meetings/{first.json()['id']}", json={"topic": "t"}).status_code == 204
        refused = create(client)
        assert client.get(f"/meetings/{first.json()['id']}").status_code == 200  # reads are not counted
    assert refused.status_code == 429
    assert refused.json() == {"code": 429, "message": DAILY_MESSAGE}
    assert refused.headers["x-ratelimit-category"] == "Medium"
    assert refused.headers["x-ratelimit-limit"] == "2" and refused.headers["x-ratelimit-remaining"] == "0"
    assert "retry-after" not in refused.headers and "x-ratelimit-type" not in refused.headers


def test_daily_limit_resets_at_utc_midnight_and_can_say_retry_after(world: World) -> None:
    world.control.set_daily_limit(1)
    world.control.set_daily_retry_after(True)
    world.control.set_token_lifetime(10**6)
    with api(world, connect(world)["access_token"]) as client:
        create(client)
        refused = create(client)
        retry_at = datetime.fromisoformat(refused.headers["retry-after"].replace("Z", "+00:00"))
        assert (retry_at.hour, retry_at.minute, retry_at.second) == (0, 0, 0)
        world.control.advance_time((retry_at - datetime.now(UTC)).total_seconds() + 5)
        assert create(client).status_code == 201


def test_qps_limit_is_off_by_default_and_a_knob(world: World) -> None:
    with api(world, connect(world)["access_token"]) as client:
        assert all(create(client).status_code == 201 for _ in range(5))
        world.control.set_qps_limit(2)
        statuses = [create(client) for _ in range(3)]
    refused = statuses[-1]
    assert [r.status_code for r in statuses] == [201, 201, 429]
    assert refused.json() == {
        "code": 429,
        "message": "You have reached the maximum per-second rate limit for this API. Try again later.",
    }
    assert refused.headers["x-ratelimit-type"] == "QPS" and refused.headers["retry-after"] == "1"


# Fault switches


@pytest.fixture
def client(world: World) -> Iterator[httpx.Client]:
    with api(world, connect(world)["access_token"]) as client:
        yield client


def test_fault_status_with_json_body_then_back_to_normal(world: World, client: httpx.Client) -> None:
    boom = {"code": 500, "message": "Boom"}
    world.control.fault("POST", "/v2/users/*/meetings", "status", status=500, body=boom)
    failed = create(client)
    assert failed.status_code == 500 and failed.json() == {"code": 500, "message": "Boom"}
    assert "x-zm-trackingid" in failed.headers
    assert create(client).status_code == 201
    assert [m["topic"] for m in world.control.meetings()] == ["Consultation"]


def test_fault_xml_body(world: World, client: httpx.Client) -> None:
    world.control.fault("POST", "/v2/users/me/meetings", "xml", message="Invalid password.")
    response = create(client)
    assert response.status_code == 400 and response.headers["content-type"].startswith("application/xml")
    assert response.text == (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<error><code>300</code><message>Invalid password.</message></error>"
    )


def test_fault_count_and_skip(world: World, client: httpx.Client) -> None:
    world.control.fault("GET", "/v2/users/me", "status", count=2, skip=1, status=503)
    assert [client.get("/users/me").status_code for _ in range(4)] == [200, 503, 503, 200]
    world.control.fault("*", "/v2/*", "status", count=None, status=502)
    assert client.get("/users/me").status_code == 502 and create(client).status_code == 502
    world.control.clear_faults()
    assert client.get("/users/me").status_code == 200


def test_fault_delay(world: World, client: httpx.Client) -> None:
    world.control.fault("GET", "/v2/users/me", "delay", seconds=0.5)
    started = time.monotonic()
    assert client.get("/users/me").status_code == 200
    assert time.monotonic() - started >= 0.5


def test_fault_created_then_timed_out(world: World, client: httpx.Client) -> None:
    world.control.fault("POST", "/v2/users/me/meetings", "commit_then_hang", seconds=30)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/users/me/meetings", json={"topic": "Ghost"}, timeout=0.5)
    assert [m["topic"] for m in world.control.meetings()] == ["Ghost"]  # it exists although nobody heard
    upcoming = client.get("/users/me/meetings", params={"type": "upcoming"}).json()
    assert [m["topic"] for m in upcoming["meetings"]] == ["Ghost"]
    entry = next(r for r in world.control.requests() if r["fault"])
    assert (entry["app_status"], entry["status"]) == (201, None)


def test_fault_created_then_connection_dropped(world: World, client: httpx.Client) -> None:
    world.control.fault("POST", "/v2/users/me/meetings", "commit_then_drop")
    with pytest.raises(httpx.RemoteProtocolError):
        create(client)
    assert len(world.control.meetings()) == 1


def test_fault_hang_and_drop_without_commit(world: World, client: httpx.Client) -> None:
    world.control.fault("POST", "/v2/users/me/meetings", "hang")
    with pytest.raises(httpx.ReadTimeout):
        client.post("/users/me/meetings", json={}, timeout=0.3)
    world.control.fault("POST", "/v2/users/me/meetings", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        create(client)
    assert world.control.meetings() == []


def test_fault_status_after_commit(world: World, client: httpx.Client) -> None:
    world.control.fault("POST", "/v2/users/me/meetings", "status", status=502, commit=True)
    assert create(client).status_code == 502
    assert len(world.control.meetings()) == 1


def test_fault_429_with_retry_after_seconds_and_dates(world: World, client: httpx.Client) -> None:
    world.control.fault("PATCH", "/v2/meetings/*", "qps_429", retry_after=7)
    world.control.fault("POST", "/v2/users/me/meetings", "daily_429", retry_after="http-date")
    world.control.fault("GET", "/v2/meetings/*", "daily_429")
    qps = client.patch("/meetings/12345678901", json={})
    assert qps.status_code == 429 and qps.headers["retry-after"] == "7"
    assert qps.headers["x-ratelimit-type"] == "QPS" and qps.headers["x-ratelimit-category"] == "Light"
    daily = create(client)
    assert daily.status_code == 429 and "daily rate limit" in daily.json()["message"]
    assert parsedate_to_datetime(daily.headers["retry-after"]) > datetime.now(UTC)
    iso = client.get("/meetings/12345678901")
    assert iso.headers["retry-after"].endswith("T00:00:00Z")


def test_fault_on_the_token_endpoint(world: World) -> None:
    tokens = connect(world)
    world.control.fault("POST", "/oauth/token", "status", status=503)
    assert refresh(world, tokens["refresh_token"]).status_code == 503
    assert refresh(world, tokens["refresh_token"]).status_code == 200  # the faulted call never reached Zoom


def test_unknown_fault_kind_or_parameter_is_refused(world: World) -> None:
    with pytest.raises(SandboxControlError):
        world.control.fault("GET", "/v2/*", "explode")
    with pytest.raises(SandboxControlError):
        world.control.fault("GET", "/v2/*", "delay", secnods=1)


# Webhooks


def test_sign_matches_the_documented_algorithm(world: World) -> None:
    body = b'{"event":"meeting.deleted","payload":{}}'
    headers = world.sandbox.sign(body, 1_700_000_000)
    assert headers["x-zm-request-timestamp"] == "1700000000"
    assert headers["content-type"] == "application/json"
    assert zoom_signature_ok(body, headers, 1_700_000_000)


def test_url_validation(world: World) -> None:
    answer = world.control.send_webhook("endpoint.url_validation", plain_token="qgg8vlvZRS6UYooatFL8Aw")
    assert answer.status_code == 200 and answer.headers["x-sandbox-url-validation"] == "passed"
    assert answer.json()["plainToken"] == "qgg8vlvZRS6UYooatFL8Aw"
    received = json.loads(world.bot.received[-1]["body"])
    assert received["event"] == "endpoint.url_validation" and isinstance(received["event_ts"], int)


def test_url_validation_fails_when_the_answer_is_wrong(world: World) -> None:
    answer = world.control.send_webhook("endpoint.url_validation", variant="forged")
    assert answer.status_code == 401 and answer.headers["x-sandbox-url-validation"] == "failed"


def test_app_deauthorized_revokes_and_notifies(world: World) -> None:
    tokens = connect(world)
    answer = world.control.send_webhook("app_deauthorized", email="owner@example.com")
    assert answer.status_code == 204
    event = json.loads(world.bot.received[-1]["body"])
    user = world.control.users()[0]
    payload = event["payload"]
    assert event["event"] == "app_deauthorized"
    assert set(payload) == set(DEAUTHORIZED_KEYS.split())
    assert payload["user_data_retention"] == "false"
    assert (payload["user_id"], payload["account_id"], payload["client_id"]) == (
        user["id"],
        user["account_id"],
        CLIENT_ID,
    )
    assert refresh(world, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_meeting_deleted_in_zoom(world: World, client: httpx.Client) -> None:
    meeting = create(client).json()
    world.control.send_webhook("meeting.deleted", meeting_id=meeting["id"])
    payload = json.loads(world.bot.received[-1]["body"])["payload"]
    assert payload["object"]["id"] == meeting["id"] and payload["object"]["uuid"] == meeting["uuid"]
    assert payload["operator"] == "owner@example.com" and payload["operator_id"] == meeting["host_id"]
    assert client.get(f"/meetings/{meeting['id']}").json()["code"] == 3001


def test_meeting_updated_by_the_host_in_zoom(world: World, client: httpx.Client) -> None:
    meeting = create(client, topic="Before").json()
    world.control.send_webhook("meeting.updated", meeting_id=meeting["id"], changes={"topic": "After"})
    payload = json.loads(world.bot.received[-1]["body"])["payload"]
    assert payload["object"] == {"id": meeting["id"], "topic": "After"}
    assert payload["old_object"] == {"id": meeting["id"], "topic": "Before"}
    assert payload["operator"] == "owner@example.com" and isinstance(payload["time_stamp"], int)
    assert client.get(f"/meetings/{meeting['id']}").json()["topic"] == "After"


@pytest.mark.parametrize("variant", ["forged", "stale", "unsigned"])
def test_bad_signatures_are_rejected_and_change_nothing(
    world: World, client: httpx.Client, variant: str
) -> None:
    meeting = create(client).json()
    answer = world.control.send_webhook("meeting.deleted", variant=variant, meeting_id=meeting["id"])
    assert answer.status_code == 401
    assert client.get(f"/meetings/{meeting['id']}").status_code == 200
    headers = world.bot.received[-1]["headers"]
    if variant == "unsigned":
        assert "x-zm-signature" not in headers
    if variant == "stale":
        assert int(headers["x-zm-request-timestamp"]) <= time.time() - 590


def test_replay_sends_the_same_bytes_and_headers(world: World, client: httpx.Client) -> None:
    meeting = create(client).json()
    world.control.send_webhook("meeting.updated", meeting_id=meeting["id"], changes={"duration": 90})
    world.control.send_webhook("meeting.updated", variant="replay")
    first, second = world.bot.received[-2:]
    assert first["body"] == second["body"]
    assert {k: v for k, v in first["headers"].items() if k.startswith("x-zm")} == {
        k: v for k, v in second["headers"].items() if k.startswith("x-zm")
    }


def test_api_changes_echo_only_when_switched_on(world: World, client: httpx.Client) -> None:
    meeting = create(client).json()
    client.patch(f"/meetings/{meeting['id']}", json={"topic": "Quiet"})
    assert world.bot.received == []
    world.control.set_emit_api_events(True)
    client.patch(f"/meetings/{meeting['id']}", json={"topic": "Echoed"})
    wait_until(lambda: world.bot.received, 5, "the event reaching the bot")
    event = json.loads(world.bot.received[-1]["body"])
    assert event["event"] == "meeting.updated"
    assert event["payload"]["operator_id"] == meeting["host_id"]
    assert event["payload"]["object"] == {"id": meeting["id"], "topic": "Echoed"}


def test_failed_events_are_retried_with_the_same_body(world: World, client: httpx.Client) -> None:
    meeting = create(client).json()
    world.bot.failures = 2
    world.control.set_webhook_retry_delays([0.05, 0.05, 0.05])
    first = world.control.send_webhook(
        "meeting.updated", meeting_id=meeting["id"], changes={"topic": "Retried"}
    )
    assert first.status_code == 500
    wait_until(lambda: len(world.bot.received) == 3, 5, "three deliveries")
    # The retries are over: nothing more will come.
    wait_until(lambda: not world.sandbox.webhooks.retrying(), 5, "the retries over")
    assert len(world.bot.received) == 3
    reports = world.control.deliveries()
    assert [(r["variant"], r["status"]) for r in reports] == [
        ("signed", 500),
        ("retry-1", 500),
        ("retry-2", 204),
    ]
    assert len({r["sent"]["body"] for r in reports}) == 1


def test_an_unreachable_webhook_endpoint_is_reported(world: World) -> None:
    world.control.set_webhook_url(f"http://127.0.0.1:{free_port()}/nobody-home")
    with pytest.raises(SandboxControlError, match="ConnectError"):
        world.control.send_webhook("endpoint.url_validation")


# Command line


def test_command_line_serves_the_emulator() -> None:
    port = free_port()
    command = [sys.executable, "-m", "sandbox.zoom", "--port", str(port), "--client-id", CLIENT_ID]
    command += ["--client-secret", CLIENT_SECRET, "--redirect-uri", "http://127.0.0.1:9/cb"]
    command += ["--webhook-secret", WEBHOOK_SECRET]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with ZoomControl(f"http://127.0.0.1:{port}") as control:
            deadline = time.monotonic() + 15
            while True:
                try:
                    assert control.users()[0]["email"] == "owner@example.com"
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)


# The host's own settings


def test_users_me_settings_needs_its_scope(world: World) -> None:
    world.control.set_scopes(WITHOUT_SETTINGS)  # an app configured without user:read:settings
    with api(world, connect(world)["access_token"]) as client:
        refused = client.get("/users/me/settings")
    assert refused.status_code == 400
    assert refused.json() == {
        "code": 4711,
        "message": "Invalid access token, does not contain scopes:[user:read:settings].",
    }
    world.control.set_scopes(SCOPE)
    with api(world, connect(world)["access_token"]) as client:
        settings = client.get("/users/me/settings")
        someone_else = client.get("/users/nobody@example.com/settings")
    assert settings.status_code == 200
    body = settings.json()
    assert body["schedule_meeting"]["require_password_for_scheduled_meetings"] is True
    assert body["in_meeting"]["waiting_room"] is False and body["recording"]["auto_recording"] == "none"
    assert set(body["schedule_meeting"]["meeting_password_requirement"]) >= {"length", "only_allow_numeric"}
    assert someone_else.status_code == 404 and someone_else.json()["code"] == 1001


def test_new_meetings_follow_the_hosts_settings_unless_the_body_says_otherwise(world: World) -> None:
    with api(world, connect(world)["access_token"]) as client:
        default = create(client).json()
        world.control.change_user_settings(
            "owner@example.com",
            {
                "schedule_meeting": {"require_password_for_scheduled_meetings": False},
                "in_meeting": {"waiting_room": True},
                "recording": {"auto_recording": "cloud"},
            },
        )
        assert client.get("/users/me/settings").json()["in_meeting"]["waiting_room"] is True
        changed = create(client).json()
        explicit = create(
            client, default_password=True, settings={"waiting_room": False, "auto_recording": "none"}
        ).json()
    assert default["password"] and "?pwd=" in default["join_url"]
    assert default["settings"]["waiting_room"] is False and default["settings"]["auto_recording"] == "none"
    assert changed["password"] == "" and "?pwd=" not in changed["join_url"]
    assert changed["settings"]["waiting_room"] is True and changed["settings"]["auto_recording"] == "cloud"
    assert changed["settings"]["join_before_host"] is False
    assert explicit["password"] and explicit["settings"]["waiting_room"] is False
    assert explicit["settings"]["auto_recording"] == "none"


def test_changing_user_settings_refuses_unknown_or_mistyped_fields(world: World) -> None:
    for bad in (
        {"in_meeting": {"waiting_room": "yes"}},
        {"recording": {"auto_recording": "tape"}},
        {"nonsense": {"x": 1}},
    ):
        with pytest.raises(SandboxControlError):
            world.control.change_user_settings("owner@example.com", bad)
