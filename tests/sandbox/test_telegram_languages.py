"""The Telegram sandbox and languages: users' language_code in updates, command menus per language."""

from __future__ import annotations

import pytest
from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import BadRequest

from sandbox.telegram.client import TelegramUser
from tests.support.emulator import Served


@pytest.fixture
def url(served: Served) -> str:
    return served.url


async def test_a_users_language_code_reaches_the_bot_as_telegram_sends_it(url: str, bot: Bot) -> None:
    katya = TelegramUser(url, 7, "Катя", "katya", language_code="ru")
    katya.send("/start")
    katya.language_code = "pt-br"
    katya.send("olá")
    updates = await bot.get_updates()
    assert [u.effective_user.language_code for u in updates if u.effective_user] == ["ru", "pt-br"]


async def test_command_menus_are_chosen_by_the_users_language(url: str, bot: Bot) -> None:
    ru, de = TelegramUser(url, 7, "Катя", language_code="ru"), TelegramUser(url, 8, "Jan", language_code="de")
    ru.send("/start")
    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands([BotCommand("orders", "Your orders")], scope=scope)
    await bot.set_my_commands([BotCommand("orders", "Ваши заказы")], scope=scope, language_code="ru")
    assert ru.commands() == [("orders", "Ваши заказы")]
    assert de.commands() == [("orders", "Your orders")]
    await bot.set_my_commands([BotCommand("services", "Услуги")], scope=BotCommandScopeChat(7))
    assert ru.commands() == [("services", "Услуги")], "a chat's own menu comes before the language's"
    menu = await bot.get_my_commands(scope=scope, language_code="ru")
    assert [(c.command, c.description) for c in menu] == [("orders", "Ваши заказы")]


@pytest.mark.parametrize("code", ["RU", "rus", "r", "ру", "ru-RU"])
async def test_a_language_code_that_is_not_two_lowercase_letters_is_refused(bot: Bot, code: str) -> None:
    with pytest.raises(BadRequest, match="Invalid language code specified"):
        await bot.set_my_commands([BotCommand("orders", "x")], language_code=code)
