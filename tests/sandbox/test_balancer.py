"""The round-robin proxy in front of replicas: alternates, answers 502 for a dead one, then skips it."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.balancer import RoundRobinProxy
from sandbox.server import ServedApp, free_port


def replica(name: str) -> Starlette:
    async def echo(request: Request) -> PlainTextResponse:
        body = await request.body()
        secret = request.headers.get("x-telegram-bot-api-secret-token", "")
        return PlainTextResponse(f"{name} {request.url.path} {body.decode()} {secret}", status_code=200)

    return Starlette(routes=[Route("/telegram/webhook", echo, methods=["POST"])])


def test_posts_alternate_and_a_dead_replica_gets_502_then_is_left_out() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with ServedApp(replica("a")) as a, ServedApp(replica("b")) as b:
        proxy = RoundRobinProxy([a.url, b.url, dead], fail_timeout=60)
        with ServedApp(proxy) as served:
            post = lambda n: httpx.post(  # noqa: E731
                f"{served.url}/telegram/webhook",
                content=f"u{n}",
                headers={"X-Telegram-Bot-Api-Secret-Token": "s"},
            )
            answers = [post(n) for n in range(6)]
    assert [r.status_code for r in answers] == [200, 200, 502, 200, 200, 200]
    assert [r.text for r in answers if r.status_code == 200] == [
        "a /telegram/webhook u0 s",
        "b /telegram/webhook u1 s",
        "a /telegram/webhook u3 s",
        "b /telegram/webhook u4 s",
        "a /telegram/webhook u5 s",
    ]
    assert proxy.failed[dead] == 1 and proxy.served[a.url] == 3
