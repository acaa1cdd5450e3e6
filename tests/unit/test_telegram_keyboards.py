"""`Keyboard` (bot/telegram/keyboards.py) sends exactly what PTB's own `to_dict` would, for any buttons."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import (
    CallbackGame,
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LoginUrl,
    SwitchInlineQueryChosenChat,
    WebAppInfo,
)

from bot.telegram import views
from bot.telegram.keyboards import Keyboard, keyboard

texts = st.text(max_size=12)
nested = st.one_of(
    st.builds(WebAppInfo, texts),
    st.builds(LoginUrl, texts, forward_text=st.none() | texts),
    st.builds(CopyTextButton, texts),
    st.builds(
        SwitchInlineQueryChosenChat, query=st.none() | texts, allow_user_chats=st.none() | st.booleans()
    ),
    st.just(CallbackGame()),
)
extra = st.dictionaries(st.sampled_from(["future_field", "other"]), st.integers() | texts, max_size=2)


@st.composite
def buttons(draw: st.DrawFn) -> InlineKeyboardButton:
    value = {
        "url": texts,
        "callback_data": texts,
        "switch_inline_query": texts,
        "switch_inline_query_current_chat": texts,
        "pay": st.booleans(),
        "style": texts,
        "icon_custom_emoji_id": texts,
    }
    chosen = draw(st.lists(st.sampled_from(sorted(value)), unique=True, max_size=3))
    fields = {name: draw(value[name]) for name in chosen}
    object_field = draw(
        st.none()
        | st.sampled_from(
            ["web_app", "login_url", "copy_text", "switch_inline_query_chosen_chat", "callback_game"]
        )
    )
    if object_field is not None:
        fields[object_field] = draw(nested)
    return InlineKeyboardButton(draw(texts), **fields, api_kwargs=draw(extra) or None)


markups = st.builds(
    InlineKeyboardMarkup,
    st.lists(st.lists(buttons(), max_size=4), max_size=4),
    api_kwargs=extra.map(lambda found: found or None),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a machine busy with other work
@given(markups)
def test_a_keyboard_gives_the_dict_and_the_json_of_ptbs_to_dict(markup: InlineKeyboardMarkup) -> None:
    fast = Keyboard.of(markup)
    assert fast.to_dict() == markup.to_dict()
    assert json.dumps(fast.to_dict()) == json.dumps(markup.to_dict())  # the same keys in the same order
    assert fast.to_dict(recursive=False) == markup.to_dict(recursive=False)
    assert Keyboard.of(fast) is fast


def test_a_cards_keyboard_and_fingerprint_are_those_of_its_markup() -> None:
    markup = views.retry_keyboard(12)
    fast = keyboard(markup)
    assert isinstance(fast, Keyboard) and fast.inline_keyboard == markup.inline_keyboard
    assert views.fingerprint("text", fast) == views.fingerprint("text", markup)
    assert keyboard(None) is None
