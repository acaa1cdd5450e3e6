"""The Zoom REST API under `/v2`: the user and meeting endpoints the bot uses (reference §1.6, §2, §3)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.clock import Clock
from sandbox.zoom.errors import (
    CODE_124_QUERY_MESSAGE,
    NOT_JSON,
    ApiError,
    invalid_token,
    meeting_not_found,
    validation_failed,
)
from sandbox.zoom.events import HostActivity
from sandbox.zoom.grants import Authority
from sandbox.zoom.limits import RateLimits
from sandbox.zoom.meeting_fields import read_meeting_fields
from sandbox.zoom.meetings import MeetingBook, StoredMeeting, full_view, summary_view
from sandbox.zoom.users import Directory, ZoomUser

# Each operation accepts its granular scope (named first, and in the 4711 message) or a classic one.
READ_USER = ("user:read:user", "user:read", "user:read:admin")
READ_SETTINGS = ("user:read:settings", "user:read", "user:read:admin")
CREATE = ("meeting:write:meeting", "meeting:write", "meeting:write:admin")
# Zoom's granular scope for listing is probably meeting:read:list_meetings (not in our reference), so
# meeting:read:meeting is accepted too.
LIST = ("meeting:read:list_meetings", "meeting:read:meeting", "meeting:read", "meeting:read:admin")
READ = ("meeting:read:meeting", "meeting:read", "meeting:read:admin")
UPDATE = ("meeting:update:meeting", "meeting:write", "meeting:write:admin")
DELETE = ("meeting:delete:meeting", "meeting:write", "meeting:write:admin")

LIST_TYPES = ("scheduled", "upcoming", "live", "upcoming_meetings", "previous_meetings")
USER_KEY = "zoom.user_email"  # set in the ASGI scope so the request log can say who called


class MeetingsApi:
    """`/v2/users/...` and `/v2/meetings/...`, answering only with the caller's own data."""

    def __init__(
        self,
        directory: Directory,
        authority: Authority,
        book: MeetingBook,
        limits: RateLimits,
        events: HostActivity,
        clock: Clock,
    ) -> None:
        self._directory = directory
        self._authority = authority
        self._book = book
        self._limits = limits
        self._events = events
        self._clock = clock

    def routes(self) -> list[Route]:
        """Starlette routes for the endpoints."""
        return [
            Route("/v2/users/{user_id}", self.user, methods=["GET"]),
            Route("/v2/users/{user_id}/settings", self.user_settings, methods=["GET"]),
            Route("/v2/users/{user_id}/meetings", self.create, methods=["POST"]),
            Route("/v2/users/{user_id}/meetings", self.list, methods=["GET"]),
            Route("/v2/meetings/{meeting_id}", self.get, methods=["GET"]),
            Route("/v2/meetings/{meeting_id}", self.update, methods=["PATCH"]),
            Route("/v2/meetings/{meeting_id}", self.delete, methods=["DELETE"]),
        ]

    async def user(self, request: Request) -> Response:
        """`GET /v2/users/me`: the caller's profile."""
        user = self._path_user(request, self._caller(request, READ_USER))
        self._limits.check_qps("Light")
        return JSONResponse(user.profile())

    async def user_settings(self, request: Request) -> Response:
        """`GET /v2/users/me/settings`: the caller's own settings."""
        user = self._path_user(request, self._caller(request, READ_SETTINGS))
        self._limits.check_qps("Medium")
        return JSONResponse(self._directory.settings_of(user.id))

    async def create(self, request: Request) -> Response:
        """`POST /v2/users/me/meetings`: 201 with the full meeting."""
        user = self._path_user(request, self._caller(request, CREATE))
        self._limits.check_qps("Medium")
        headers = self._limits.take_daily(user.id, "Medium")
        values = read_meeting_fields(await _json_body(request), user.timezone)
        meeting = self._book.create(user, values, self._directory.settings_of(user.id))
        return JSONResponse(full_view(meeting), status_code=201, headers=headers)

    async def list(self, request: Request) -> Response:
        """`GET /v2/users/me/meetings?type=...`: one page of the caller's meetings."""
        user = self._path_user(request, self._caller(request, LIST))
        self._limits.check_qps("Medium")
        kind, page_size, offset = _list_query(request)
        meetings = [m for m in self._book.of_host(user.id) if self._listed(m, kind)]
        page = meetings[offset : offset + page_size]
        more = offset + page_size < len(meetings)
        return JSONResponse(
            {
                "page_size": page_size,
                "total_records": len(meetings),
                "next_page_token": _page_token(offset + page_size) if more else "",
                "meetings": [summary_view(m) for m in page],
            }
        )

    def _listed(self, meeting: StoredMeeting, kind: str) -> bool:
        now = self._clock.now()
        if kind in ("upcoming", "upcoming_meetings"):
            return meeting.ends_at > now
        if kind == "previous_meetings":
            return meeting.ends_at <= now
        return kind == "scheduled" and meeting.type in (2, 8)  # nothing is ever "live" in the sandbox

    async def get(self, request: Request) -> Response:
        """`GET /v2/meetings/{id}`: 200 with the full meeting."""
        user = self._caller(request, READ)
        meeting = self._hosted(request, user)
        self._limits.check_qps("Light")
        return JSONResponse(full_view(meeting))

    async def update(self, request: Request) -> Response:
        """`PATCH /v2/meetings/{id}`: 204 with an empty body; a past start_time is ignored."""
        user = self._caller(request, UPDATE)
        meeting = self._hosted(request, user)
        self._limits.check_qps("Light")
        headers = self._limits.take_daily(user.id, "Light")
        values = read_meeting_fields(await _json_body(request), meeting.timezone)
        if "start_time" in values and values["start_time"] <= self._clock.now():
            del values["start_time"]
        change = self._book.update(meeting.id, values, by="api")
        return Response(status_code=204, headers=headers, background=self._events.echo_update(user, change))

    async def delete(self, request: Request) -> Response:
        """`DELETE /v2/meetings/{id}`: 204; the bot must never call it, and the log shows if it does."""
        user = self._caller(request, DELETE)
        meeting = self._hosted(request, user)
        self._limits.check_qps("Light")
        self._book.delete(meeting.id, by="api")
        return Response(status_code=204, background=self._events.echo_delete(meeting))

    def _caller(self, request: Request, scopes: tuple[str, ...]) -> ZoomUser:
        if "access_token" in request.query_params:
            raise ApiError(401, 124, CODE_124_QUERY_MESSAGE)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        bearer = self._authority.bearer(token.strip()) if scheme.lower() == "bearer" else None
        user = None if bearer is None else self._directory.by_id(bearer.user_id)
        if bearer is None or user is None:
            raise invalid_token()
        request.scope[USER_KEY] = user.email
        if bearer.scopes.isdisjoint(scopes):
            raise ApiError(400, 4711, f"Invalid access token, does not contain scopes:[{scopes[0]}].")
        return user

    def _path_user(self, request: Request, user: ZoomUser) -> ZoomUser:
        user_id = request.path_params["user_id"]
        if user_id not in ("me", user.id, user.email):
            raise ApiError(404, 1001, f"User {user_id} not exist or not belong to this account.")
        return user

    def _hosted(self, request: Request, user: ZoomUser) -> StoredMeeting:
        raw = request.path_params["meeting_id"]
        meeting = self._book.hosted(user.id, int(raw)) if raw.isdigit() else None
        if meeting is None:
            raise meeting_not_found(raw)
        return meeting


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise ApiError(400, 300, NOT_JSON) from exc
    if not isinstance(body, dict):
        raise ApiError(400, 300, NOT_JSON)
    return body


def _list_query(request: Request) -> tuple[str, int, int]:
    query = request.query_params
    kind = query.get("type", "scheduled")
    size = query.get("page_size", "30")
    offset = _page_offset(query.get("next_page_token", ""))
    bad = [
        name
        for name, ok in (
            ("type", kind in LIST_TYPES),
            ("page_size", size.isdigit() and 1 <= int(size) <= 300),
            ("next_page_token", offset is not None),
        )
        if not ok
    ]
    if bad or offset is None:
        raise validation_failed([{"field": name, "message": "Invalid field."} for name in bad])
    return kind, int(size), offset


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode("ascii").rstrip("=")


def _page_offset(token: str) -> int | None:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "offset" and number.isdigit() else None
