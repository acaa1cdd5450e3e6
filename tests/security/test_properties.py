"""Property-based tests, in process: parsers only ever fail the documented way, and everything rendered is
HTML the Telegram emulator accepts, with user values shown exactly as typed (escaped, never as markup)."""

from __future__ import annotations

import asyncio
import string
from datetime import UTC, date, datetime, timedelta
from html import escape
from zoneinfo import available_timezones

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import i18n, texts
from bot.domain import MeetingState, Order, OrderStatus, Service
from bot.errors import UserError
from bot.services.order_changes import change_lines
from bot.services.ordering import Ordering, Summary
from bot.services.persons import valid_timezone
from bot.services.services import DURATION_MAX, DURATION_MIN, valid_duration, valid_name
from bot.slots import parse_day, parse_local
from bot.telegram import views
from bot.telegram.buttons import MAX_BYTES, Press, data, parse
from bot.zoom import webhook
from sandbox.telegram.html import parse_html
from sandbox.telegram.parse_mode import MAX_TEXT_UTF16
from sandbox.telegram.text import EntityParseError, utf16_len
from sandbox.zoom.webhooks import sign
from storage.models import OrderRow

ZONES = sorted(available_timezones())
MARKUP_ENTITIES = {
    "bold",
    "italic",
    "underline",
    "strikethrough",
    "spoiler",
    "code",
    "pre",
    "text_link",
    "blockquote",
    "expandable_blockquote",
    "custom_emoji",
}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text people type: any Unicode (no surrogates), with markup-looking pieces mixed in.
MARKUP = st.sampled_from(
    [
        "<b>",
        "</b>",
        "<i>x</i>",
        "<a href='https://evil.example'>",
        "&amp;",
        "&lt;",
        "&#60;",
        "&",
        "<",
        ">",
        '"',
        "'",
    ]
)
TYPED = st.lists(st.one_of(st.text(min_size=1, max_size=20), MARKUP), max_size=12).map("".join)
NAMES = TYPED.filter(lambda value: bool(value.split())).map(lambda value: " ".join(value.split()))
BUTTON_DATA = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"[a-z]{1,3}(:[A-Za-z0-9_-]{1,30}){0,7}", fullmatch=True),
    st.lists(st.text(string.ascii_letters + string.digits + "_-:", max_size=25), max_size=8).map(":".join),
)


# (a) Parsers fail only the documented way.


@FAST
@given(BUTTON_DATA)
def test_button_data_parses_to_a_press_or_none(value: str) -> None:
    press = parse(value)
    if press is None:
        return
    assert isinstance(press, Press) and len(value.encode()) <= MAX_BYTES
    assert 1 <= len(press.verb) <= 3 and len(press.args) <= 5
    for index in range(8):
        number = press.int_arg(index)
        assert number is None or (number >= 0 and len(str(number)) <= 18)
        assert press.arg(index) is None or isinstance(press.arg(index), str)


@FAST
@given(st.one_of(st.none(), st.text(max_size=30), st.from_regex(r"[0-9]{6,10}", fullmatch=True)))
def test_parse_day_gives_a_date_or_none(value: str | None) -> None:
    assert parse_day(value) is None or isinstance(parse_day(value), date)


@FAST
@given(
    st.one_of(
        st.none(),
        st.text(string.ascii_letters + string.punctuation + " ", max_size=20),
        st.builds(
            lambda day, clock: f"{day:%Y%m%d}{clock}",
            st.dates(min_value=date(1000, 1, 1), max_value=date(8999, 12, 31)),
            st.from_regex(r"[0-9]{4}", fullmatch=True),
        ),
    ),
    st.sampled_from(ZONES),
)
def test_parse_local_gives_a_utc_time_or_none(value: str | None, zone: str) -> None:
    parsed = parse_local(value, zone)
    assert parsed is None or parsed.utcoffset() == timedelta(0)


@FAST
@given(TYPED, st.integers(min_value=1, max_value=300))
def test_valid_name_returns_a_clean_name_or_explains(value: str, limit: int) -> None:
    try:
        name = valid_name(value, limit)
    except UserError as exc:
        assert str(limit) in str(exc)
        return
    assert 1 <= len(name) <= limit and name == name.strip() and "  " not in name


@FAST
@given(
    st.one_of(
        st.integers(min_value=-(10**6), max_value=10**6),
        st.text(string.printable, max_size=12),
        st.integers(min_value=0, max_value=10**5).map(lambda n: f" {n} min "),
    )
)
def test_valid_duration_returns_minutes_in_range_or_explains(value: str | int) -> None:
    try:
        minutes = valid_duration(value)
    except UserError as exc:
        assert f"{DURATION_MIN} to {DURATION_MAX}" in str(exc)
        return
    assert DURATION_MIN <= minutes <= DURATION_MAX


@FAST
@given(st.one_of(TYPED, st.sampled_from(ZONES), st.sampled_from(ZONES).map(str.swapcase)))
def test_valid_timezone_returns_a_known_zone_or_explains(value: str) -> None:
    try:
        zone = valid_timezone(value)
    except UserError as exc:
        parsed = parse_html(str(exc))  # the refusal quotes the value, escaped
        assert "is not a time zone I know" in parsed.text
        assert not {e["type"] for e in parsed.entities} - {"bold", "code"}
        return
    assert zone in ZONES and zone.lower() == value.strip().lower()


HEADER_VALUES = st.one_of(
    st.text(string.digits, max_size=15),
    st.integers(min_value=0, max_value=10**11).map(str),
    st.text(string.ascii_letters + string.digits + "=-", max_size=80),
)


@FAST
@given(
    st.text(min_size=1, max_size=40),
    st.dictionaries(st.sampled_from(["x-zm-request-timestamp", "x-zm-signature", "other"]), HEADER_VALUES),
    st.binary(max_size=200),
)
def test_webhook_verify_only_answers_true_or_false(secret: str, headers: dict[str, str], body: bytes) -> None:
    assert webhook.verify(secret, headers, body, now=1_700_000_000) is False  # nothing random is ever signed


@FAST
@given(
    st.text(min_size=1, max_size=40), st.binary(max_size=200), st.integers(min_value=-1000, max_value=1000)
)
def test_webhook_verify_accepts_exactly_zooms_signatures_within_five_minutes(
    secret: str, body: bytes, drift: int
) -> None:
    sent_at = 1_700_000_000
    headers = sign(secret, body, sent_at)
    assert webhook.verify(secret, headers, body, now=sent_at + drift) is (abs(drift) <= 300)
    assert webhook.verify(secret + "x", headers, body, now=sent_at) is False
    assert webhook.verify(secret, headers, body + b" ", now=sent_at) is False


# (b) Rendering: valid HTML for Telegram, user values shown as typed and never turned into markup.


def shown(html: str, *values: str) -> None:
    """`html` parses as Telegram HTML, fits one message, and shows each value literally."""
    try:
        parsed = parse_html(html)
    except EntityParseError as exc:  # pragma: no cover - the failure message is the point
        raise AssertionError(f"Telegram would refuse this text ({exc}):\n{html}") from exc
    assert utf16_len(parsed.text.strip()) <= MAX_TEXT_UTF16
    for value in values:
        assert value in parsed.text, f"{value!r} is not shown as typed in:\n{parsed.text}"


def markup_of(html: str) -> list[str]:
    return [entity["type"] for entity in parse_html(html).entities if entity["type"] in MARKUP_ENTITIES]


def a_service(name: str, zone: str = "Europe/Berlin") -> Service:
    return Service(
        id=7, code="AbC_dEf-123", owner_id=1, name=name, duration_min=60, timezone=zone, zoom_enabled=True
    )


def an_order(name: str, service: str, customer: str, state: MeetingState, error: str | None) -> Order:
    return Order(
        id=12,
        service_id=7,
        service_name=service,
        owner_id=1,
        customer_id=2,
        customer_name=customer,
        name=name,
        start_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        duration_min=60,
        timezone="America/New_York",
        status=OrderStatus.NEW,
        version=3,
        wants_meeting=True,
        meeting_state=state,
        meeting_error=error,
        join_url="https://us05web.zoom.us/j/123?pwd=abc",
    )


@FAST
@given(NAMES.filter(lambda n: len(n) <= 256), st.sampled_from(ZONES))
def test_service_cards_show_any_name_escaped(name: str, zone: str) -> None:
    service = a_service(name, zone)
    card, _ = views.service_card(service, "sandbox_booking_bot")
    shown(card, name, zone)
    assert markup_of(card) == markup_of(views.service_card(a_service("x"), "sandbox_booking_bot")[0])
    offer, _ = views.service_offer(service)
    shown(offer, name)
    assert markup_of(offer) == markup_of(views.service_offer(a_service("x"))[0])


@FAST
@given(
    NAMES.filter(lambda n: len(n) <= 200),
    NAMES.filter(lambda n: len(n) <= 256),
    NAMES.filter(lambda n: len(n) <= 256),
    st.sampled_from(list(MeetingState)),
    st.one_of(st.none(), TYPED),
    st.sampled_from(["owner", "customer"]),
)
def test_order_cards_show_any_names_escaped(
    name: str, service: str, customer: str, state: MeetingState, error: str | None, role: str
) -> None:
    order = an_order(name, service, customer, state, error)
    card, _ = views.order_card(order, role, can_create_meeting=True)
    expected = [name, service] + ([customer] if role == "owner" else [])
    shown(card, *expected)
    baseline = views.order_card(an_order("x", "x", "x", state, "x" if error else None), role)[0]
    assert markup_of(card) == markup_of(baseline)


@FAST
@given(NAMES.filter(lambda n: len(n) <= 200), NAMES.filter(lambda n: len(n) <= 200), NAMES)
def test_change_notices_show_old_and_new_names_escaped(old: str, new: str, service: str) -> None:
    row = OrderRow(
        id=3,
        name=new,
        start_at=datetime(2026, 12, 2, 15, 30, tzinfo=UTC),
        duration_min=45,
        timezone="Asia/Kolkata",
        join_url="https://us05web.zoom.us/j/1",
    )
    before = {"name": old, "start": "2026-12-01T09:00:00+00:00", "duration": 60, "join_url": row.join_url}
    lines = change_lines(row, before, meeting=True)
    header = i18n.render("en", texts.CHANGED_HEADER, id=3, service=escape(service))
    notice = "\n".join([header, *(line.render("en") for line in lines)])
    shown(notice, service, *([old, new] if old != new else []))


@FAST
@given(NAMES.filter(lambda n: len(n) <= 200), NAMES.filter(lambda n: len(n) <= 100), st.booleans())
def test_order_summaries_show_any_names_escaped(name: str, service: str, with_meeting: bool) -> None:
    summary = Summary(
        service=a_service(service),
        start=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        name=name,
        with_meeting=with_meeting,
        nonce="abcd1234",
    )
    ordering = Ordering(None, None, None)  # type: ignore[arg-type]  # summary_text touches no collaborator
    shown(asyncio.run(ordering.summary_text(summary)), name, service)


def templates() -> list[tuple[str, str]]:
    """Every text of bot/texts.py in every language (and each plural form)."""
    found = []
    for key, value in vars(texts).items():
        if not key.isupper():
            continue
        items = value.items() if isinstance(value, dict) else [("", value)]
        for sub, text in items:
            if not isinstance(text, str | i18n.Plural):
                continue
            name = f"{key}[{sub}]" if sub else key
            for language in i18n.LANGUAGES:
                counts = (1, 2, 5) if isinstance(text, i18n.Plural) else (None,)
                for count in counts:
                    found.append((f"{name}/{language}/{count}", i18n.translate(language, text, count)))
    return found


TEMPLATES = templates()


@FAST
@given(st.sampled_from(TEMPLATES), NAMES)
def test_every_text_shows_any_value_escaped(template: tuple[str, str], value: str) -> None:
    key, text = template
    filled = text.format_map(_Everything(escape(value)))
    if "{" in text:
        shown(filled, value)
    else:
        shown(filled)
    plain = text.format_map(_Everything("x"))
    assert markup_of(filled) == markup_of(plain), key


class _Everything(dict[str, str]):
    """Fills every placeholder of a template with the same value."""

    def __init__(self, value: str) -> None:
        super().__init__()
        self.value = value

    def __missing__(self, key: str) -> str:
        return self.value


@FAST
@given(
    st.sampled_from(ZONES),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001
)
def test_times_are_shown_with_their_zone(zone: str, moment: datetime) -> None:
    shown(views.when(moment, zone), zone)


def test_a_name_that_is_markup_is_shown_as_text_not_markup() -> None:
    name = "<b>Free</b> <a href='https://evil.example'>click</a> &amp; <tg-spoiler>x</tg-spoiler>"
    card, _ = views.service_card(a_service(name), "sandbox_booking_bot")
    parsed = parse_html(card)
    assert name in parsed.text and not [e for e in parsed.entities if e["type"] == "text_link"]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=70),
        st.builds(
            lambda d, tail: d + tail,
            st.from_regex(r"[a-z]{1,3}(:[0-9]{1,5}){0,3}", fullmatch=True),
            st.sampled_from(["", "\n"]),
        ),
    )
)
def test_parse_accepts_only_data_the_bot_could_have_made(value: str) -> None:
    press = parse(value)
    if press is not None:
        assert (
            data(press.verb, *press.args) == value and "\n" not in value
        )  # `$` also matches before a final newline


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        lambda d, c: f"{d:%Y%m%d}{c}",
        st.one_of(st.dates(), st.sampled_from([date(1, 1, 1), date(9999, 12, 31)])),
        st.from_regex(r"[0-9]{4}", fullmatch=True),
    ),
    st.sampled_from(ZONES),
)
def test_parse_local_never_raises(value: str, zone: str) -> None:
    parsed = parse_local(value, zone)
    assert parsed is None or parsed.utcoffset() == timedelta(0)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(max_size=8), st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=4))
)
def test_valid_duration_raises_only_user_errors(value: str) -> None:
    try:
        valid_duration(value)
    except UserError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(string.digits + "²³¹٣", min_size=1, max_size=500))
def test_verify_never_raises(timestamp: str) -> None:
    assert (
        webhook.verify("secret", {"x-zm-request-timestamp": timestamp, "x-zm-signature": "v0=0"}, b"{}")
        is False
    )
