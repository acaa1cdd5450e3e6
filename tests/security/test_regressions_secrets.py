"""Regression: at LOG_LEVEL=DEBUG the OAuth state of a login link is not logged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.harness import bot_environment
from tests.e2e.journeys import create_service, person
from tests.security.support import World, connect_link, new_user_id, query_of, running_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    def env(sandbox: Any, url: str) -> dict[str, str]:
        return bot_environment(sandbox, url, LOG_LEVEL="DEBUG")

    with running_world(tmp_path_factory.mktemp("regressions-secrets"), env) as running:
        yield running


def test_the_oauth_state_of_a_login_link_is_not_logged_at_debug(world: World) -> None:
    owner = person(world.sandbox, new_user_id(), "Olivia")
    link = connect_link(owner, create_service(owner, 30, "Call"))
    state = query_of(link)["state"]
    assert state not in world.log()
