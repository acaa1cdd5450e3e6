"""Zoom's REST error bodies (`{"code": N, "message": ...}`) and the exception that carries them."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

CODE_124_MESSAGE = "Invalid access token."
CODE_124_QUERY_MESSAGE = "Invalid access token, this access token is not supported as query parameter string."
VALIDATION_FAILED = "Validation Failed."
NOT_JSON = "Request Body should be a valid JSON object."


class ApiError(Exception):
    """A Zoom API error: HTTP status, Zoom's numeric code and message, optional field errors."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body Zoom sends."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body

    def response(self) -> JSONResponse:
        """This error as an HTTP response."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def invalid_token() -> ApiError:
    """401 code 124: the access token is missing, unknown, expired or revoked."""
    return ApiError(401, 124, CODE_124_MESSAGE)


def meeting_not_found(meeting_id: str | int) -> ApiError:
    """404 code 3001 for a meeting that does not exist (or not for this caller)."""
    return ApiError(404, 3001, f"Meeting {meeting_id} is not found or has expired.")


def validation_failed(errors: list[dict[str, str]]) -> ApiError:
    """400 code 300 with per-field errors."""
    return ApiError(400, 300, VALIDATION_FAILED, errors=errors)


def xml_error(status: int, code: int, message: str) -> Response:
    """An error in the XML shape Zoom sometimes answers with instead of JSON (reference §1.6)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<error><code>{code}</code><message>{escape(message)}</message></error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


async def api_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette exception handler that renders an ApiError."""
    if not isinstance(exc, ApiError):
        raise exc
    return exc.response()
