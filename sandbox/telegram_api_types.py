"""What a Bot API method implementation receives and may return."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from sandbox.telegram_params import Params


@dataclass(frozen=True)
class MethodCall:
    params: Params
    request: Request


@dataclass(frozen=True)
class Described:
    """A result that comes with a `description`, like setWebhook's "Webhook was set"."""

    result: Any
    description: str


Handler = Callable[[MethodCall], Awaitable[Any]]
