"""The Bot API transport, counted: every request python-telegram-bot makes passes through here."""

from __future__ import annotations

import re
from typing import Any

from telegram.error import NetworkError
from telegram.request import HTTPXRequest, RequestData

from bot.metrics import Metrics, outcome_of

METHOD = re.compile(r"[A-Za-z]{1,64}")


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
        except NetworkError:
            self._metrics.telegram_requests.labels(method=name, outcome="network_error").inc()
            raise
        outcome = outcome_of(status)
        self._metrics.telegram_requests.labels(method=name, outcome=outcome).inc()
        if outcome == "retry_after":
            self._metrics.retry_after.labels(service="telegram").inc()
        return status, body
