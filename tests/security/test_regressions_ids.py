"""Regressions: ids beyond the 32-bit columns are refused, not a crash; a stale Back keeps the step."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.journeys import person
from tests.security.support import World, log_problems, new_user_id, query, running_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("regressions-ids")) as running:
        yield running


@pytest.mark.parametrize(
    "template", ["a:{id}:cx", "zt:{id}:1", "so:{id}", "pg:0:{id}", "rd:{id}:20260101", "y:{id}:cx:1"]
)
@pytest.mark.parametrize("big", [2**31, 10**18 - 1])
def test_an_id_beyond_the_columns_range_is_refused_not_a_crash(world: World, template: str, big: int) -> None:
    user = person(world.sandbox, new_user_id(), "Mallory")
    user.send("/help")
    message = user.wait_for_text("/newservice")
    mark = len(world.log())
    user.press_data(message.message_id, template.format(id=big))
    answer = user.callback_answer(timeout=5)
    assert answer is not None and "out of date" in (answer.text or ""), answer
    assert not log_problems(world.log()[mark:])


def test_a_stale_back_button_does_not_drop_the_current_step(world: World) -> None:
    owner = person(world.sandbox, new_user_id(), "Olivia")
    owner.send("/newservice")
    owner.wait_for_text("What is the service called")
    owner.send("Half made")
    asked = owner.wait_for_text("How long is one booking")
    owner.press_data(asked.message_id, "n:1")  # "Back" of some old question about Order #1
    owner.callback_answer()
    rows = query(world.database_url, "SELECT flow, step FROM drafts WHERE user_id = ?", owner.user_id)
    assert rows == [("newservice", "duration")]
