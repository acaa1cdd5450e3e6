"""Button data carries ids, and ids are checked, not trusted: copied, cross-role, unknown, huge or malformed
data is refused with a short alert and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support import OWNER_ZONE
from tests.support.databases import query
from tests.support.journeys import Booked, book_with_zoom, join_url, new_user_id, person, reach_summary
from tests.support.observe import log_problems, what_a_forgery_would_change
from tests.support.worlds import World

REFUSALS = ("not yours", "out of date", "no longer current")


@dataclass
class Scene:
    booked: Booked
    stranger: TelegramUser
    stranger_message: SentMessage
    customer_message: SentMessage
    service_id: int
    order_id: int
    customer_nonce: str
    owner_nonce: str
    day: str
    start: str


def callback_data(message: SentMessage, label: str) -> str:
    data = message.button(label).callback_data
    assert data is not None
    return data


@pytest.fixture(scope="module")
def scene(world: World) -> Scene:
    booked = book_with_zoom(world.sandbox)
    owner, customer = booked.owner, booked.customer
    service_id = int(callback_data(booked.shop.card, "Zoom").split(":")[1])
    order_id = int(callback_data(booked.card, "Reschedule").split(":")[1])
    # The customer is half-way through a second order, the owner half-way through a second service.
    summary = reach_summary(customer, booked.shop.code, day_index=3)  # the second row's first day
    owner.send("/newservice")
    owner.wait_for_text("What is the service called")
    owner.send("Second service")
    durations = owner.wait_for_text("How long is one booking")
    stranger = person(world.sandbox, new_user_id(), "Mallory")
    stranger.send("/start")
    greeting = stranger.wait_for_text("/newservice")
    customer.send("/help")
    help_text = customer.wait_for(lambda m: "/newservice" in m.text and m.message_id > summary.message_id)
    tomorrow = (datetime.now(UTC).astimezone(ZoneInfo(OWNER_ZONE)) + timedelta(days=2)).date()
    return Scene(
        booked=booked,
        stranger=stranger,
        stranger_message=greeting,
        customer_message=help_text,
        service_id=service_id,
        order_id=order_id,
        customer_nonce=callback_data(summary, "Confirm").split(":")[1],
        owner_nonce=callback_data(durations, "60 min").split(":")[1],
        day=tomorrow.strftime("%Y%m%d"),
        start=tomorrow.strftime("%Y%m%d") + "1400",
    )


def everything(world: World, scene: Scene) -> dict[str, Any]:
    """What must not change when someone presses what they may not."""
    url = world.database_url
    return {
        **what_a_forgery_would_change(url, scene.booked.owner, scene.booked.customer),
        "drafts": query(url, "SELECT user_id, flow, step, nonce FROM drafts ORDER BY user_id"),
        "zoom": len([r for r in world.sandbox.zoom_control.requests() if r["path"].startswith("/v2")]),
    }


def press(user: TelegramUser, message_id: int, data: str) -> str:
    user.press_data(message_id, data)
    answer = user.callback_answer(timeout=5)
    assert answer is not None, f"no answer to {data!r}"
    return answer.text or ""


def refused(answer: str) -> bool:
    return any(reason in answer for reason in REFUSALS)


def order_verbs(s: Scene, version: int = 1) -> list[str]:
    o = s.order_id
    return [
        *(f"a:{o}:{verb}" for verb in ("rs", "rn", "du", "cx", "rj", "cf", "dn", "mk", "fx")),
        f"rd:{o}:{s.day}",
        f"rt:{o}:{s.start}",
        f"dv:{o}:30",
        *(f"y:{o}:{verb}:{version}" for verb in ("cx", "rj", "cf", "dn", "mk", "fx", "rn")),
        f"y:{o}:rs:{version}:{s.start}",
        f"y:{o}:du:{version}:30",
    ]


def test_a_third_user_pressing_copied_buttons_is_refused_and_changes_nothing(
    world: World, scene: Scene
) -> None:
    before = everything(world, scene)
    mark = len(world.log())
    s = scene
    copied = [
        f"zt:{s.service_id}:0",
        f"zt:{s.service_id}:1",
        f"so:{s.service_id}",
        f"pg:0:{s.service_id}",
        f"nd:{s.owner_nonce}:60",
        f"os:{s.customer_nonce}",
        f"ok:{s.customer_nonce}",
        *order_verbs(s),
    ]
    for data in copied:
        # On the stranger's own message, on the customer's card (not in the stranger's chat), on nothing.
        for message_id in (s.stranger_message.message_id, s.booked.card.message_id, 987_654):
            answer = press(s.stranger, message_id, data)
            assert refused(answer), (data, message_id, answer)
    assert everything(world, scene) == before
    transcript = s.stranger.transcript()
    link = join_url(s.booked.card)
    assert link is not None and link not in transcript
    assert "Carl" not in transcript and "Order #" not in transcript
    assert not log_problems(world.log()[mark:])


def test_buttons_that_act_on_the_presser_only_leave_others_alone(world: World, scene: Scene) -> None:
    """Zoom connection, Back, Cancel and the public ordering buttons touch only the presser's own data."""
    before = everything(world, scene)
    s = scene
    for data in (
        "zd",
        "zy",
        "zn",
        "zc",
        f"ox:{s.customer_nonce}",
        f"n:{s.order_id}",
        f"od:{s.booked.shop.code}:{s.day}",
        f"ot:{s.booked.shop.code}:{s.start}",
        f"ob:{s.booked.shop.code}",
    ):
        press(s.stranger, s.stranger_message.message_id, data)
    after = everything(world, scene)
    stranger_drafts = [row for row in after["drafts"] if row[0] == s.stranger.user_id]
    assert [row for row in after["drafts"] if row[0] != s.stranger.user_id] == before["drafts"]
    assert stranger_drafts and all(row[0] == s.stranger.user_id for row in stranger_drafts)
    assert {k: v for k, v in after.items() if k != "drafts"} == {
        k: v for k, v in before.items() if k != "drafts"
    }
    s.booked.owner.send("/zoom")
    s.booked.owner.wait_for(lambda m: "connected as owner@example.com" in m.text)
    assert "Carl" not in s.stranger.transcript()


def test_each_party_is_refused_the_other_partys_verbs(world: World, scene: Scene) -> None:
    before = everything(world, scene)
    o, s = scene.order_id, scene
    customer, owner = s.booked.customer, s.booked.owner
    owner_only = [
        *(f"a:{o}:{v}" for v in ("rj", "cf", "dn", "mk", "fx")),
        *(f"y:{o}:{v}:1" for v in ("rj", "cf", "dn", "mk", "fx")),
    ]
    owner_only += [f"zt:{s.service_id}:0", f"so:{s.service_id}", f"pg:0:{s.service_id}"]
    for data in owner_only:
        assert refused(press(customer, s.booked.card.message_id, data)), data
    for data in (f"a:{o}:cx", f"y:{o}:cx:1"):
        assert refused(press(owner, s.booked.owner_card.message_id, data)), data
    # The customer's own Confirm of the half-made order does not work from the owner's chat either.
    assert refused(press(owner, s.booked.owner_card.message_id, f"ok:{s.customer_nonce}"))
    after = everything(world, scene)
    assert after == before


@pytest.mark.parametrize(
    "template",
    [
        "a:{id}:cx",
        "zt:{id}:1",
        "so:{id}",
        "rd:{id}:20260101",
        "dv:{id}:30",
        "y:{id}:cx:1",
        "y:{id}:rs:1:202601011000",
    ],
)
@pytest.mark.parametrize("order_id", [424_242, 2_147_483_647, 10**30])
def test_ids_that_do_not_exist_are_refused(world: World, scene: Scene, template: str, order_id: int) -> None:
    before = everything(world, scene)
    mark = len(world.log())
    user = scene.booked.customer
    answer = press(user, scene.customer_message.message_id, template.format(id=order_id))
    assert answer == "" or refused(answer) or "no orders" in answer.lower(), answer
    assert everything(world, scene) == before
    assert not log_problems(world.log()[mark:])


MALFORMED = [
    "x",
    "zz:1",
    "a",
    "a:",
    ":",
    "a::cx",
    "A:1:cx",
    "a:-1:cx",
    "a:1.5:cx",
    "a:1:cx:1:2:3:4",
    "a:1:zz",
    "y:1:zz:1",
    "y:1:rs:1:garbage",
    "y:1:rs:1:209913311261",
    "y:1:du:1:99999",
    "y:1:du:1:4",
    "dv:1:721",
    "a:\u0661:cx",
    "a:1:cx;DROP TABLE orders",
    "🙂",
    "<b>x</b>",
    "a:" + "1" * 62,
    "a:" + "1" * 70,
    "zt:1:1" + " " * 100,
]


@pytest.mark.parametrize("data", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_data_gets_a_short_alert_and_changes_nothing(world: World, scene: Scene, data: str) -> None:
    before = everything(world, scene)
    mark = len(world.log())
    customer = scene.booked.customer
    customer.press_data(scene.customer_message.message_id, data)
    answer = customer.callback_answer(timeout=5)
    assert answer is not None and answer.show_alert, answer
    text = answer.text or ""
    assert refused(text) or "duration as a whole number of minutes from 5 to 720" in text, text
    assert len(text) <= 200
    assert everything(world, scene) == before
    assert not log_problems(world.log()[mark:])


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


def test_no_error_was_logged(world: World) -> None:
    assert not log_problems(world.log())
