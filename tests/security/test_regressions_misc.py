"""Regressions of bugs the security suite found: toggles, races, floods, odd digits, calendar edges, NUL."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.journeys import connect_zoom, create_service, person
from tests.security.support import World, log_problems, new_user_id, running_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("regressions-misc")) as running:
        yield running


def test_switching_zoom_off_and_on_logs_no_error(world: World) -> None:
    owner = person(world.sandbox, new_user_id(), "Olivia")
    shop = create_service(owner, 30, "Toggle")
    connect_zoom(world.sandbox, shop)
    mark = len(world.log())
    owner.send("/services")
    card = owner.wait_for(lambda m: "Zoom: On" in m.text)
    owner.press(card, "Zoom: On")
    answer = owner.callback_answer()
    assert answer is not None and "Zoom is now Off" in (answer.text or "")
    time.sleep(0.5)
    assert not log_problems(world.log()[mark:])


def test_a_slot_taken_meanwhile_logs_no_error(world: World) -> None:
    shop = create_service(person(world.sandbox, new_user_id(), "Olivia"), 60, "Race")
    late = person(world.sandbox, new_user_id(), "Ben")
    late.send(f"/start s_{shop.code}")
    late.press(late.wait_for(lambda m: "Order" in str(m.buttons)), "Order")
    days = late.wait_for_text("Pick a day")
    late.press(days, days.buttons[0][1].text)
    times = late.wait_for_text("Pick a start time")
    slot = times.buttons[0][0].text
    late.press(times, slot)
    late.press(late.wait_for_text("What should the order be called"), "Skip")
    summary = late.wait_for_text("Please check your order")
    from tests.e2e.journeys import order

    order(person(world.sandbox, new_user_id(), "Ann"), shop.code, day_index=1, time_label=slot)
    mark = len(world.log())
    late.press(summary, "Confirm")
    assert "just taken" in (late.callback_answer() or pytest.fail("no answer")).text
    time.sleep(0.5)
    assert not log_problems(world.log()[mark:])


def test_one_user_flooding_the_bot_does_not_stall_everyone_else(world: World) -> None:
    spammer, bystander = (
        person(world.sandbox, new_user_id(), "Spam"),
        person(world.sandbox, new_user_id(), "By"),
    )
    for n in range(20):
        spammer.send(f"spam {n}")
    started = time.monotonic()
    sent = bystander.send("/help")
    bystander.wait_for(lambda m: m.message_id > sent, timeout=60)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("text", ["/newservice ² Squared", "/newservice 6① Circled"])
def test_unicode_digits_as_a_duration_are_refused_not_a_crash(world: World, text: str) -> None:
    user = person(world.sandbox, new_user_id(), "Olivia")
    mark = len(world.log())
    sent = user.send(text)
    answer = user.wait_for(lambda m: m.message_id > sent)
    assert "/newservice 60 Consultation" in answer.text  # the one-message form is explained
    assert not log_problems(world.log()[mark:])


@pytest.mark.parametrize("start", ["000101010000", "999912312359"])
def test_a_start_at_the_edge_of_the_calendar_is_refused_not_a_crash(world: World, start: str) -> None:
    owner = person(world.sandbox, new_user_id(), "Olivia")
    owner.send("/timezone America/New_York" if start.startswith("9999") else "/timezone Europe/Berlin")
    owner.wait_for_text("time zone is now")
    shop = create_service(owner, 60, "Edge")
    customer = person(world.sandbox, new_user_id(), "Carl")
    customer.send(f"/start s_{shop.code}")
    offer = customer.wait_for(lambda m: "Order" in str(m.buttons))
    mark = len(world.log())
    customer.press_data(offer.message_id, f"ot:{shop.code}:{start}")
    answer = customer.callback_answer()
    assert answer is not None and "can't be booked" in (answer.text or ""), answer
    assert not log_problems(world.log()[mark:])


def test_a_service_of_the_longest_allowed_duration_can_be_booked(world: World) -> None:
    owner = person(world.sandbox, new_user_id(), "Olivia")
    shop = create_service(owner, 720, "All day")
    customer = person(world.sandbox, new_user_id(), "Carl")
    customer.send(f"/start s_{shop.code}")
    customer.press(customer.wait_for(lambda m: "Order" in str(m.buttons)), "Order")
    assert "Pick a day" in customer.wait_for(lambda m: "day" in m.text.lower()).text


def test_a_name_with_a_nul_character_is_refused_or_cleaned_not_a_crash(world: World) -> None:
    user = person(world.sandbox, new_user_id(), "Olivia")
    mark = len(world.log())
    sent = user.send("/newservice 60 Nul\x00name")
    answer = user.wait_for(lambda m: m.message_id > sent)
    assert "went wrong" not in answer.text
    assert not log_problems(world.log()[mark:])
