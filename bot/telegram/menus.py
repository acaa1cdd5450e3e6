"""The command menus Telegram shows next to the text field, in both languages."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScope, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

from bot import i18n

log = logging.getLogger(__name__)

Menu = list[tuple[str, str]]  # command, text key of its description


def commands(menu: Menu, language: str) -> list[BotCommand]:
    return [BotCommand(name, i18n.render(language, key)) for name, key in menu]


async def _set(bot: Bot, menu: Menu, scope: BotCommandScope, chosen: str | None) -> None:
    """English without a language code (every other language falls back to it) and Russian for `ru`;
    a chat whose user chose a language gets that one whatever their Telegram app's language."""
    await bot.set_my_commands(commands(menu, chosen or "en"), scope=scope)
    for language in i18n.LANGUAGES:
        await bot.set_my_commands(commands(menu, chosen or language), scope=scope, language_code=language)


async def set_for_all(bot: Bot, menu: Menu) -> None:
    """The menu of every private chat, in each language."""
    await _set(bot, menu, BotCommandScopeAllPrivateChats(), None)


async def set_for_chat(bot: Bot, chat_id: int, menu: Menu, chosen: str | None) -> None:
    """One chat's own menu (an owner's, or anyone's after /language); a failure is only logged."""
    try:
        await _set(bot, menu, BotCommandScopeChat(chat_id), chosen)
    except TelegramError as exc:
        log.warning("Could not set a chat's command menu: %s", type(exc).__name__)
