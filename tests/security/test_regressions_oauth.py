"""Regression: a login that fails after the code exchange leaves no live grant at Zoom."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.journeys import create_service, person
from tests.security.support import World, connect_link, new_user_id, running_world, settle


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("regressions-oauth")) as running:
        yield running


def test_a_login_that_fails_after_the_code_exchange_leaves_no_live_grant_at_zoom(world: World) -> None:
    owner = person(world.sandbox, new_user_id(), "Olivia")
    link = connect_link(owner, create_service(owner, 30, "Call"))
    world.sandbox.zoom_control.fault("GET", "/v2/users/me", "status", count=None, status=500)
    assert world.sandbox.zoom_control.open_authorize_link(link).status_code == 400
    world.sandbox.zoom_control.clear_faults()
    settle(0.5)
    user = next(u for u in world.sandbox.zoom_control.users() if u["email"] == "owner@example.com")
    assert world.sandbox.zoom.authority.live_grants(user["id"]) == 0
