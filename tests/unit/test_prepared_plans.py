"""storage.prepared builds a statement's SQL and arguments from a plan made once (per length of its IN lists)
instead of SQLAlchemy's expansion on every run: it must hand SQLite the SQL and arguments SQLAlchemy itself
hands it when it runs the statement, whatever the parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, event, exc

from storage import json_codec, prepared, repos
from storage.models import Base

AT = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)

CASES: list[tuple[str, Any, list[dict[str, Any]]]] = [
    ("blocked", repos._BLOCKED, [{"owner_id": 3, "end": AT, "reach": AT - timedelta(days=1)}]),
    ("names", repos._MANY_PERSON_NAMES, [{"user_ids": ids} for ids in ([], [1], [1, 2, 3], [5, 6])]),
    (
        "known",
        repos._KNOWN_UPDATES,
        [{"stored": ids, "processed": ids} for ids in ([7], [7, 8], [], [1, 2, 3, 4, 5, 6, 7])],
    ),
    (
        "claim",
        repos._claim_query(("card", "sync"), ("card",), ("sync",), False),
        [{"now": AT, "limit": 5}, {"now": AT + timedelta(seconds=1), "limit": 1}],
    ),
    (
        "lease",
        repos._LEASE,
        [{"ids": ids, "now": AT, "leased_until": AT, "token": "t"} for ids in ([4], [4, 9])],
    ),
    (
        "card",
        repos._card_query(True, ("sync",)),
        [{"order_id": 4, "reader_id": 9}, {"order_id": 5, "reader_id": 1}],
    ),
    (
        "outcome",
        repos._outcome_statement(("last_error", "progress", "status")),
        [
            {
                "set_last_error": None,
                "set_progress": {"a": [1]},
                "set_status": "done",
                "job_id": 1,
                "token": "t",
                "claimed_attempts": 2,
            }
        ],
    ),
    (
        "draft",
        repos._PUT_DRAFT_SQLITE,
        [{"user_id": 1, "flow": "order", "step": "date", "nonce": "n", "data": {"x": "ü"}, "updated_at": AT}],
    ),
]


@pytest.fixture(scope="module")
def sent() -> Any:
    """What SQLAlchemy hands SQLite when it runs a statement with these parameters (an empty database in
    memory with the bot's tables, its JSON written as the bot's engines write it), and its dialect."""
    engine = create_engine("sqlite://", json_serializer=json_codec.text, json_deserializer=json_codec.decode)
    Base.metadata.create_all(engine)
    calls: list[tuple[str, Any]] = []
    event.listen(
        engine, "before_cursor_execute", lambda _c, _k, sql, arguments, *_: calls.append((sql, arguments))
    )

    def run(statement: Any, parameters: dict[str, Any]) -> tuple[str, Any]:
        calls.clear()
        with engine.begin() as connection:
            connection.execute(statement, parameters)
        assert len(calls) == 1
        return calls[0]

    run.dialect = engine.dialect  # type: ignore[attr-defined]
    return run


@pytest.mark.parametrize(
    ("statement", "parameter_sets"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_a_plans_sql_and_arguments_are_sqlalchemys(
    statement: Any, parameter_sets: list[dict[str, Any]], sent: Any
) -> None:
    keys = tuple(parameter_sets[0]) if statement.is_insert else ()
    compiled = prepared._compile(statement, sent.dialect, keys)
    for _ in range(2):  # the second round runs from the plans the first made
        for parameters in parameter_sets:
            expected = sent(statement, parameters)
            assert prepared._arguments(compiled, parameters) == expected
            if compiled.expanding:
                assert prepared._expanded_by_sqlalchemy(compiled.compiled, parameters) == expected


def test_a_missing_parameter_is_named(sent: Any) -> None:
    compiled = prepared._compile(repos._BLOCKED, sent.dialect, ())
    with pytest.raises(exc.ArgumentError, match="'reach'"):
        prepared._arguments(compiled, {"owner_id": 3, "end": AT})
