"""`GET /calendar/<token>.ics`: a user's calendar feed, with ETag/Last-Modified and 304 answers."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.services.calendars import Calendars, Feed

SUFFIX = ".ics"
MAX_NAME = 64


def calendar_routes(calendars: Calendars) -> list[Route]:
    async def feed(request: Request) -> Response:
        name = str(request.path_params.get("name", ""))
        found = None
        if len(name) <= MAX_NAME and name.endswith(SUFFIX):
            found = await calendars.feed(name.removesuffix(SUFFIX))
        if found is None:
            return PlainTextResponse("Not found", status_code=404)
        headers = {
            "ETag": found.etag,
            "Last-Modified": format_datetime(found.last_modified, usegmt=True),
            "Cache-Control": "private, max-age=300",
        }
        if not_modified(request, found):
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type="text/calendar; charset=utf-8", headers=headers)

    return [Route("/calendar/{name}", feed, methods=["GET"])]


def not_modified(request: Request, feed: Feed) -> bool:
    """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or feed.etag in tags
    since = _http_date(request.headers.get("if-modified-since"))
    return since is not None and feed.last_modified <= since


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None
