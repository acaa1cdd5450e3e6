"""Zoom REST API client: every call goes through `_request`, which maps failures to typed errors."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bot.metrics import Metrics, outcome_of
from bot.zoom.errors import (
    ZoomAuthError,
    ZoomConnectionError,
    ZoomError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomRequestError,
    ZoomServerError,
)

TOPIC_MAX = 200
MEETING_ID = re.compile(r"/\d+")
AGENDA_MAX = 2000


@dataclass(frozen=True)
class ZoomUser:
    id: str
    account_id: str
    email: str


@dataclass(frozen=True)
class MeetingSpec:
    """What the meeting should be. `start` is UTC; `timezone` is only for display in Zoom."""

    topic: str
    start: datetime
    duration_min: int
    timezone: str
    agenda: str

    def body(self) -> dict[str, Any]:
        return {
            "topic": self.topic[:TOPIC_MAX],
            "type": 2,
            "start_time": format_start_time(self.start),
            "duration": self.duration_min,
            "timezone": self.timezone,
            "agenda": self.agenda[:AGENDA_MAX],
            "default_password": True,
            "settings": {"join_before_host": False, "waiting_room": True, "approval_type": 2},
        }


@dataclass(frozen=True)
class Meeting:
    """A Zoom meeting as we keep it: never the host's `start_url`."""

    id: int
    topic: str
    start: datetime
    duration_min: int
    join_url: str
    agenda: str


def format_start_time(moment: datetime) -> str:
    """Zoom reads a trailing Z as UTC; offsets like +02:00 are not honoured, so always send UTC with Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_start_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _meeting(data: dict[str, Any]) -> Meeting:
    try:
        return Meeting(
            id=int(data["id"]),
            topic=str(data.get("topic", "")),
            start=parse_start_time(str(data["start_time"])),
            duration_min=int(data.get("duration", 0)),
            join_url=str(data["join_url"]),
            agenda=str(data.get("agenda", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ZoomError(f"Zoom sent a meeting we cannot read: {exc}") from exc


class ZoomClient:
    """The Zoom Meetings API for one app; the access token is passed per call."""

    def __init__(self, http: httpx.AsyncClient, api_url: str, metrics: Metrics | None = None) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        self._metrics = metrics

    async def me(self, token: str) -> ZoomUser:
        data = await self._request("GET", "/users/me", token)
        return ZoomUser(
            id=str(data["id"]), account_id=str(data.get("account_id", "")), email=str(data["email"])
        )

    async def create_meeting(self, token: str, spec: MeetingSpec) -> Meeting:
        return _meeting(await self._request("POST", "/users/me/meetings", token, json_body=spec.body()))

    async def update_meeting(self, token: str, meeting_id: int, spec: MeetingSpec) -> None:
        await self._request("PATCH", f"/meetings/{meeting_id}", token, json_body=spec.body())

    async def get_meeting(self, token: str, meeting_id: int) -> Meeting:
        return _meeting(await self._request("GET", f"/meetings/{meeting_id}", token))

    async def upcoming_meetings(self, token: str) -> list[Meeting]:
        """The host's upcoming meetings, every page."""
        meetings: list[Meeting] = []
        page_token = ""
        for _ in range(20):
            params = {"type": "upcoming", "page_size": "300"}
            if page_token:
                params["next_page_token"] = page_token
            data = await self._request("GET", "/users/me/meetings", token, params=params)
            meetings.extend(_listed_meeting(item) for item in data.get("meetings", []))
            page_token = str(data.get("next_page_token") or "")
            if not page_token:
                break
        return meetings

    async def _request(
        self,
        method: str,
        path: str,
        token: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            response = await self._http.request(
                method, self._api_url + path, headers=headers, json=json_body, params=params
            )
        except httpx.TimeoutException as exc:
            self._count(method, path, "timeout")
            raise ZoomConnectionError(f"Zoom did not answer {method} {path} in time") from exc
        except httpx.TransportError as exc:
            self._count(method, path, "network_error")
            raise ZoomConnectionError(f"Zoom could not be reached for {method} {path}") from exc
        self._count(method, path, outcome_of(response.status_code))
        if response.is_success:
            return _json_object(response) if response.content else {}
        raise error_from_response(response, f"{method} {path}")

    def _count(self, method: str, path: str, outcome: str) -> None:
        if self._metrics is None:
            return
        endpoint = f"{method} {MEETING_ID.sub('/{id}', path)}"
        self._metrics.zoom_requests.labels(method=endpoint, outcome=outcome).inc()
        if outcome == "retry_after":
            self._metrics.retry_after.labels(service="zoom").inc()


def _listed_meeting(item: dict[str, Any]) -> Meeting:
    item = {"join_url": "", **item}
    return _meeting(item)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise ZoomError("Zoom answered with something that is not JSON", status=response.status_code) from exc
    if not isinstance(data, dict):
        raise ZoomError("Zoom answered with an unexpected JSON value", status=response.status_code)
    return data


def error_body(response: httpx.Response) -> tuple[int | None, str]:
    """The (code, message) of an error body: JSON as documented, or the XML Zoom sometimes sends."""
    text = response.text[:2000]
    try:
        data = json.loads(text)
    except ValueError:
        code = re.search(r"<code>\s*(\d+)\s*</code>", text)
        message = re.search(r"<message>(.*?)</message>", text, re.DOTALL)
        return (int(code.group(1)) if code else None, message.group(1).strip() if message else "")
    if not isinstance(data, dict):
        return None, ""
    code_value = data.get("code")
    return (
        code_value if isinstance(code_value, int) else None,
        str(data.get("message") or data.get("reason") or ""),
    )


def error_from_response(response: httpx.Response, what: str) -> ZoomError:
    status = response.status_code
    code, message = error_body(response)
    text = f"Zoom refused {what}: {status} {code or ''} {message}".strip()
    if status == 401:
        return ZoomAuthError(text, status=status, code=code)
    if status == 429:
        daily = (
            "daily" in message.lower()
            or response.headers.get("x-ratelimit-type", "").lower() == "daily-limit"
        )
        return ZoomRateLimited(text, retry_at=retry_at(response, daily=daily), daily=daily)
    if status == 404 or code == 3001:
        return ZoomNotFound(text, status=status, code=code)
    if status >= 500:
        return ZoomServerError(text, status=status, code=code)
    return ZoomRequestError(text, status=status, code=code, reason=message[:300])


def retry_at(response: httpx.Response, *, daily: bool, now: datetime | None = None) -> datetime | None:
    """When to try again: Retry-After as seconds or as a date; a daily limit without it ends at 00:00 UTC."""
    now = now or datetime.now(UTC)
    header = response.headers.get("retry-after", "").strip()
    if header.isascii() and header.isdecimal() and len(header) <= 9:
        return now + timedelta(seconds=int(header))
    if header:
        try:
            moment = datetime.fromisoformat(header.replace("Z", "+00:00"))
        except ValueError:
            try:
                moment = parsedate_to_datetime(header)
            except (TypeError, ValueError):
                moment = None
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if daily:
        return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return None
