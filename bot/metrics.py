"""Prometheus metrics of one running bot: built by the composition root, one registry per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# What a job is doing, as the `state` label of bot_jobs says it.
JOB_STATES = ("queued", "scheduled", "running", "waiting", "failed", "done")
ORDER_EVENTS = ("placed", "confirmed", "cancelled", "rejected", "done", "rescheduled")
CONFIRM_TO_JOIN_BUCKETS = (0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600, 1800)


def outcome_of(status: int) -> str:
    """The `outcome` label of an HTTP answer."""
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "retry_after"
    return "client_error" if status < 500 else "server_error"


@dataclass(frozen=True)
class JobCount:
    """Jobs of one kind in one state, and when the oldest of them became due or last changed."""

    kind: str
    state: str
    count: int
    oldest: datetime | None


class Metrics:
    """Every metric the bot exports; `render()` is the body of GET /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.orders = Counter(
            "bot_orders",
            "Order events: placed, confirmed, cancelled, rejected, done, rescheduled.",
            ["event"],
            registry=registry,
        )
        self.zoom_requests = Counter(
            "bot_zoom_requests",
            "Zoom REST calls by method and outcome.",
            ["method", "outcome"],
            registry=registry,
        )
        self.telegram_requests = Counter(
            "bot_telegram_requests",
            "Bot API calls by method and outcome.",
            ["method", "outcome"],
            registry=registry,
        )
        self.retry_after = Counter(
            "bot_retry_after",
            "429 answers asking the bot to wait, by service.",
            ["service"],
            registry=registry,
        )
        self.token_refreshes = Counter(
            "bot_zoom_token_refreshes",
            "Zoom access token refreshes by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.db_statements = Counter(
            "bot_db_statements",
            "SQL statements sent to the database (each costs the ORM, the driver and the event loop CPU).",
            registry=registry,
        )
        self.confirm_to_join = Histogram(
            "bot_confirm_to_join_seconds",
            "From Confirm to the order's Join link being ready.",
            buckets=CONFIRM_TO_JOIN_BUCKETS,
            registry=registry,
        )
        self.jobs = Gauge(
            "bot_jobs",
            "Jobs in the database by kind and state (read at scrape time).",
            ["kind", "state"],
            registry=registry,
        )
        self.job_age = Gauge(
            "bot_jobs_oldest_age_seconds",
            "Age of the oldest job per kind and state: since it became due (queued, running) "
            "or since it last changed (waiting, failed).",
            ["kind", "state"],
            registry=registry,
        )
        for event in ORDER_EVENTS:
            self.orders.labels(event=event)
        for service in ("telegram", "zoom"):
            self.retry_after.labels(service=service)

    def statement(self, *_args: object) -> None:
        """A `before_cursor_execute` listener: one more statement."""
        self.db_statements.inc()

    def order(self, event: str) -> None:
        self.orders.labels(event=event).inc()

    def show_jobs(self, counts: list[JobCount], now: datetime) -> None:
        """Replace the job gauges with what the database holds now."""
        self.jobs.clear()
        self.job_age.clear()
        for item in counts:
            self.jobs.labels(kind=item.kind, state=item.state).set(item.count)
            if item.oldest is not None and item.state != "done":
                age = max(0.0, (now - item.oldest).total_seconds())
                self.job_age.labels(kind=item.kind, state=item.state).set(age)

    def render(self) -> bytes:
        return generate_latest(self.registry)
