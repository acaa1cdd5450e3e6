"""Zoom's OAuth endpoints: `/oauth/authorize`, `/oauth/token`, `/oauth/revoke` (reference §1)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox.zoom.grants import Authority, IssuedTokens, TokenError, invalid_client
from sandbox.zoom.users import Directory

_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


@dataclass(frozen=True)
class AuthorizeRefusal:
    """Why zoom.us shows an error page instead of redirecting back to the app."""

    status: int
    message: str
    code: int | None = None

    def page(self) -> HTMLResponse:
        """The error page the person sees in the browser."""
        code = "" if self.code is None else f"<p>Error code: {self.code}</p>"
        head = "<head><title>Error - Zoom</title></head>"
        html = f"<html>{head}<body><h1>{escape(self.message)}</h1>{code}</body></html>"
        return HTMLResponse(html, status_code=self.status)


def redirect_with(uri: str, params: dict[str, str]) -> RedirectResponse:
    """302 to `uri` with `params` appended to its query string."""
    joiner = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{joiner}{urlencode(params)}", status_code=302)


async def request_params(request: Request) -> dict[str, str]:
    """Token-endpoint parameters: the query string, overridden by a form-encoded body."""
    params = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = (await request.body()).decode("utf-8", "replace")
        params.update(parse_qsl(body, keep_blank_values=True))
    return params


class OAuthEndpoints:
    """The zoom.us side of the OAuth dance, for one registered app."""

    def __init__(self, directory: Directory, authority: Authority) -> None:
        self._directory = directory
        self._authority = authority

    def routes(self) -> list[Route]:
        """Starlette routes for the three endpoints."""
        return [
            Route("/oauth/authorize", self.authorize, methods=["GET"]),
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/oauth/revoke", self.revoke, methods=["POST"]),
        ]

    async def authorize(self, request: Request) -> Response:
        """The consent screen: redirect back with a code, an access_denied, or show an error page."""
        params = dict(request.query_params)
        refusal = self._refusal(params)
        if refusal is not None:
            return refusal.page()
        user = self._directory.session_user()
        if user is None:
            return HTMLResponse("<html><head><title>Sign In - Zoom</title></head><body>Sign In</body></html>")
        state = {"state": params["state"]} if "state" in params else {}
        redirect_uri = params["redirect_uri"]
        if self._directory.take_declined_consent():
            # Zoom's shape for a declined consent is NOT FOUND (reference §1.2); this is RFC 6749's.
            return redirect_with(redirect_uri, {"error": "access_denied", **state})
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or "plain"
        code = self._authority.issue_code(user.id, redirect_uri, challenge, method)
        return redirect_with(redirect_uri, {"code": code, **state})

    def _refusal(self, params: dict[str, str]) -> AuthorizeRefusal | None:
        client = self._authority.client
        if params.get("client_id") != client.client_id:
            return AuthorizeRefusal(400, "Invalid client_id.", 4702)
        if params.get("redirect_uri") != client.redirect_uri:
            return AuthorizeRefusal(400, "Redirect URI mismatch.", 4709)
        if params.get("response_type") != "code":
            return AuthorizeRefusal(400, "Unsupported response type.", 4706)
        if "scope" in params:
            return AuthorizeRefusal(400, "Invalid scopes")
        if params.get("code_challenge_method", "plain") not in ("plain", "S256"):
            return AuthorizeRefusal(400, "Invalid code_challenge_method.")
        return None

    async def token(self, request: Request) -> Response:
        """Code exchange and refresh, with Basic client authentication."""
        params = await request_params(request)
        grant_type = params.get("grant_type", "")
        try:
            tokens = self._grant(request.headers.get("authorization"), grant_type, params)
        except TokenError as exc:
            self._authority.record_call(grant_type, 400, exc.error)
            return JSONResponse(exc.body(), status_code=400, headers=_NO_STORE)
        self._authority.record_call(grant_type, 200, None)
        return JSONResponse(tokens.body(), headers=_NO_STORE)

    def _grant(self, authorization: str | None, grant_type: str, params: dict[str, str]) -> IssuedTokens:
        if not self._authority.client.matches_basic(authorization):
            raise invalid_client()
        if grant_type == "authorization_code":
            code = params.get("code", "")
            return self._authority.exchange_code(
                code, params.get("redirect_uri"), params.get("code_verifier")
            )
        if grant_type == "refresh_token":
            return self._authority.refresh(params.get("refresh_token", ""))
        raise TokenError("unsupported grant type", "unsupported_grant_type")

    async def revoke(self, request: Request) -> Response:
        """Revoke the grant behind a live access token (a refresh token revokes nothing)."""
        if not self._authority.client.matches_basic(request.headers.get("authorization")):
            return JSONResponse(invalid_client().body(), status_code=400)
        token = (await request_params(request)).get("token", "")
        if not token:
            return JSONResponse(
                {"reason": "Token cannot be empty", "error": "invalid_request"}, status_code=400
            )
        # Unknown tokens (refresh tokens too) also get "success" and revoke nothing: RFC 7009 behaviour;
        # Zoom's answer for them is not documented.
        self._authority.revoke(token)
        return JSONResponse({"status": "success"})
