"""Regressions: parsers on odd input (trailing newlines, calendar edges, non-ASCII digits) never crash."""

from __future__ import annotations

import string
from datetime import date, timedelta
from zoneinfo import available_timezones

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.services.booking import parse_local
from bot.services.catalog import valid_duration
from bot.telegram.buttons import data, parse
from bot.zoom import webhook

ZONES = sorted(available_timezones())


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
