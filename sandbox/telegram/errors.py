"""The error a Bot API method answers with, in the exact wording of the real server."""

from __future__ import annotations

from typing import Any


class BotApiError(Exception):
    """An unsuccessful Bot API answer: HTTP status == error_code, `description` verbatim."""

    def __init__(
        self,
        status: int,
        description: str,
        parameters: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        html_body: str | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters
        self.headers = headers or {}
        self.html_body = html_body  # gateway errors (502...) are nginx pages, not JSON

    def envelope(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str) -> BotApiError:
    """400 `Bad Request: <message>`."""
    return BotApiError(400, f"Bad Request: {message}")


def forbidden(message: str) -> BotApiError:
    """403 `Forbidden: <message>`."""
    return BotApiError(403, f"Forbidden: {message}")


def conflict(message: str) -> BotApiError:
    """409 `Conflict: <message>`."""
    return BotApiError(409, f"Conflict: {message}")


def too_many_requests(retry_after: int) -> BotApiError:
    """429 with `parameters.retry_after` and a `Retry-After` header, as the real server sends."""
    return BotApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        parameters={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def unauthorized() -> BotApiError:
    """401 for a token that is not the sandbox bot's."""
    return BotApiError(401, "Unauthorized")


def method_not_found() -> BotApiError:
    """404 for a method the server does not know."""
    return BotApiError(404, "Not Found: method not found")
