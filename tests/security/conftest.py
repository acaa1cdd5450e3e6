"""The security suite: each module's tests share one bot (they use fresh users); a module whose bot runs
differently (webhook mode, other limits) has its own `world`."""

from __future__ import annotations

import pytest

from tests.support.worlds import World


@pytest.fixture(scope="module")
def world(shared_world: World) -> World:
    return shared_world
