"""The web server's routes: Zoom's OAuth callback and webhooks, Telegram's webhook, health and metrics."""

from __future__ import annotations

import asyncio
import hmac
import logging
from html import escape

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot import i18n, texts
from bot.calendar_web import calendar_routes
from bot.health import Readiness, Scrape
from bot.services.calendars import Calendars
from bot.services.persons import Persons
from bot.services.zoom_connections import ZoomConnections
from bot.services.zoom_events import ZoomEvents
from bot.telegram.intake import UpdateIntake

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000
CLOSE = {"connection": "close"}  # a refused body is not read to its end: the connection cannot be reused
PAGE = """<!doctype html><html lang="{language}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto">
<h1>{title}</h1><p>{message}</p></body></html>"""


def page(language: str, title: str, message: str, status: int) -> HTMLResponse:
    body = PAGE.format(language=language, title=escape(title), message=escape(message))
    return HTMLResponse(body, status_code=status)


def browser_language(accept_language: str) -> str:
    """Russian when the browser prefers it over English (for a login whose owner is unknown)."""
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith(("ru", "en")):
            return tag[:2]
    return "en"


class BodyRefused(Exception):
    """A request body that is too large or too slow; `response` says so."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def read_body(request: Request, limit: int, seconds: float) -> bytes:
    """The body, refused (413) past `limit` bytes by its Content-Length or as it arrives, and (408) when it
    takes longer than `seconds`: one client cannot hold memory or a connection for long."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdecimal() or int(declared) > limit):
        raise BodyRefused(JSONResponse({"error": "too large"}, status_code=413, headers=CLOSE))
    chunks: list[bytes] = []
    size = 0

    async def receive() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyRefused(JSONResponse({"error": "too large"}, status_code=413, headers=CLOSE))
            chunks.append(chunk)

    try:
        await asyncio.wait_for(receive(), seconds)
    except ClientDisconnect:
        raise BodyRefused(Response(status_code=400)) from None  # nobody is left to read it
    except TimeoutError:
        raise BodyRefused(JSONResponse({"error": "body too slow"}, status_code=408, headers=CLOSE)) from None
    return b"".join(chunks)


def create_web_app(
    engine: AsyncEngine,
    connections: ZoomConnections,
    events: ZoomEvents,
    intake: UpdateIntake,
    webhook_secret: str | None,
    persons: Persons,
    *,
    calendars: Calendars,
    readiness: Readiness | None = None,
    scrape: Scrape | None = None,
    read_timeout: float = 10.0,
) -> Starlette:
    async def healthz(request: Request) -> Response:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            log.exception("Health check: the database is unreachable")
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True})

    async def readyz(request: Request) -> Response:
        problem = await readiness.problem() if readiness is not None else "readiness is not configured"
        if problem is not None:
            return JSONResponse({"ready": False, "reason": problem}, status_code=503)
        return JSONResponse({"ready": True})

    async def metrics(request: Request) -> Response:
        if scrape is None:
            return JSONResponse({"error": "metrics are not configured"}, status_code=404)
        return Response(await scrape.render(), media_type=CONTENT_TYPE_LATEST)

    async def oauth_callback(request: Request) -> Response:
        params = request.query_params
        result = await connections.complete(params.get("state"), params.get("code"), params.get("error"))
        if result.owner_id is not None:
            language = await persons.language_of(result.owner_id)
        else:
            language = browser_language(request.headers.get("accept-language", ""))
        message = i18n.render(language, result.message)
        if result.ok:
            return page(language, i18n.render(language, texts.PAGE_CONNECTED_TITLE), message, 200)
        failed = i18n.render(language, texts.CALLBACK_PAGE_FAILED, reason=message)
        return page(language, i18n.render(language, texts.PAGE_FAILED_TITLE), failed, 400)

    async def zoom_webhook(request: Request) -> Response:
        try:
            body = await read_body(request, MAX_BODY, read_timeout)
        except BodyRefused as refused:
            return refused.response
        answer = await events.receive({k.lower(): v for k, v in request.headers.items()}, body)
        return JSONResponse(answer.body, status_code=answer.status)

    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if webhook_secret is None or not hmac.compare_digest(given.encode(), webhook_secret.encode()):
            return JSONResponse({"error": "wrong secret token"}, status_code=403)
        try:
            body = await read_body(request, MAX_BODY, read_timeout)
        except BodyRefused as refused:
            return refused.response
        status = await intake.receive_json(body)
        return Response(status_code=status)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/zoom/oauth/callback", oauth_callback),
            Route("/zoom/webhook", zoom_webhook, methods=["POST"]),
            Route("/telegram/webhook", telegram_webhook, methods=["POST"]),
            *calendar_routes(calendars),
        ]
    )
