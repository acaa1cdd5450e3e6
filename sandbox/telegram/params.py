"""Bot API request parameters from the query string and an urlencoded, multipart or JSON body.

python-telegram-bot sends form bodies whose non-string values are JSON strings (`chat_id='123'`,
`reply_markup='{"inline_keyboard": ...}'`, `show_alert='true'`), while hand-written clients often send JSON
with native values; `Params` reads both the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from sandbox.telegram.errors import bad_request

_LEADING_INTEGER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart/form-data request (an InputFile)."""

    filename: str
    content_type: str
    content: bytes


async def read_params(request: Request) -> Params:
    """Merge query-string parameters with those of the body (the body wins)."""
    values: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body:
        values.update(_parse_body(body, content_type))
    return Params(values)


def _parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return _parse_json_body(body)
    if media_type == "multipart/form-data":
        return _parse_multipart(body, content_type)
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _parse_json_body(body: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(body)
    except ValueError as exc:
        raise bad_request("can't parse JSON encoded request") from exc
    if not isinstance(decoded, dict):
        raise bad_request("can't parse JSON encoded request")
    return decoded


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    values: dict[str, Any] = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            values[name] = _part_value(part)
    return values


def _part_value(part: Message) -> Any:
    payload = part.get_payload(decode=True)
    raw = payload if isinstance(payload, bytes) else b""
    filename = part.get_filename()
    if filename is not None:
        return Upload(filename, part.get_content_type(), raw)
    return raw.decode("utf-8", "replace")


class Params:
    """Typed access to one request's parameters, with the server's lenient integer parsing."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def __contains__(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def text(self, name: str) -> str | None:
        """A string parameter; JSON numbers arrive as numbers and are turned back into text."""
        value = self.values.get(name)
        if value is None or isinstance(value, Upload):
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def upload(self, name: str) -> Upload | None:
        """The file uploaded under this multipart field name, if any."""
        value = self.values.get(name)
        return value if isinstance(value, Upload) else None

    def integer(self, name: str, default: int, low: int | None = None, high: int | None = None) -> int:
        """Like the server's get_integer_arg: absent means default, out of range is clamped."""
        value = _to_int(self.values.get(name))
        result = default if value is None else value
        if low is not None:
            result = max(low, result)
        if high is not None:
            result = min(high, result)
        return result

    def optional_int(self, name: str) -> int | None:
        return _to_int(self.values.get(name))

    def boolean(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def json(self, name: str, error: str) -> Any:
        """A structured parameter sent either natively (JSON body) or as a JSON string (forms)."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError as exc:
            raise bad_request(error) from exc

    def logged(self) -> dict[str, Any]:
        """The parameters as recorded in the call log: JSON strings of objects and arrays decoded."""
        return {name: _decode_if_structured(value) for name, value in self.values.items()}


def _to_int(value: Any) -> int | None:
    """None when absent or empty; otherwise like TDLib's to_integer: leading digits, else 0."""
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        return int(value)
    if not isinstance(value, str) or value == "":
        return None
    digits = _LEADING_INTEGER.match(value)
    return int(digits.group(0)) if digits else 0


def _decode_if_structured(value: Any) -> Any:
    if isinstance(value, Upload):
        return {"filename": value.filename, "size": len(value.content)}
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
