"""Benchmark: the real bot against the sandbox places N orders with Zoom On and prints what it cost.

    python -m bench.orders [--orders 100] [--owners 4] [--customers 10] [--database sqlite|postgresql]

Figures: orders per second (first /start to the last Join link in a customer's chat), p50/p95 from the
Confirm press to the Join link in the customer's chat (from the Telegram emulator's call log), the bot
process's peak RSS (VmHWM) and Zoom calls per order.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.harness import BotProcess, Sandbox, bot_environment, start_sandbox
from sandbox.telegram_client import BotCall, TelegramControl
from tests.faults.steps import Booked, customers, place_in_parallel, plan_orders, zoom_owners
from tests.support import fresh_database

JOIN = "Join a meeting"


@dataclass(frozen=True)
class Figures:
    orders: int
    seconds: float
    placing_seconds: float
    latencies: list[float]
    peak_rss_kib: int
    zoom_api_calls: int
    token_calls: int

    def lines(self) -> list[str]:
        p50, p95 = percentile(self.latencies, 50), percentile(self.latencies, 95)
        return [
            f"orders                      {self.orders}",
            f"orders/second               {self.orders / self.seconds:.2f}"
            f"  ({self.seconds:.1f} s from the first /start to the last Join link)",
            f"orders placed/second        {self.orders / self.placing_seconds:.2f}  (conversations only)",
            f"Confirm -> Join link p50    {p50:.2f} s",
            f"Confirm -> Join link p95    {p95:.2f} s",
            f"Confirm -> Join link max    {max(self.latencies):.2f} s",
            f"bot peak RSS (VmHWM)        {self.peak_rss_kib / 1024:.1f} MiB",
            f"Zoom API calls per order    {self.zoom_api_calls / self.orders:.2f}"
            f"  ({self.zoom_api_calls} in all, plus {self.token_calls} at /oauth/token)",
        ]


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(pct) - 1]


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the largest resident set the process has had, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def shows_join(call: BotCall, chat_id: int, message_id: int) -> bool:
    params: dict[str, Any] = call.params
    if call.status != 200 or str(params.get("chat_id")) != str(chat_id):
        return False
    if call.method == "editMessageText" and str(params.get("message_id")) != str(message_id):
        return False
    return JOIN in json.dumps(params.get("reply_markup") or "")


def join_times(telegram: TelegramControl, booked: Sequence[Booked]) -> dict[int, float]:
    """When each order's Join link first reached the customer's card, by order number."""
    calls = [c for c in telegram.calls() if c.method in ("editMessageText", "sendMessage")]
    found: dict[int, float] = {}
    for order in booked:
        placed = order.placed
        for call in calls:
            if shows_join(call, placed.customer.user_id, placed.card_id):
                found[placed.number] = call.at
                break
    return found


def wait_for_links(telegram: TelegramControl, booked: Sequence[Booked], timeout: float) -> dict[int, float]:
    deadline = time.monotonic() + timeout
    while True:
        found = join_times(telegram, booked)
        if len(found) == len(booked):
            return found
        if time.monotonic() > deadline:
            missing = sorted({b.placed.number for b in booked} - set(found))
            raise SystemExit(f"no Join link after {timeout:.0f} s for orders {missing}")
        time.sleep(1)


def measure(sandbox: Sandbox, bot: BotProcess, orders: int, owners: int, parallel: int) -> Figures:
    shops = zoom_owners(sandbox, owners)
    baseline_api = len(api_calls(sandbox))
    baseline_tokens = len(sandbox.zoom_control.token_calls())
    people = customers(sandbox, parallel, 10_000)
    started = time.time()
    try:
        booked = place_in_parallel(people, plan_orders(shops, orders))
    except AssertionError as exc:
        raise SystemExit(f"bench.orders: a conversation stalled: {str(exc).splitlines()[0]}") from exc
    placed = time.time()
    with TelegramControl(sandbox.telegram_server.url) as telegram:
        linked = wait_for_links(telegram, booked, timeout=600)
    assert bot.process is not None
    confirm_at = {b.placed.number: b.confirmed_at for b in booked}
    return Figures(
        orders=orders,
        seconds=max(linked.values()) - started,
        placing_seconds=placed - started,
        latencies=[linked[n] - confirm_at[n] for n in linked],
        peak_rss_kib=peak_rss_kib(bot.process.pid),
        zoom_api_calls=len(api_calls(sandbox)) - baseline_api,
        token_calls=len(sandbox.zoom_control.token_calls()) - baseline_tokens,
    )


def api_calls(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [r for r in sandbox.zoom_control.requests() if r["path"].startswith("/v2/")]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.orders", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--owners", type=int, default=4)
    parser.add_argument("--customers", type=int, default=10, help="customers ordering at the same time")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)
    if args.orders < 1 or args.owners < 1 or args.customers < 1:
        parser.error("--orders, --owners and --customers must be at least 1")
    if args.orders > args.owners * 234:
        parser.error("at most 234 orders per owner fit into the bookable days")

    with tempfile.TemporaryDirectory() as folder, fresh_database(args.database, Path(folder)) as url:
        sandbox = start_sandbox()
        bot = BotProcess.in_folder(sandbox, bot_environment(sandbox, url, LOG_LEVEL="WARNING"), Path(folder))
        try:
            bot.start()
            figures = measure(sandbox, bot, args.orders, args.owners, args.customers)
        finally:
            bot.stop()
            sandbox.stop()
    print(f"bench.orders: {args.database}, {args.owners} owners, {args.customers} customers in parallel")
    for line in figures.lines():
        print(line)


if __name__ == "__main__":
    main()
