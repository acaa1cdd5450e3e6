"""Zoom OAuth (authorization code with PKCE S256): authorize URL, code exchange, refresh, revoke.

Authlib (the 40-odd modules these helpers pull in, about 0.5 MiB resident) is imported by the calls that use
it, when an owner connects Zoom or a token is refreshed, not when the bot starts: a burst of orders needs
neither (issue 13).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from bot.metrics import Metrics
from bot.zoom.client import error_body
from bot.zoom.errors import ZoomConnectionError, ZoomError, ZoomGrantError, ZoomServerError


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime


def new_code_verifier() -> str:
    """A PKCE verifier: 64 characters from the unreserved set (RFC 7636 allows 43-128)."""
    from authlib.common.security import generate_token

    return str(generate_token(64))


class ZoomOAuth:
    """The app's OAuth client at Zoom. Credentials come from the composition root."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        oauth_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        metrics: Metrics | None = None,
    ) -> None:
        self._http = http
        self._metrics = metrics
        self._oauth_url = oauth_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri

    def authorize_url(self, state: str, code_verifier: str) -> str:
        from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        # No `scope` parameter: Zoom takes scopes from the app's configuration and rejects them here.
        return str(
            prepare_grant_uri(
                f"{self._oauth_url}/oauth/authorize",
                self._client_id,
                "code",
                redirect_uri=self.redirect_uri,
                state=state,
                code_challenge=create_s256_code_challenge(code_verifier),
                code_challenge_method="S256",
            )
        )

    async def exchange_code(self, code: str, code_verifier: str) -> TokenSet:
        from authlib.oauth2.rfc6749.parameters import prepare_token_request

        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=self.redirect_uri, code_verifier=code_verifier
        )
        return await self._token_request(body)

    async def refresh(self, refresh_token: str) -> TokenSet:
        from authlib.oauth2.rfc6749.parameters import prepare_token_request

        outcome = "error"
        try:
            tokens = await self._token_request(
                prepare_token_request("refresh_token", refresh_token=refresh_token)
            )
            outcome = "ok"
            return tokens
        except ZoomGrantError:
            outcome = "refused"
            raise
        finally:
            if self._metrics is not None:
                self._metrics.token_refreshes.labels(outcome=outcome).inc()

    async def revoke(self, token: str) -> None:
        response = await self._post("/oauth/revoke", {"token": token})
        if not response.is_success:
            raise ZoomError(
                f"Zoom refused to revoke the token: {response.status_code}", status=response.status_code
            )

    async def _token_request(self, body: str) -> TokenSet:
        response = await self._post("/oauth/token", body)
        if response.is_success:
            return _token_set(response)
        _, reason = error_body(response)
        error = _oauth_error(response)
        if error == "invalid_grant" or (error == "invalid_request" and "token" in reason.lower()):
            raise ZoomGrantError(f"Zoom refused the grant: {reason}", status=response.status_code)
        if response.status_code >= 500:
            raise ZoomServerError(
                f"Zoom's token endpoint failed: {response.status_code}", status=response.status_code
            )
        raise ZoomError(
            f"Zoom's token endpoint refused: {error} {reason}".strip(), status=response.status_code
        )

    async def _post(self, path: str, body: str | dict[str, str]) -> httpx.Response:
        auth = httpx.BasicAuth(self._client_id, self._client_secret)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        try:
            if isinstance(body, str):
                return await self._http.post(self._oauth_url + path, content=body, headers=headers, auth=auth)
            return await self._http.post(self._oauth_url + path, data=body, headers=headers, auth=auth)
        except httpx.TimeoutException as exc:
            raise ZoomConnectionError(f"Zoom did not answer {path} in time") from exc
        except httpx.TransportError as exc:
            raise ZoomConnectionError(f"Zoom could not be reached for {path}") from exc


def _oauth_error(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def _token_set(response: httpx.Response) -> TokenSet:
    try:
        data = response.json()
        return TokenSet(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            expires_at=datetime.now(UTC) + timedelta(seconds=int(data.get("expires_in", 3599))),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ZoomError("Zoom's token endpoint answered with an unreadable body") from exc
