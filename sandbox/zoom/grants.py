"""Zoom's OAuth bookkeeping: authorization codes, grants, rotating refresh tokens (reference §1)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from dataclasses import dataclass
from typing import Any

from sandbox.clock import Clock
from sandbox.zoom.ids import opaque_token
from sandbox.zoom.times import zoom_time

DEFAULT_SCOPE = (
    "meeting:read:meeting meeting:write:meeting meeting:update:meeting user:read:user user:read:email "
    "user:read:settings"
)
CODE_TTL_SECONDS = 300.0


class TokenError(Exception):
    """A 400 from `/oauth/token`: `{"reason": ..., "error": ...}`."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error

    def body(self) -> dict[str, str]:
        """The JSON body Zoom sends."""
        return {"reason": self.reason, "error": self.error}


def invalid_client() -> TokenError:
    """Bad or missing Basic credentials."""
    return TokenError("Invalid client_id or client_secret", "invalid_client")


def invalid_code() -> TokenError:
    """Unknown, used or expired code, or a PKCE mismatch.

    Zoom documents 4733 "Code is expired" but no body for it; we answer expired codes like used ones.
    """
    return TokenError("Invalid authorization code", "invalid_grant")


def invalid_refresh_token() -> TokenError:
    """A rotated, revoked or unknown refresh token."""
    return TokenError("Invalid Token!", "invalid_grant")


@dataclass(frozen=True)
class OAuthClient:
    """The one Marketplace app registered with the sandbox."""

    client_id: str
    client_secret: str
    redirect_uri: str

    def matches_basic(self, authorization: str | None) -> bool:
        """Whether an `Authorization: Basic ...` header carries this app's credentials."""
        credentials = basic_credentials(authorization)
        if credentials is None:
            return False
        client_id, secret = credentials
        same_id = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        return same_id and hmac.compare_digest(secret.encode(), self.client_secret.encode())


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """Decode `Basic base64(id:secret)`; None when absent or malformed."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def pkce_challenge(verifier: str, method: str) -> str:
    """The code challenge a verifier answers: S256 is base64url(sha256) without padding."""
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class AuthCode:
    """An authorization code and what it is bound to."""

    user_id: str
    redirect_uri: str
    challenge: str | None
    method: str
    expires_at: float

    def verifier_ok(self, verifier: str | None) -> bool:
        """PKCE: without a challenge anything goes; with one, the verifier must answer it."""
        if self.challenge is None:
            return True
        if not verifier:
            return False
        return hmac.compare_digest(pkce_challenge(verifier, self.method), self.challenge)


@dataclass
class Grant:
    """One authorization of the app by a user; a refresh keeps the grant and rotates its tokens."""

    user_id: str
    scope: str
    refresh_token: str
    revoked: bool = False


@dataclass(frozen=True)
class IssuedTokens:
    """A successful token-endpoint answer."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str

    def body(self) -> dict[str, Any]:
        """The JSON body Zoom sends."""
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "refresh_token": self.refresh_token,
            "expires_in": self.expires_in,
            "scope": self.scope,
            "api_url": "https://api.zoom.us",
        }


@dataclass(frozen=True)
class Bearer:
    """Who a valid access token speaks for, and with which scopes."""

    user_id: str
    scopes: frozenset[str]


class Authority:
    """Issues and checks codes and tokens with Zoom's rules.

    Refresh tokens rotate: a refresh kills the old refresh token at once while the old access token
    lives until its own expiry. A new authorization by the same user revokes that user's earlier grants
    (Zoom's 4741). Revoking a grant kills both of its tokens.
    """

    def __init__(
        self, clock: Clock, client: OAuthClient, token_lifetime: int, scope: str = DEFAULT_SCOPE
    ) -> None:
        self.client = client
        self.token_lifetime = token_lifetime
        self.code_ttl = CODE_TTL_SECONDS
        self.scope = scope
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, AuthCode] = {}
        self._grants: dict[int, Grant] = {}
        self._refresh: dict[str, int] = {}
        self._access: dict[str, tuple[int, float]] = {}
        self._calls: list[dict[str, Any]] = []

    def issue_code(self, user_id: str, redirect_uri: str, challenge: str | None, method: str) -> str:
        """A fresh single-use code for this user, redirect URI and PKCE challenge."""
        code = opaque_token()
        expires_at = self._clock.time() + self.code_ttl
        with self._lock:
            self._codes[code] = AuthCode(user_id, redirect_uri, challenge, method, expires_at)
        return code

    def exchange_code(self, code: str, redirect_uri: str | None, verifier: str | None) -> IssuedTokens:
        """Trade a code for tokens; any attempt uses the code up, successful or not."""
        with self._lock:
            entry = self._codes.pop(code, None)
            if entry is None or entry.expires_at <= self._clock.time():
                raise invalid_code()
            if redirect_uri != entry.redirect_uri:
                # Zoom's body for this case is not documented; RFC 6749 §5.2 calls it invalid_grant.
                raise TokenError("Redirect URI mismatch.", "invalid_grant")
            if not entry.verifier_ok(verifier):
                raise invalid_code()
            self._revoke_user_locked(entry.user_id)
            return self._new_grant_locked(entry.user_id)

    def refresh(self, refresh_token: str) -> IssuedTokens:
        """Rotate: new access and refresh tokens; the presented refresh token dies now."""
        with self._lock:
            grant_id = self._refresh.pop(refresh_token, None)
            if grant_id is None or self._grants[grant_id].revoked:
                raise invalid_refresh_token()
            return self._issue_locked(grant_id, self._grants[grant_id])

    def revoke(self, token: str) -> bool:
        """Kill the grant a live access token belongs to; False for anything else.

        The reference (§1.1) documents `token=<access_token>`: a refresh token or an expired access token
        revokes nothing.
        """
        with self._lock:
            entry = self._access.get(token)
            if entry is None or entry[1] <= self._clock.time():
                return False
            self._revoke_grant_locked(entry[0])
            return True

    def revoke_user(self, user_id: str) -> int:
        """Kill every grant of this user (uninstall, admin action); returns how many were live."""
        with self._lock:
            return self._revoke_user_locked(user_id)

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired right now."""
        now = self._clock.time()
        with self._lock:
            self._access = {token: (grant_id, now) for token, (grant_id, _) in self._access.items()}

    def bearer(self, access_token: str) -> Bearer | None:
        """Who this access token speaks for; None when unknown, expired or revoked."""
        with self._lock:
            entry = self._access.get(access_token)
            if entry is None or entry[1] <= self._clock.time():
                return None
            grant = self._grants[entry[0]]
            return None if grant.revoked else Bearer(grant.user_id, frozenset(grant.scope.split()))

    def record_call(self, grant_type: str, status: int, error: str | None) -> None:
        """Remember one `/oauth/token` call."""
        entry = {
            "grant_type": grant_type,
            "status": status,
            "error": error,
            "at": zoom_time(self._clock.now()),
        }
        with self._lock:
            self._calls.append(entry)

    def calls(self) -> list[dict[str, Any]]:
        """Every `/oauth/token` call so far, oldest first."""
        with self._lock:
            return [dict(call) for call in self._calls]

    def live_grants(self, user_id: str) -> int:
        """How many unrevoked grants this user has."""
        with self._lock:
            return sum(1 for grant in self._grants.values() if grant.user_id == user_id and not grant.revoked)

    def _new_grant_locked(self, user_id: str) -> IssuedTokens:
        grant_id = len(self._grants) + 1
        grant = Grant(user_id=user_id, scope=self.scope, refresh_token="")
        self._grants[grant_id] = grant
        return self._issue_locked(grant_id, grant)

    def _issue_locked(self, grant_id: int, grant: Grant) -> IssuedTokens:
        access, refresh = opaque_token(), opaque_token()
        self._access[access] = (grant_id, self._clock.time() + self.token_lifetime)
        self._refresh[refresh] = grant_id
        grant.refresh_token = refresh
        return IssuedTokens(access, refresh, self.token_lifetime, grant.scope)

    def _revoke_user_locked(self, user_id: str) -> int:
        live = [gid for gid, grant in self._grants.items() if grant.user_id == user_id and not grant.revoked]
        for grant_id in live:
            self._revoke_grant_locked(grant_id)
        return len(live)

    def _revoke_grant_locked(self, grant_id: int) -> None:
        grant = self._grants[grant_id]
        grant.revoked = True
        self._refresh.pop(grant.refresh_token, None)
