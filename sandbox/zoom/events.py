"""Things that happen in Zoom outside the app's API calls, and the webhooks announcing them (§4.3–4.5)."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

from starlette.background import BackgroundTask

from sandbox.clock import Clock
from sandbox.zoom.errors import ApiError
from sandbox.zoom.grants import Authority
from sandbox.zoom.meeting_fields import read_meeting_fields
from sandbox.zoom.meetings import MeetingBook, MeetingChange, StoredMeeting, summary_view
from sandbox.zoom.times import zoom_time_ms
from sandbox.zoom.users import Directory, ZoomUser
from sandbox.zoom.webhooks import VARIANTS, WebhookSender

URL_VALIDATION = "endpoint.url_validation"
APP_DEAUTHORIZED = "app_deauthorized"
MEETING_DELETED = "meeting.deleted"
MEETING_UPDATED = "meeting.updated"
EVENTS = (URL_VALIDATION, APP_DEAUTHORIZED, MEETING_DELETED, MEETING_UPDATED)

_log = logging.getLogger(__name__)

# A builder returns the payload and, for url_validation, a check of the app's answer.
Built = tuple[dict[str, Any], Callable[[dict[str, Any]], bool] | None]


class HostActivity:
    """Makes Zoom-side events happen and tells the app about them through its webhook endpoint.

    Only the `signed` variant is a real event, so only it changes the sandbox (deletes the meeting,
    revokes the grants, ...); `forged`, `stale` and `unsigned` pretend to be an attacker or a broken
    sender, and `replay` re-sends the previous delivery of the event byte for byte.
    """

    def __init__(
        self,
        directory: Directory,
        authority: Authority,
        book: MeetingBook,
        sender: WebhookSender,
        clock: Clock,
    ) -> None:
        self._directory = directory
        self._authority = authority
        self._book = book
        self._sender = sender
        self._clock = clock

    async def send(self, event: str, variant: str, params: dict[str, Any]) -> dict[str, Any]:
        """Make `event` happen (for signed) and deliver it; returns the delivery report."""
        if event not in EVENTS or variant not in VARIANTS:
            raise ValueError(f"unknown event {event!r} or variant {variant!r}")
        if variant == "replay":
            return await self._sender.deliver(self._sender.previous(event), variant)
        payload, check = self._build(event, params, variant == "signed")
        outgoing = self._sender.compose(event, payload, variant)
        report = await self._sender.deliver(outgoing, variant)
        if check is not None:
            report["url_validation"] = "passed" if check(report) else "failed"
        elif variant == "signed":
            self._sender.retry_if_failed(outgoing, report)
        return report

    def _build(self, event: str, params: dict[str, Any], real: bool) -> Built:
        if event == URL_VALIDATION:
            return self._url_validation(params)
        if event == APP_DEAUTHORIZED:
            return self._deauthorized(self._directory.require(str(_param(params, "email"))), real), None
        meeting = self._book.find(int(_param(params, "meeting_id")))
        if event == MEETING_DELETED:
            return self._deleted(meeting, real), None
        return self._updated(meeting, dict(params.get("changes", {})), real), None

    def _url_validation(self, params: dict[str, Any]) -> Built:
        plain = str(params.get("plain_token") or secrets.token_urlsafe(16))
        expected = self._sender.encrypted_token(plain)

        def check(report: dict[str, Any]) -> bool:
            answer = _json_object(report.get("body", ""))
            token = str(answer.get("encryptedToken", ""))
            answered = report.get("status") == 200 and answer.get("plainToken") == plain
            return answered and hmac.compare_digest(token, expected)

        return {"plainToken": plain}, check

    def _deauthorized(self, user: ZoomUser, real: bool) -> dict[str, Any]:
        if real:
            self._authority.revoke_user(user.id)
        return {
            "user_data_retention": "false",
            "account_id": user.account_id,
            "user_id": user.id,
            "signature": secrets.token_hex(32),
            "deauthorization_time": zoom_time_ms(self._clock.now()),
            "client_id": self._authority.client.client_id,
        }

    def _deleted(self, meeting: StoredMeeting, real: bool) -> dict[str, Any]:
        if real and self._book.delete(meeting.id, by="zoom") is None:
            raise ValueError(f"meeting {meeting.id} is already deleted")
        return self._deleted_payload(meeting)

    def _deleted_payload(self, meeting: StoredMeeting) -> dict[str, Any]:
        host = self._host(meeting)
        return {
            "account_id": host.account_id,
            "operator": host.email,
            "operator_id": host.id,
            "object": _brief(meeting),
        }

    def _updated(self, meeting: StoredMeeting, changes: dict[str, Any], real: bool) -> dict[str, Any]:
        try:
            values = read_meeting_fields(changes, meeting.timezone)
        except ApiError as exc:
            raise ValueError(f"invalid changes: {exc.errors}") from exc
        if real:
            change = self._book.update(meeting.id, values, by="zoom")
        else:
            change = self._book.preview(meeting.id, values)
        return self._updated_payload(self._host(meeting), change)

    def _updated_payload(self, host: ZoomUser, change: MeetingChange) -> dict[str, Any]:
        return {
            "account_id": host.account_id,
            "operator": host.email,
            "operator_id": host.id,
            "object": {"id": change.meeting_id, **change.new},
            "old_object": {"id": change.meeting_id, **change.old},
            "time_stamp": int(self._clock.time() * 1000),
        }

    def _host(self, meeting: StoredMeeting) -> ZoomUser:
        host = self._directory.by_id(meeting.host_id)
        if host is None:
            raise LookupError(f"host {meeting.host_id} of meeting {meeting.id} is gone")
        return host

    def echo_update(self, host: ZoomUser, change: MeetingChange) -> BackgroundTask | None:
        """The meeting.updated real Zoom emits after the app's own PATCH, if echoes are switched on."""
        if not change.new:
            return None
        return self._echo(MEETING_UPDATED, lambda: self._updated_payload(host, change))

    def echo_delete(self, meeting: StoredMeeting) -> BackgroundTask | None:
        """The meeting.deleted real Zoom emits after the app's own DELETE, if echoes are switched on."""
        return self._echo(MEETING_DELETED, lambda: self._deleted_payload(meeting))

    def _echo(self, event: str, payload: Callable[[], dict[str, Any]]) -> BackgroundTask | None:
        if not self._sender.emit_api_events or self._sender.url is None:
            return None
        return BackgroundTask(self._deliver_echo, event, payload)

    async def _deliver_echo(self, event: str, payload: Callable[[], dict[str, Any]]) -> None:
        outgoing = self._sender.compose(event, payload(), "signed")
        report = await self._sender.deliver(outgoing, "signed")
        if not report["delivered"]:
            _log.warning("echo of %s not delivered: %s", event, report["error"])
        self._sender.retry_if_failed(outgoing, report)


def _param(params: dict[str, Any], name: str) -> Any:
    if name not in params:
        raise ValueError(f"this event needs {name}=")
    return params[name]


BRIEF_KEYS = ("uuid", "id", "host_id", "topic", "type", "start_time", "duration", "timezone")


def _brief(meeting: StoredMeeting) -> dict[str, Any]:
    """The meeting as a `meeting.deleted` payload carries it: the listed fields without the agenda."""
    listed = summary_view(meeting)
    return {key: listed[key] for key in BRIEF_KEYS}


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
