"""Owners' Zoom connections: connecting (OAuth with PKCE), tokens and their rotation, disconnecting."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.crypto import TokenCipher
from bot.domain import ConnectionStatus, ZoomConnection, utcnow
from bot.errors import UserError
from bot.i18n import Text
from bot.jobs.outbox import Outbox
from bot.zoom.client import MeetingDefaults, ZoomClient
from bot.zoom.errors import ZoomError, ZoomGrantError
from bot.zoom.oauth import TokenSet, ZoomOAuth, new_code_verifier
from storage import repos
from storage.models import OAuthStateRow, ServiceRow, ZoomConnectionRow

log = logging.getLogger(__name__)
SETTINGS_MAX_AGE = timedelta(days=1)  # the hosts' Zoom settings are read again at most once a day

STATE_TTL = timedelta(minutes=10)
REFRESH_MARGIN = timedelta(minutes=2)
LOGIN_FAILED = "zoom-login-failed"


class NoConnection(Exception):
    """The owner has no working Zoom connection."""


@dataclass(frozen=True)
class CallbackResult:
    ok: bool
    message: Text
    owner_id: int | None = None  # whose login it was, when known: the page is in their language


@dataclass
class Host:
    """What Zoom calls on an owner's behalf need: a usable access token (replaced when Zoom refused it and it
    was refreshed), until when Zoom refuses the host's writes (its daily limit), and the host's meeting
    settings as last read (None: never read; Zoom's defaults apply)."""

    token: str
    writes_blocked_until: datetime | None
    defaults: MeetingDefaults | None


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


class ZoomConnections:
    """Connect, use and remove owners' Zoom connections."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        oauth: ZoomOAuth | None,
        zoom: ZoomClient,
        cipher: TokenCipher,
        outbox: Outbox,
        *,
        login_ttl: timedelta = STATE_TTL,
        login_kept: timedelta = timedelta(days=1),
        refresh_margin: timedelta = REFRESH_MARGIN,
        settings_max_age: timedelta = SETTINGS_MAX_AGE,
    ) -> None:
        self._sessions = sessions
        self._oauth = oauth
        self._zoom = zoom
        self._cipher = cipher
        self._outbox = outbox
        self._login_ttl = login_ttl
        self._login_kept = login_kept
        self._refresh_margin = refresh_margin
        self._settings_max_age = settings_max_age
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    @property
    def configured(self) -> bool:
        return self._oauth is not None

    async def connection(self, owner_id: int) -> ZoomConnection | None:
        async with self._sessions() as session:
            row = await repos.connection_of(session, owner_id)
            if row is None or row.status == ConnectionStatus.DISCONNECTED:
                return None
            return ZoomConnection(owner_id=owner_id, email=row.email, status=ConnectionStatus(row.status))

    async def connect_url(self, owner_id: int, service_id: int | None = None) -> str:
        """A single-use login link bound to this owner (and service), valid for ten minutes."""
        if self._oauth is None:
            raise UserError(texts.ZOOM_NOT_CONFIGURED)
        state = secrets.token_urlsafe(32)
        verifier = new_code_verifier()
        now = utcnow()
        async with self._sessions.begin() as session:
            await repos.purge_oauth_states(session, now - self._login_kept)
            session.add(
                OAuthStateRow(
                    state_hash=state_hash(state),
                    owner_id=owner_id,
                    service_id=service_id,
                    code_verifier_enc=self._cipher.encrypt(verifier),
                    expires_at=now + self._login_ttl,
                    created_at=now,
                )
            )
        return self._oauth.authorize_url(state, verifier)

    async def complete(self, state: str | None, code: str | None, error: str | None) -> CallbackResult:
        """Finish a login from Zoom's redirect. Anything wrong stores nothing and says why."""
        claimed = await self._claim_state(state)
        if isinstance(claimed, CallbackResult):
            return claimed
        owner_id, service_id, verifier = claimed
        if error or not code:
            reason = texts.LOGIN_DECLINED if error else texts.LOGIN_NO_CODE
            return await self._failed(owner_id, reason)
        if self._oauth is None:
            return CallbackResult(False, Text(texts.ZOOM_NOT_CONFIGURED), owner_id)
        try:
            tokens = await self._oauth.exchange_code(code, verifier)
        except ZoomError as exc:
            log.warning("Zoom login of owner %s failed: %s", owner_id, type(exc).__name__)
            return await self._failed(owner_id, texts.LOGIN_NOT_ACCEPTED)
        try:
            me = await self._zoom.me(tokens.access_token)
        except ZoomError as exc:
            log.warning("Reading the Zoom user of owner %s failed: %s", owner_id, type(exc).__name__)
            await self._revoke_quietly(tokens.access_token, owner_id)
            return await self._failed(owner_id, texts.LOGIN_NO_ACCOUNT)
        defaults = await self._read_defaults(owner_id, tokens.access_token)
        service_name = await self._store(owner_id, service_id, me.id, me.account_id, me.email, tokens)
        if defaults is not None:
            await self.save_defaults(owner_id, defaults)
        await self._tell_connected(owner_id, me.email, service_name)
        return CallbackResult(True, Text(texts.CALLBACK_PAGE_OK), owner_id)

    async def _read_defaults(self, owner_id: int, token: str) -> MeetingDefaults | None:
        """The host's meeting settings; without them meetings simply get Zoom's own defaults."""
        try:
            return await self._zoom.meeting_defaults(token)
        except ZoomError as exc:
            log.warning("Reading the Zoom settings of owner %s failed: %s", owner_id, type(exc).__name__)
            return None

    async def meeting_defaults(self, owner_id: int) -> MeetingDefaults | None:
        """The stored meeting settings of the owner's host (None: never read; Zoom's defaults apply)."""
        async with self._sessions() as session:
            row = await repos.connection_of(session, owner_id)
            return MeetingDefaults.from_json(row.meeting_defaults) if row is not None else None

    async def save_defaults(self, owner_id: int, defaults: MeetingDefaults) -> None:
        async with self._sessions.begin() as session:
            row = await repos.connection_of(session, owner_id, lock=True)
            if row is not None:
                row.meeting_defaults = defaults.as_json()
                row.settings_read_at = utcnow()

    async def refresh_settings(self) -> int:
        """Read again the hosts' settings last read a day ago, each claimed first so no two processes do."""
        now = utcnow()
        async with self._sessions() as session:
            owners = await repos.settings_due(session, now - self._settings_max_age)
        read = 0
        for owner_id in owners:
            async with self._sessions.begin() as session:
                if not await repos.claim_settings_read(session, owner_id, now - self._settings_max_age, now):
                    continue
            try:
                defaults = await self._zoom.meeting_defaults(await self.access_token(owner_id))
            except (NoConnection, ZoomError) as exc:  # tried today; the stored settings stay until tomorrow
                log.warning("Reading the Zoom settings of owner %s failed: %s", owner_id, type(exc).__name__)
                continue
            await self.save_defaults(owner_id, defaults)
            read += 1
        return read

    async def _claim_state(self, state: str | None) -> tuple[int, int | None, str] | CallbackResult:
        if not state or len(state) > 200:
            return CallbackResult(False, Text(texts.LOGIN_INCOMPLETE))
        now = utcnow()
        async with self._sessions.begin() as session:
            # Claimed by a conditional UPDATE first: of two callbacks at once, exactly one gets it.
            claimed = await repos.claim_oauth_state(session, state_hash(state), now)
            row = await repos.take_oauth_state(session, state_hash(state))
            if row is None:
                return CallbackResult(False, Text(texts.LOGIN_UNKNOWN))
            if not claimed:
                return CallbackResult(False, Text(texts.LOGIN_USED), row.owner_id)
            if row.expires_at < now:
                expired = row.owner_id
            else:
                return row.owner_id, row.service_id, self._cipher.decrypt(row.code_verifier_enc)
        return await self._failed(expired, texts.LOGIN_EXPIRED)

    async def _failed(self, owner_id: int, reason: str) -> CallbackResult:
        async with self._sessions.begin() as session:
            # Merged per owner: repeated failed logins (anyone can load a callback) queue no backlog.
            text = Text(texts.ZOOM_CONNECT_FAILED, {"reason": Text(reason)})
            await self._outbox.notice(session, owner_id, LOGIN_FAILED, text)
        return CallbackResult(False, Text(reason), owner_id)

    async def _store(
        self,
        owner_id: int,
        service_id: int | None,
        zoom_user_id: str,
        account_id: str,
        email: str,
        tokens: TokenSet,
    ) -> str | None:
        now = utcnow()
        # Under the owner's lock, like a refresh: token writes never interleave with one in progress.
        async with self._locks[owner_id], self._sessions.begin() as session:
            await repos.ensure_user(session, owner_id, now)  # /zoom may come before /start
            row = await repos.ensure_connection(session, owner_id, now)
            # Zoom keeps one live grant per Zoom user and app, so the account moves to whoever logged in last.
            for other in await repos.connections_of_zoom_user(session, zoom_user_id):
                if other.owner_id != owner_id and other.status != ConnectionStatus.DISCONNECTED:
                    await self._switch_off(
                        session, other, Text(texts.ZOOM_ACCOUNT_MOVED, {"email": escape(email)})
                    )
            row.zoom_user_id, row.zoom_account_id, row.email = zoom_user_id, account_id, email
            row.status = ConnectionStatus.ACTIVE
            self._put_tokens(row, tokens)
            row.reconnect_notified = False
            row.writes_blocked_until = None
            row.updated_at = now
            service_name = None
            service = await session.get(ServiceRow, service_id) if service_id else None
            if service is not None and service.owner_id == owner_id:
                service.zoom_enabled = True
                service_name = service.name
            await repos.wake_owner_jobs(session, owner_id, now)
        self._outbox.wake()
        return service_name

    async def _tell_connected(self, owner_id: int, email: str, service_name: str | None) -> None:
        lines = [Text(texts.ZOOM_CONNECTED, {"email": escape(email)})]
        if service_name:
            lines.append(Text(texts.ZOOM_CONNECTED_SERVICE, {"name": escape(service_name)}))
        text = Text(texts.LINES, {"lines": lines})
        async with self._sessions.begin() as session:
            await self._outbox.send(session, owner_id, text)

    def _put_tokens(self, row: ZoomConnectionRow, tokens: TokenSet) -> None:
        row.access_token_enc = self._cipher.encrypt(tokens.access_token)
        row.refresh_token_enc = self._cipher.encrypt(tokens.refresh_token)
        row.access_expires_at = tokens.expires_at
        row.refreshed_at = utcnow()

    async def _switch_off(self, session: AsyncSession, row: ZoomConnectionRow, message: Text | None) -> None:
        row.status = ConnectionStatus.DISCONNECTED
        row.access_token_enc = row.refresh_token_enc = None
        row.access_expires_at = None
        row.updated_at = utcnow()
        await session.execute(
            update(ServiceRow).where(ServiceRow.owner_id == row.owner_id).values(zoom_enabled=False)
        )
        if message:
            await self._outbox.send(session, row.owner_id, message)

    async def disconnect(self, owner_id: int) -> bool:
        """Revoke at Zoom, forget the tokens and switch Zoom Off everywhere. False when not connected."""
        try:  # Zoom revokes a grant by its access token (reference §1.1): a fresh one when it expired
            token: str | None = await self.access_token(owner_id)
        except (NoConnection, ZoomError):
            token = None
        async with self._locks[owner_id], self._sessions.begin() as session:
            row = await repos.connection_of(session, owner_id, lock=True)
            if row is None or row.status == ConnectionStatus.DISCONNECTED:
                return False
            await self._switch_off(session, row, None)
        if token:
            await self._revoke_quietly(token, owner_id)
        return True

    async def _revoke_quietly(self, token: str, owner_id: int) -> None:
        """Best effort: the tokens are already forgotten here whatever Zoom answers."""
        if self._oauth is None:
            return
        try:
            await self._oauth.revoke(token)
        except ZoomError as exc:
            log.warning("Revoking the Zoom token of owner %s failed: %s", owner_id, type(exc).__name__)

    async def deauthorized(self, zoom_user_id: str, account_id: str, at: datetime | None = None) -> int:
        """The app was removed in Zoom's Marketplace (at `at`): forget that user's tokens. Idempotent.

        A late event does not switch off a connection whose tokens were issued after the removal: those
        belong to a newer login that the removal did not touch.
        """
        count = 0
        async with self._sessions.begin() as session:
            for row in await repos.connections_of_zoom_user(session, zoom_user_id):
                if row.status == ConnectionStatus.DISCONNECTED:
                    continue
                if account_id and row.zoom_account_id and row.zoom_account_id != account_id:
                    continue
                if at is not None and row.refreshed_at is not None and row.refreshed_at > at:
                    log.info(
                        "A late app_deauthorized for owner %s predates their login; ignored", row.owner_id
                    )
                    continue
                await self._switch_off(session, row, Text(texts.ZOOM_DEAUTHORIZED))
                count += 1
        return count

    async def access_token(self, owner_id: int, *, rejected: str | None = None) -> str:
        """A usable access token, refreshed when it is about to expire or Zoom just refused `rejected`.

        Refreshing is serialized per connection (a lock in this process, a row lock on PostgreSQL across
        processes); the rotated refresh token is saved before the new access token is used.
        """
        return (await self.host(owner_id, rejected=rejected)).token

    def read_host(self, owner_id: int, row: Any) -> Host | None:
        """The host from its connection's columns (`storage.repos.HOST_COLUMNS`) as read with other things,
        without its lock, when its access token can be used as read: fresh, and no refresh of it under way
        in this process. None: ask `host`, which refreshes (or says why there is no usable connection)."""
        if row is None or self._locks[owner_id].locked():
            return None
        if row.connection_status != ConnectionStatus.ACTIVE or not row.refresh_token_enc:
            return None
        if not (row.access_expires_at and row.access_expires_at > utcnow() + self._refresh_margin):
            return None
        defaults = MeetingDefaults.from_json(row.meeting_defaults)
        return Host(self._cipher.decrypt(row.access_token_enc or ""), row.writes_blocked_until, defaults)

    async def host(self, owner_id: int, *, rejected: str | None = None) -> Host:
        """`access_token` with the rest of what a Zoom call on the owner's behalf needs (see `Host`)."""
        async with self._locks[owner_id]:
            async with self._sessions.begin() as session:
                row = await repos.connection_of(session, owner_id, lock=True)
                if row is not None and row.status == ConnectionStatus.NEEDS_RECONNECT:
                    raise ZoomGrantError("the owner must reconnect Zoom")
                if row is None or row.status != ConnectionStatus.ACTIVE or not row.refresh_token_enc:
                    raise NoConnection(owner_id)
                found = Host(
                    self._cipher.decrypt(row.access_token_enc or ""),
                    row.writes_blocked_until,
                    MeetingDefaults.from_json(row.meeting_defaults),
                )
                fresh = row.access_expires_at and row.access_expires_at > utcnow() + self._refresh_margin
                if fresh and found.token != rejected:
                    return found
                refresh_token = self._cipher.decrypt(row.refresh_token_enc)
                tokens = await self._refresh(session, row, refresh_token)
            if tokens is None:
                raise ZoomGrantError("the owner must reconnect Zoom")
            found.token = tokens.access_token
            return found

    async def _refresh(
        self, session: AsyncSession, row: ZoomConnectionRow, refresh_token: str
    ) -> TokenSet | None:
        if self._oauth is None:
            raise NoConnection(row.owner_id)
        try:
            tokens = await self._oauth.refresh(refresh_token)
        except ZoomGrantError:
            log.warning("Zoom refused the refresh token of owner %s: reconnect needed", row.owner_id)
            await self._needs_reconnect(session, row)
            return None
        self._put_tokens(row, tokens)
        row.updated_at = utcnow()
        return tokens

    async def _needs_reconnect(self, session: AsyncSession, row: ZoomConnectionRow) -> None:
        row.status = ConnectionStatus.NEEDS_RECONNECT
        row.access_token_enc = row.refresh_token_enc = None
        row.updated_at = utcnow()
        if not row.reconnect_notified:
            row.reconnect_notified = True
            await self._outbox.send(
                session,
                row.owner_id,
                Text(texts.ZOOM_RECONNECT_NEEDED, {"email": escape(row.email)}),
                reconnect_button=True,
            )

    async def refresh_idle(self, older_than: timedelta) -> int:
        """Refresh connections idle for `older_than`, so their refresh tokens never age out."""
        async with self._sessions() as session:
            owners = await repos.idle_connections(session, utcnow() - older_than)
        refreshed = 0
        for owner_id in owners:
            async with self._locks[owner_id], self._sessions.begin() as session:
                row = await repos.connection_of(session, owner_id, lock=True)
                if row is None or row.status != ConnectionStatus.ACTIVE or not row.refresh_token_enc:
                    continue
                try:
                    tokens = await self._refresh(session, row, self._cipher.decrypt(row.refresh_token_enc))
                except ZoomError as exc:
                    log.warning("Proactive refresh for owner %s failed: %s", owner_id, type(exc).__name__)
                    continue
                refreshed += tokens is not None
        return refreshed
