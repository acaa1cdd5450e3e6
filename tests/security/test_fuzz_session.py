"""Property-based tests through the real bot process: random text and random button data, at any step.

The bot answers every message and every press, never sends anything Telegram would refuse, stays healthy
and logs no error.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sandbox.telegram.client import SentMessage, TelegramUser
from tests.support import OWNER_ZONE
from tests.support.journeys import Shop, create_service, new_user_id, person
from tests.support.observe import log_problems, refused_calls
from tests.support.worlds import World

SESSION = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PIECES = st.sampled_from(
    [
        "<b>",
        "</i>",
        "<a href='javascript:alert(1)'>x</a>",
        "&amp;",
        "&#0;",
        "&lt;script&gt;",
        "<",
        ">",
        "&",
        '"',
        "@sandbox_booking_bot",
        "#tag",
        "/start",
        "/help@sandbox_booking_bot",
        "https://example.com/?a=<b>",
        "`code`",
        "*bold*",
        "_it_",
        "\u202e",
        "\u200d",
        "👩‍👩‍👧",
        "\t",
        "\n",
        "\x07",
        "60",
        " min",
        "Europe/Berlin",
    ]
)
TEXT = st.one_of(
    st.lists(st.one_of(st.text(max_size=30), PIECES), min_size=1, max_size=10).map("".join),
    st.text(min_size=1, max_size=200),
    st.builds(lambda piece, n: (piece * n)[:4096], st.text(min_size=1, max_size=5), st.integers(800, 4096)),
)
FIRST_NAMES = st.one_of(
    st.just("Fuzz"),
    st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=64),
    st.lists(PIECES, min_size=1, max_size=4).map("".join),
)
PREFIXES = ["nothing", "service name", "service duration", "order name", "/timezone ", "/newservice 60 "]


def typeable(text: str) -> bool:
    """What a Telegram app can send, minus two crashes reported separately (see the report)."""
    trimmed = text.strip(" \t\n\r\v\f")
    digits = trimmed.removesuffix("min").strip()
    unicode_digits = digits.isdigit() and not digits.isdecimal()  # e.g. '²': int() refuses it
    return bool(trimmed) and "\x00" not in text and not unicode_digits


@pytest.fixture(scope="module")
def shop(world: World) -> Shop:
    return create_service(person(world.sandbox, new_user_id(), "Owner"), 30, "Fuzzed service")


def a_free_start(shop: Shop) -> str:
    """A start the service offers (09:00 local, three days from now): button data for its time step."""
    day = datetime.now(UTC).astimezone(ZoneInfo(OWNER_ZONE)).date() + timedelta(days=3)
    return f"{day:%Y%m%d}1000"


def begin(user: TelegramUser, prefix: str, shop: Shop) -> str:
    """Bring the user to a step where typed text means something; returns what to put before the text."""
    if prefix == "service name":
        user.send("/newservice")
        user.wait_for_text("What is the service called")
    elif prefix == "service duration":
        user.send("/newservice")
        user.wait_for_text("What is the service called")
        user.send("Fuzzed")
        user.wait_for_text("How long is one booking")
    elif prefix == "order name":
        user.send(f"/start s_{shop.code}")
        offer = user.wait_for(lambda m: "Order" in str(m.buttons))
        user.press_data(offer.message_id, f"ot:{shop.code}:{a_free_start(shop)}")
        user.wait_for_text("What should the order be called")
    elif prefix.startswith("/"):
        return prefix
    return ""


def answered(user: TelegramUser, sent: int) -> None:
    def newer(message: SentMessage) -> bool:
        return message.message_id > sent

    user.wait_for(newer, timeout=15, description="an answer")


def healthy_and_clean(world: World, mark: int) -> None:
    assert httpx.get(f"{world.sandbox.bot_url}/healthz", timeout=5).status_code == 200
    assert refused_calls(world.telegram) == []
    assert not log_problems(world.log()[mark:])


@SESSION
@given(name=FIRST_NAMES, prefix=st.sampled_from(PREFIXES), texts=st.lists(TEXT, min_size=1, max_size=2))
def test_any_text_at_any_step_is_answered_and_rendered_safely(
    world: World, shop: Shop, name: str, prefix: str, texts: list[str]
) -> None:
    assume(all(typeable(text) for text in texts) and name.strip())
    mark = len(world.log())
    user = person(world.sandbox, new_user_id(), name)
    before = begin(user, prefix, shop)
    for text in texts:
        answered(user, user.send((before + text)[:4096]))
    healthy_and_clean(world, mark)


# Ids up to 2**31 - 1, or too long to be read as ids at all: larger ones crash on PostgreSQL (reported).
ID = st.one_of(
    st.integers(0, 5).map(str),
    st.integers(0, 2**31 - 1).map(str),
    st.integers(10**19, 10**30).map(str),
    st.text("0123456789", max_size=9),
)
WORD = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=24)
SAFE_VERBS = [
    "zt",
    "nd",
    "zc",
    "zd",
    "zy",
    "zn",
    "ob",
    "os",
    "ok",
    "ox",
    "so",
    "pg",
    "a",
    "rd",
    "rt",
    "dv",
    "y",
    "n",
]
ACTIONS = st.sampled_from(["rs", "rn", "du", "cx", "rj", "cf", "dn", "mk", "fx", "zz"])
DATA = st.one_of(
    st.text(max_size=70),
    st.builds(
        lambda verb, args: ":".join([verb, *args]),
        st.sampled_from(SAFE_VERBS),
        st.lists(ID | WORD, max_size=6),
    ),
    st.builds(lambda i, action, version: f"a:{i}:{action}:{version}", ID, ACTIONS, ID),
    st.builds(lambda i, action, version: f"y:{i}:{action}:{version}", ID, ACTIONS, ID),
    st.builds(
        lambda verb, i, when: f"{verb}:{i}:{when:%Y%m%d%H%M}",
        st.sampled_from(["rd", "rt", "y"]),
        ID,
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),  # noqa: DTZ001 - naive bounds
    ),
)


@SESSION
@given(data=st.lists(DATA, min_size=1, max_size=4))
def test_any_button_data_is_answered_and_changes_nothing_it_should_not(
    world: World, shop: Shop, data: list[str]
) -> None:
    mark = len(world.log())
    user = person(world.sandbox, new_user_id(), "Presser")
    user.send("/help")
    message = user.wait_for_text("/newservice")
    for value in data:
        user.press_data(message.message_id, value)
        answer = user.callback_answer(timeout=10)
        assert answer is not None, f"no answer to {value!r}"
        assert answer.text is None or len(answer.text) <= 200
    healthy_and_clean(world, mark)
