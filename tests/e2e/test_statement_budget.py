"""The SQL the bot runs for one order, from the customer's first update to both Join links (bench/README.md:
each statement costs SQLAlchemy, the driver and the event loop far more CPU than SQLite's own work)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from sandbox.harness import BotInProcess, Sandbox
from tests.support import wait_for_drained_jobs
from tests.support.journeys import connect_zoom, create_service, has_join, order, person

ORDERS = 2
UPDATES_PER_ORDER = 6  # /start, Order, the day, the time, Skip, Confirm
# Per order, on SQLite (PostgreSQL adds its chat, run and NOTIFY locks by design). The code before this guard
# ran about 190 (128 per order in a burst); then 140 (115 in a burst); with the conversation's reads and
# writes cut (one statement for the service with its owner's week, drafts written without a read) and the job
# path's (one statement for a card, one for the meeting sync's order and token, writes folded into the job's
# outcome), 100 (about 90 in a burst); with the owner's days off read with the service (four fewer), 88-96
# here (about 61 in a burst, where updates of several chats are recorded and read together); with the new
# order's owner card queued for the end of its wait for the meeting instead of run at once and sent back, no
# idle claim after a meeting sync, and a card's first send reading no cards of its chat, 89 (about 60 in a
# burst); with Confirm's card refresh held for the handler's render (no run that changes nothing), 88-88.5.
STATEMENTS_PER_ORDER = 89
# Write transactions per order: each waits for SQLite's write lock, and each commit is one more call to the
# driver. 30-31 before the owner card's wait and the meeting's write to the order joined other transactions.
WRITES_PER_ORDER = 28
# The conversation reads the customer once per update (their language), the owner only with the service,
# and the draft only where a step needs it; a step writes the draft in one statement. Drafts: written at
# /start, Order, the time and Skip, read at Skip and Confirm, dropped (it was 13 with six reads). Persons:
# one read per update of the conversation (in one statement with other chats' reads meanwhile), one more at
# Confirm, and none by the order's jobs (a card reads its reader's language with the order); it was 18.
DRAFT_STATEMENTS_PER_ORDER = 7
PERSON_READS_PER_ORDER = 7
# Storing a fetched update, and recording it as processed and dropping its stored copy (it was six: three
# to store it, one look before handling it, a look and an insert to mark it, then the drop).
INTAKE_STATEMENTS_PER_UPDATE = 4


class Statements:
    """Every statement any engine in this process runs while counting (the bot's, in its own thread)."""

    def __init__(self) -> None:
        self.counting = False
        self.seen: Counter[str] = Counter()
        self.commits = 0  # write transactions committed (each waits for SQLite's write lock)
        self._lock = threading.Lock()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.counting:
            with self._lock:
                self.seen[" ".join(statement.split())] += 1

    def commit(self, conn: Any) -> None:
        """A commit of an open SQLite transaction (its driver opens one for a write, none for a read); a
        direct transaction (storage/direct.py, no Connection: None) tells only of a commit that wrote."""
        raw = getattr(conn.connection.dbapi_connection, "_connection", None) if conn is not None else None
        if self.counting and (conn is None or (raw is not None and raw._conn.in_transaction)):
            with self._lock:
                self.commits += 1

    def total(self) -> int:
        return sum(self.seen.values())

    def reading(self, table: str) -> int:
        """SELECTs from the table (not those that only join it)."""
        return sum(
            n for text, n in self.seen.items() if text.startswith("SELECT") and f" FROM {table} " in text
        )

    def touching(self, *tables: str) -> int:
        return sum(n for text, n in self.seen.items() if any(f" {table} " in f"{text} " for table in tables))


@pytest.fixture
def statements() -> Iterator[Statements]:
    counter = Statements()
    event.listen(Engine, "before_cursor_execute", counter)
    event.listen(Engine, "commit", counter.commit)
    try:
        yield counter
    finally:
        event.remove(Engine, "before_cursor_execute", counter)
        event.remove(Engine, "commit", counter.commit)


@pytest.mark.bot_env(WORKER_POLL_SECONDS="30")  # the worker's regular look would add statements by the clock
def test_an_order_costs_a_bounded_number_of_statements(
    sandbox: Sandbox, bot: BotInProcess, database_url: str, statements: Statements
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the budget is SQLite's; PostgreSQL adds its locks and notifications")
    owner = person(sandbox, 11, "Olivia")
    shop = create_service(owner, 30, "Tutoring")
    connect_zoom(sandbox, shop)
    wait_for_drained_jobs(database_url, horizon=0)
    statements.counting = True
    for number in range(1, ORDERS + 1):
        customer = person(sandbox, 100 + number, f"Carl {number}")
        order(customer, shop.code, day_index=1)
        customer.wait_for(has_join, timeout=20, description="the customer's Join button")
        owner.wait_for(
            lambda m, n=number: has_join(m) and f"Order #{n}" in m.text, 20, "the owner's Join button"
        )
    wait_for_drained_jobs(database_url, horizon=0)
    statements.counting = False

    per_order = statements.total() / ORDERS
    intake = statements.touching("received_updates", "processed_updates") / (ORDERS * UPDATES_PER_ORDER)
    assert intake <= INTAKE_STATEMENTS_PER_UPDATE, statements.seen.most_common(12)
    assert per_order <= STATEMENTS_PER_ORDER, statements.seen.most_common(12)
    assert statements.commits / ORDERS <= WRITES_PER_ORDER, statements.commits / ORDERS
    seen = statements.seen.most_common(40)
    assert statements.touching("drafts") / ORDERS <= DRAFT_STATEMENTS_PER_ORDER, seen
    assert statements.reading("persons") / ORDERS <= PERSON_READS_PER_ORDER, seen
