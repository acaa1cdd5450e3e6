"""Every HTTP client of the bot (Zoom's, and python-telegram-bot's two) verifies servers with one TLS context:
each client building its own loaded the CA store again, 0.8 MiB apiece (issue 13)."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from bot.app import build
from bot.settings import load_settings
from bot.zoom.transport import KeptAliveTransport

TOKEN = "123456:" + "A" * 35


def tls_context(client: httpx.AsyncClient) -> ssl.SSLContext:
    """The context an httpx client opens its TLS connections with: its transport's pool holds it, or, for
    Zoom's client (bot/zoom/transport.py), the keep-alive pool it makes for an https origin."""
    transport = client._transport
    if isinstance(transport, KeptAliveTransport):
        return transport._pool(httpx.URL("https://api.zoom.us/v2/users/me"))._ssl  # type: ignore[return-value]
    return transport._pool._ssl_context  # type: ignore[attr-defined, no-any-return]


async def test_the_clients_share_one_context_that_verifies_certificates_and_host_names(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        environ={"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db"}
    )
    runtime = build(settings)
    try:
        telegram = [request._client for request in runtime.application.bot._request]
        contexts = {id(tls_context(client)) for client in [runtime.http, *telegram]}
        context = tls_context(runtime.http)
        assert len(telegram) == 2 and len(contexts) == 1
        # The keep-alive pools that carry ordinary Bot API calls (bot/telegram/connections.py) use it too.
        for request in runtime.application.bot._request:
            route = request._route("https://api.telegram.org/bot1:x/sendMessage")
            assert route.pool is not None and route.pool._ssl is context
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
        assert context.get_ca_certs() or context.cert_store_stats()["x509_ca"] > 0
    finally:
        await runtime.http.aclose()
        for request in runtime.application.bot._request:
            await request.shutdown()
        await runtime.engine.dispose()
