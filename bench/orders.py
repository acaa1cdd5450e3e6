"""Benchmark: the real bot under a burst of orders, against the emulators, with figures against a bare bot.

    python -m bench.orders [--orders 200] [--owners 10] [--customers 200] [--database sqlite|postgresql]
                           [--skip echo,limits,store] [--store-orders 100000] [--profile DIR]

One run measures, each part with a fresh database, a fresh sandbox and a fresh bot process:

- burst: `--customers` people order `--orders` slots of `--owners` owners (Zoom On) at once, limits off (in
  the emulator, and the bot's own pacing set as high as it goes, as for the bare bots it is compared with):
  orders/s, Confirm -> Join p50/p95/p99, bot CPU seconds per order and per update, peak RSS, Zoom and
  Telegram calls per order;
- echo: a bare python-telegram-bot echo bot (bench/echo_bot.py) answering as many texts as the burst
  brought updates, and the ratio of the two bots' updates per CPU-second;
- limits: the same burst with Telegram's flood limits on in the emulator (30 sends a second overall,
  about one a second per chat): the share of the overall cap used while messages wait, and what is lost;
- store: `--store-orders` orders written straight into the database, then `/orders` for owners with
  `--store-orders / 10` orders each: peak RSS and the p50/p95 of the reply.

With `--profile DIR`, py-spy samples the bot during the burst and the top costs are printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.customers import Pace, own_connections, place_at_once
from bench.echo import EchoFigures, measure_echo
from bench.limits import LimitFigures, cap_use, owner_join_times
from bench.procstat import cpu_seconds, peak_rss_kib
from bench.profiling import Profiler
from bench.remote_sandbox import start_remote_sandbox
from bench.store import StoreFigures, measure_store
from sandbox.harness import BotProcess, Sandbox, bot_environment
from sandbox.telegram.client import BotCall, TelegramControl, TelegramUser
from tests.support import fresh_database
from tests.support.crowds import Confirmed, plan_orders, zoom_owners

JOIN = "Join a meeting"
MESSAGE_METHODS = ("sendMessage", "editMessageText", "editMessageReplyMarkup")
PARTS = ("burst", "echo", "limits", "store")
# The burst runs with Telegram's limits off on both sides: the emulator enforces none, and the bot's own
# pacing (its side of the limits, bot/telegram/limits.py) is set as high as its settings allow, like the bare
# bots it is compared with. The limits part measures the pacing against the emulator's limits.
UNPACED = {
    "TELEGRAM_OVERALL_PER_SECOND": "1000",
    "TELEGRAM_CHAT_BURST": "1000",
    "TELEGRAM_CHAT_PERIOD_SECONDS": "1",
}


@dataclass
class Burst:
    orders: int
    seconds: float
    placing_seconds: float
    latencies: list[float]
    peak_rss_kib: int
    cpu_seconds: float
    updates: int
    zoom_api_calls: int
    token_calls: int
    telegram_calls: Counter[str]
    statements: float | None  # SQL statements the bot sent meanwhile (its /metrics), None when unknown
    booked: list[Confirmed] = field(repr=False)
    calls: list[BotCall] = field(repr=False)
    confirmed_from: float = 0.0


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(pct) - 1]


def has_join(call: BotCall) -> bool:
    markup = call.params.get("reply_markup")
    return call.status == 200 and markup is not None and JOIN in str(markup)


def join_times(calls: Sequence[BotCall], booked: Sequence[Confirmed]) -> dict[int, float]:
    """When each order's Join link first reached the customer's card, by order number."""
    first: dict[tuple[str, str], float] = {}
    for call in calls:
        if call.method in ("editMessageText", "editMessageReplyMarkup") and has_join(call):
            key = (str(call.params.get("chat_id")), str(call.params.get("message_id")))
            first.setdefault(key, call.at)
    found: dict[int, float] = {}
    for order in booked:
        placed = order.placed
        at = first.get((str(placed.customer.user_id), str(placed.card_id)))
        if at is not None:
            found[placed.number] = at
    return found


def wait_for_links(
    telegram: TelegramControl, booked: Sequence[Confirmed], timeout: float, *, strict: bool = True
) -> tuple[dict[int, float], list[BotCall]]:
    deadline = time.monotonic() + timeout
    while True:
        calls = telegram.calls()
        found = join_times(calls, booked)
        if len(found) == len(booked):
            return found, calls
        if time.monotonic() > deadline:
            if not strict:
                return found, calls
            missing = sorted({b.placed.number for b in booked} - set(found))
            raise SystemExit(f"no Join link after {timeout:.0f} s for orders {missing}")
        time.sleep(1)


def shared_http() -> httpx.Client:
    """The benchmark's own reads (the bot's metrics); the simulated people each have a connection of their
    own (`own_connections`)."""
    return httpx.Client(timeout=60, trust_env=False)


def burst(
    sandbox: Sandbox,
    bot: BotProcess,
    args: argparse.Namespace,
    http: httpx.Client,
    profiler: Profiler | None = None,
    *,
    strict: bool = True,
) -> Burst:
    """Owners set up first; then every customer orders at once and the bot is measured from there."""
    shops = zoom_owners(sandbox, args.owners)
    assert bot.process is not None
    pid = bot.process.pid
    url = sandbox.telegram_server.url
    with (
        own_connections(args.customers) as connections,
        TelegramControl(url) as telegram,
    ):
        people = [
            TelegramUser(url, 10_000 + i, f"Customer{i}", f"customer{i}", http=connections[i])
            for i in range(args.customers)
        ]
        baseline_calls = len(telegram.calls())
        baseline_updates = len(telegram.updates())
        baseline_api = len(api_calls(sandbox))
        baseline_tokens = len(sandbox.zoom_control.token_calls())
        if profiler is not None:
            profiler.start(pid)
        try:
            statements_before = db_statements(bot, http)
            cpu_before = cpu_seconds(pid)
            started = time.time()
            try:
                booked = place_at_once(people, plan_orders(shops, args.orders), pace(args))
            except AssertionError as exc:
                raise SystemExit(f"bench.orders: a conversation stalled: {str(exc)[-3000:]}") from exc
            placed = time.time()
            linked, calls = wait_for_links(telegram, booked, timeout=args.timeout, strict=strict)
            if not strict:
                owner_join_times(telegram, calls, booked, wait=args.timeout)  # let the owners' cards settle
                calls = telegram.calls()
            cpu = cpu_seconds(pid) - cpu_before
            statements_after = db_statements(bot, http)
        finally:
            if profiler is not None:
                profiler.stop()
        updates = len(telegram.updates()) - baseline_updates
    new_calls = calls[baseline_calls:]
    confirm_at = {b.placed.number: b.confirmed_at for b in booked}
    return Burst(
        orders=len(booked),
        seconds=(max(linked.values()) if linked else time.time()) - started,
        placing_seconds=placed - started,
        latencies=[linked[n] - confirm_at[n] for n in linked],
        peak_rss_kib=peak_rss_kib(pid),
        cpu_seconds=cpu,
        updates=updates,
        zoom_api_calls=len(api_calls(sandbox)) - baseline_api,
        token_calls=len(sandbox.zoom_control.token_calls()) - baseline_tokens,
        telegram_calls=Counter(call.method for call in new_calls),
        statements=(
            statements_after - statements_before - 1  # the scrape's own look at the jobs
            if statements_after is not None and statements_before is not None
            else None
        ),
        booked=booked,
        calls=new_calls,
        confirmed_from=min(confirm_at.values()),
    )


def write_calls(path: Path, calls: Sequence[BotCall]) -> None:
    """The burst's calls, one JSON object a line, to read an order's life (which chat, what changed)."""
    with path.open("w", encoding="utf-8") as out:
        for call in calls:
            out.write(json.dumps(asdict(call), ensure_ascii=False) + "\n")


def db_statements(bot: BotProcess, http: httpx.Client) -> float | None:
    """`bot_db_statements_total` from the bot's /metrics."""
    try:
        body = http.get(f"{bot.web_url}/metrics").text
    except httpx.HTTPError:
        return None
    for line in body.splitlines():
        if line.startswith("bot_db_statements_total "):
            return float(line.split()[1])
    return None


def pace(args: argparse.Namespace) -> Pace:
    return Pace(timeout=args.step_timeout, interval=args.poll)


def api_calls(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [r for r in sandbox.zoom_control.requests() if r["path"].startswith("/v2/")]


def run_bot(args: argparse.Namespace, work, **extra_env: str):
    """A fresh database, sandbox and bot process; `work(sandbox, bot)` measures."""
    with tempfile.TemporaryDirectory() as folder, fresh_database(args.database, Path(folder)) as url:
        sandbox = start_remote_sandbox()
        env = bot_environment(sandbox, url, LOG_LEVEL="WARNING", **extra_env)
        bot = BotProcess.in_folder(sandbox, env, Path(folder))
        try:
            sandbox.zoom_control.set_qps_limit(None)
            with TelegramControl(sandbox.telegram_server.url) as telegram:
                telegram.set_flood_limit(None)
                telegram.set_overall_limit(None)
            return work(sandbox, bot, url)
        except BaseException:
            print(f"bench.orders: the bot's log ends with:\n{bot.logs()[-6000:]}", file=sys.stderr)
            raise
        finally:
            bot.stop()
            sandbox.stop()


def measure_burst(args: argparse.Namespace, http: httpx.Client, profiler: Profiler | None) -> Burst:
    def work(sandbox: Sandbox, bot: BotProcess, url: str) -> Burst:
        bot.start()
        return burst(sandbox, bot, args, http, profiler)

    result: Burst = run_bot(args, work, **UNPACED)
    return result


def measure_limits(args: argparse.Namespace, http: httpx.Client) -> LimitFigures:
    def work(sandbox: Sandbox, bot: BotProcess, url: str) -> LimitFigures:
        bot.start()
        with TelegramControl(sandbox.telegram_server.url) as telegram:
            telegram.set_overall_limit(args.overall_limit, per_seconds=1)
            telegram.set_flood_limit(args.chat_burst, per_seconds=args.chat_burst / args.chat_rate)
        result = burst(sandbox, bot, args, http, strict=False)
        if args.calls is not None:
            write_calls(args.calls.with_name(args.calls.stem + "-limits.jsonl"), result.calls)
        with TelegramControl(sandbox.telegram_server.url) as telegram:
            owners_done = owner_join_times(telegram, result.calls, result.booked, wait=0)
        customers_done = join_times(result.calls, result.booked)
        return cap_use(result.calls, result.booked, customers_done, owners_done, args.overall_limit)

    result: LimitFigures = run_bot(args, work)
    return result


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    target: str = ""
    met: bool | None = None


def burst_rows(found: Burst, echo: EchoFigures | None) -> list[Row]:
    n = found.orders
    lat = found.latencies
    p50, p95, p99 = (percentile(lat, p) for p in (50, 95, 99))
    rate = n / found.seconds
    per_update = found.updates / found.cpu_seconds if found.cpu_seconds else 0.0
    telegram_total = sum(v for k, v in found.telegram_calls.items() if k != "getUpdates")
    rss = found.peak_rss_kib / 1024
    rows = [
        Row("orders", f"{n} ({found.updates} updates from customers)"),
        Row(
            "orders/second",
            f"{rate:.2f}  ({found.seconds:.1f} s first /start -> last Join)",
            ">= 40",
            rate >= 40,
        ),
        Row("orders placed/second (conversations only)", f"{n / found.placing_seconds:.2f}"),
        Row("Confirm -> Join p50", f"{p50:.2f} s"),
        Row("Confirm -> Join p95", f"{p95:.2f} s", "<= 1.5 s", p95 <= 1.5),
        Row("Confirm -> Join p99", f"{p99:.2f} s"),
        Row("bot CPU seconds per order", f"{found.cpu_seconds / n:.3f}  ({found.cpu_seconds:.1f} s in all)"),
        Row("bot CPU ms per update", f"{1000 * found.cpu_seconds / max(1, found.updates):.1f}"),
        Row(
            "SQL statements per order",
            f"{found.statements / n:.1f}  ({found.statements / max(1, found.updates):.1f} per update)"
            if found.statements is not None
            else "unknown",
        ),
        Row("bot peak RSS (VmHWM)", f"{rss:.1f} MiB", "<= 90 MB", rss * 1.048576 <= 90),
        Row(
            "Zoom API calls per order",
            f"{found.zoom_api_calls / n:.2f}  (+{found.token_calls} at /oauth/token)",
            "exactly 1",
            found.zoom_api_calls == n,
        ),
        Row(
            "Telegram calls per order",
            f"{telegram_total / n:.2f}  ("
            + ", ".join(
                f"{k} {v / n:.2f}" for k, v in found.telegram_calls.most_common() if k != "getUpdates"
            )
            + f"; getUpdates {found.telegram_calls['getUpdates']} in all)",
        ),
    ]
    if echo is not None:
        ratio = per_update / echo.updates_per_cpu_second
        rows += [
            Row("bot updates per CPU-second", f"{per_update:.1f}"),
            Row(
                "echo bot updates per CPU-second",
                f"{echo.updates_per_cpu_second:.1f}  ({echo.updates} texts, {echo.cpu_seconds:.2f} CPU s, "
                f"peak RSS {echo.peak_rss_kib / 1024:.1f} MiB)",
            ),
            Row(
                "ratio bot / echo bot",
                f"{ratio:.3f}  (echo bot is {1 / ratio:.1f}x cheaper)",
                ">= 0.3",
                ratio >= 0.3,
            ),
        ]
    return rows


def limit_rows(found: LimitFigures) -> list[Row]:
    return [
        Row(
            "limits: orders",
            f"{found.orders}  ({found.seconds:.1f} s first Confirm -> last Join in both chats)",
        ),
        Row(
            "limits: overall cap used while cards wait",
            f"{100 * found.cap_share:.0f}%  "
            f"({found.sent_in_backlog} sends in {found.backlog_seconds} s with a card waiting a whole second)"
            if found.backlog_seconds
            else "no card waited a whole second for its Join (cards go first)",
        ),
        Row(
            "limits: overall cap used, first send -> last",
            f"{100 * found.sending_share:.0f}%  "
            f"({found.sent_while_sending} sends in {found.sending_seconds} s; messages wait throughout)",
            ">= 90%",
            found.sending_share >= 0.9,
        ),
        Row(
            "limits: share of what the limits allowed",
            f"{100 * found.attainable_share:.0f}%  (sends to waiting chats / min(overall, chats x rate))",
        ),
        Row("limits: 429 answers to the bot", str(found.refused)),
        Row(
            "limits: orders lost (no Join in a chat)",
            f"{found.lost}  (customer {found.lost_customer}, owner {found.lost_owner})",
            "0",
            found.lost == 0,
        ),
    ]


def store_rows(found: StoreFigures) -> list[Row]:
    rss = found.peak_rss_kib / 1024
    p95 = percentile(found.reply_seconds, 95)
    return [
        Row("store: orders stored", f"{found.orders} ({found.fill_seconds:.1f} s to write)"),
        Row(
            "store: bot peak RSS (VmHWM)",
            f"{rss:.1f} MiB  ({found.rss_after_start_kib / 1024:.1f} MiB right after start)",
            "<= 150 MB",
            rss * 1.048576 <= 150,
        ),
        Row(
            "store: /orders -> reply p50",
            f"{1000 * percentile(found.reply_seconds, 50):.0f} ms  (owners with {found.per_owner} orders)",
        ),
        Row("store: /orders -> reply p95", f"{1000 * p95:.0f} ms", "<= 200 ms", p95 <= 0.2),
        Row("store: /orders -> whole page p95", f"{1000 * percentile(found.page_seconds, 95):.0f} ms"),
        Row(
            "store: Orders.page alone p50 / p95",
            f"{1000 * percentile(found.listing_seconds, 50):.1f} / "
            f"{1000 * percentile(found.listing_seconds, 95):.1f} ms  (count and a page, in the benchmark)",
        ),
    ]


def render(rows: Sequence[Row]) -> str:
    width = max(len(r.figure) for r in rows)
    value_width = min(90, max(len(r.value) for r in rows))
    lines = []
    for r in rows:
        verdict = "" if r.met is None else ("met" if r.met else "NOT met")
        target = f"target {r.target}: {verdict}" if r.target else ""
        lines.append(f"{r.figure:<{width}}  {r.value:<{value_width}}  {target}".rstrip())
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.orders", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--owners", type=int, default=10)
    parser.add_argument("--customers", type=int, default=200, help="customers ordering at the same time")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--skip",
        default="",
        help=f"parts to leave out, comma-separated: {','.join(PARTS)} (echo needs burst)",
    )
    parser.add_argument("--store-orders", type=int, default=100_000)
    parser.add_argument("--store-samples", type=int, default=30, help="/orders requests in the store part")
    parser.add_argument(
        "--overall-limit", type=int, default=30, help="limits part: sends a second, all chats"
    )
    parser.add_argument("--chat-rate", type=float, default=1.0, help="limits part: sends a second per chat")
    parser.add_argument("--chat-burst", type=int, default=5, help="limits part: sends a chat may burst")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the last Join link")
    parser.add_argument("--step-timeout", type=float, default=300, help="seconds a customer waits per step")
    parser.add_argument(
        "--poll",
        type=float,
        default=0.25,
        help="seconds before a customer asks for the chat again after a broken connection",
    )
    parser.add_argument("--profile", type=Path, help="folder for py-spy's samples of the bot in the burst")
    parser.add_argument(
        "--calls",
        type=Path,
        help="file for the burst's Telegram calls (JSON lines, the emulator's call log; the limits part's go "
        "to NAME-limits.jsonl beside it)",
    )
    args = parser.parse_args(argv)
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    if skip - set(PARTS):
        parser.error(f"--skip takes {', '.join(PARTS)}")
    if args.orders < 1 or args.owners < 1 or args.customers < 1:
        parser.error("--orders, --owners and --customers must be at least 1")
    if args.orders > args.owners * 234:
        parser.error("at most 234 orders per owner fit into the bookable days")

    print(
        f"bench.orders: {args.database}, {args.orders} orders, {args.owners} owners, "
        f"{args.customers} customers at once",
        flush=True,
    )
    profiler = Profiler(args.profile) if args.profile else None
    rows: list[Row] = []
    found = None
    with shared_http() as http:
        if "burst" not in skip:
            found = measure_burst(args, http, profiler)
            print(f"  burst done: {found.orders / found.seconds:.2f} orders/s", flush=True)
            if args.calls is not None:
                write_calls(args.calls, found.calls)
            echo = None
            if "echo" not in skip:  # as many texts as the burst brought updates
                echo = measure_echo(found.updates, args.customers, pace(args))
                print(f"  echo done: {echo.updates_per_cpu_second:.0f} updates per CPU-second", flush=True)
            rows += burst_rows(found, echo)
        if "limits" not in skip:
            limited = measure_limits(args, http)
            print(f"  limits done: {100 * limited.cap_share:.0f}% of the cap", flush=True)
            rows += limit_rows(limited)
    if "store" not in skip:
        stored = measure_store(args)
        rows += store_rows(stored)
    print(render(rows))
    if profiler is not None and found is not None:
        print()
        print(profiler.report(found.orders, found.updates, found.cpu_seconds))


if __name__ == "__main__":
    main()
