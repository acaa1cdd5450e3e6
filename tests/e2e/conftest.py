"""The journeys' bots: edits of an order reach Zoom a fifth of a second after the last one, not after the
production 3 s (MEETING_EDIT_SETTLE_SECONDS), so a test that waits for an edit in Zoom does not wait out the
settling; the test of a burst of edits sets its own."""

from __future__ import annotations

import pytest

E2E_KNOBS = {"MEETING_EDIT_SETTLE_SECONDS": "0.2"}


@pytest.fixture
def bot_settings() -> dict[str, str]:
    return dict(E2E_KNOBS)


@pytest.fixture(scope="module")
def shared_bot_settings() -> dict[str, str]:
    return dict(E2E_KNOBS)
