"""The Bot API transport, counted: every request python-telegram-bot makes passes through here."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData

from bot.metrics import Metrics, outcome_of

METHOD = re.compile(r"[A-Za-z]{1,64}")


class OutcomeUnknown(NetworkError):
    """Telegram got the request but its answer was lost (a read timeout, or its gateway's 502 or 504): the
    request may have been carried out, so sending it again may give the chat a second copy."""


LOST_ANSWER = (HTTPStatus.BAD_GATEWAY, HTTPStatus.GATEWAY_TIMEOUT)


class CountedRequest(HTTPXRequest):
    """PTB's httpx transport that counts each call in bot_telegram_requests_total (and 429s)."""

    def __init__(self, metrics: Metrics, **options: Any) -> None:
        super().__init__(**options)
        self._metrics = metrics

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        name = name if METHOD.fullmatch(name) else "other"  # the token is in the path, never a label
        try:
            status, body = await super().do_request(url, method, request_data, *args, **kwargs)
        except NetworkError as exc:
            self._metrics.telegram_requests.labels(method=name, outcome="network_error").inc()
            if isinstance(exc, TimedOut) and isinstance(exc.__cause__, httpx.ReadTimeout):
                raise OutcomeUnknown(f"Timed out waiting for the answer to {name}") from exc
            raise
        if status in LOST_ANSWER:
            self._metrics.telegram_requests.labels(method=name, outcome=outcome_of(status)).inc()
            raise OutcomeUnknown(f"{HTTPStatus(status).phrase} answering {name}")
        outcome = outcome_of(status)
        self._metrics.telegram_requests.labels(method=name, outcome=outcome).inc()
        if outcome == "retry_after":
            self._metrics.retry_after.labels(service="telegram").inc()
        return status, body
