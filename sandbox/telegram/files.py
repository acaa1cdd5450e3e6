"""Files: sendDocument (multipart upload, a file_id again, or attach://), getFile and the download path.

Limits as the Bot API states them: bots send files of up to 50 MB and download files of up to 20 MB;
a download link is `{url}/file/bot<token>/<file_path>`. The sandbox has no Internet, so an HTTP URL as
`document` fails the way an unreachable URL does on the real server.
"""

from __future__ import annotations

import mimetypes
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.telegram.bot_api import Handler, MethodCall
from sandbox.telegram.errors import BotApiError, bad_request
from sandbox.telegram.markup import parse_inline_markup
from sandbox.telegram.params import Params, Upload
from sandbox.telegram.parse_mode import format_text
from sandbox.telegram.state import SandboxState
from sandbox.telegram.text import FormattedText, utf16_len

JSON = dict[str, Any]
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_CAPTION_UTF16 = 1024
ATTACH = "attach://"


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str
    mime_type: str
    content: bytes

    def as_document(self) -> JSON:
        return {
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }

    def as_file(self) -> JSON:
        answer: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }
        if len(self.content) <= MAX_DOWNLOAD_BYTES:
            answer["file_path"] = self.file_path
        return answer


class FileStore:
    """Every file the bot uploaded, by file_id and by download path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}

    def add(self, upload: Upload) -> StoredFile:
        with self._lock:
            number = len(self._by_id) + 1
            suffix = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "bin"
            mime = upload.content_type
            if mime in ("", "application/octet-stream", "text/plain"):
                mime = mimetypes.guess_type(upload.filename)[0] or mime or "application/octet-stream"
            stored = StoredFile(
                file_id="BQACAgI" + secrets.token_urlsafe(30),
                file_unique_id="AgAD" + secrets.token_urlsafe(9),
                file_path=f"documents/file_{number}.{suffix[:16]}",
                file_name=upload.filename,
                mime_type=mime,
                content=upload.content,
            )
            self._by_id[stored.file_id] = stored
            self._by_path[stored.file_path] = stored
            return stored

    def by_id(self, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._by_id.get(file_id)

    def by_path(self, path: str) -> StoredFile | None:
        with self._lock:
            return self._by_path.get(path)


class FileMethods:
    """sendDocument and getFile, and the bot's file download route."""

    def __init__(self, state: SandboxState, files: FileStore) -> None:
        self._state = state
        self._files = files

    def handlers(self) -> dict[str, Handler]:
        return {"sendDocument": self.send_document, "getFile": self.get_file}

    def routes(self) -> list[Route]:
        return [
            Route("/file/bot{token}/{path:path}", self.download, methods=["GET"]),
            Route(
                "/sandbox/chats/{chat_id:int}/messages/{message_id:int}/document",
                self.opened,
                methods=["GET"],
            ),
        ]

    async def send_document(self, call: MethodCall) -> Any:
        params = call.params
        if not params.text("chat_id"):
            raise bad_request("chat_id is empty")
        stored = self._document(params)
        caption = _caption(params)
        markup = parse_inline_markup(
            params.json("reply_markup", "can't parse reply keyboard markup JSON object")
        )
        chat = self._state.world.chat_for_bot(params.optional_int("chat_id"))
        self._state.faults.check_flood(chat.id)
        extra: JSON = {"document": stored.as_document()}
        if caption is not None and caption.text:
            extra["caption"] = caption.text
            if caption.entities:
                extra["caption_entities"] = caption.entities
        return self._state.world.add_bot_media(chat, extra, markup).as_message()

    def _document(self, params: Params) -> StoredFile:
        upload = params.upload("document")
        reference = params.text("document")
        if upload is None and reference and reference.startswith(ATTACH):
            upload = params.upload(reference.removeprefix(ATTACH))
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        if upload is not None:
            if len(upload.content) > MAX_UPLOAD_BYTES:
                raise BotApiError(413, "Request Entity Too Large")
            if not upload.content:
                raise bad_request("file must be non-empty")
            return self._files.add(upload)
        if not reference:
            raise bad_request("there is no document in the request")
        if reference.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = self._files.by_id(reference)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    async def get_file(self, call: MethodCall) -> Any:
        file_id = call.params.text("file_id")
        if not file_id:
            raise bad_request("file_id not specified")
        stored = self._files.by_id(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return stored.as_file()

    async def download(self, request: Request) -> Response:
        stored = self._files.by_path(request.path_params["path"])
        if request.path_params["token"] != self._state.token or stored is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
        return Response(stored.content, media_type=stored.mime_type)

    async def opened(self, request: Request) -> Response:
        """Control API: the bytes of a document in a chat, as the person's app downloads them."""
        message = self._state.world.find(request.path_params["chat_id"], request.path_params["message_id"])
        document = message.extra.get("document") if message is not None else None
        stored = self._files.by_id(str(document["file_id"])) if isinstance(document, dict) else None
        if stored is None:
            return JSONResponse({"error": "no such message with a document in that chat"}, status_code=404)
        return Response(stored.content, media_type=stored.mime_type)


def _caption(params: Params) -> FormattedText | None:
    text = params.text("caption")
    if not text:
        return None
    formatted = format_text(
        text, params.text("parse_mode"), params.json("caption_entities", "can't parse entities JSON object")
    )
    if utf16_len(formatted.text) > MAX_CAPTION_UTF16:
        raise bad_request("message caption is too long")
    return formatted
