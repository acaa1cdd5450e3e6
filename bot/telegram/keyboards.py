"""An inline keyboard that turns itself into the Bot API's JSON for a fraction of PTB's cost.

PTB builds a request's `reply_markup` with the keyboard's `to_dict`, which walks every slot of every class
of every button (a button has thirteen, nearly all None) through generic code: about 80 us of CPU for a
card's ten buttons, a fifth of the cost of the call, and as much again for the card's fingerprint
(bot/telegram/views.py), which reads the same dict. `Keyboard` gives the same dict from the buttons' set
values at about a tenth of that; a button holding anything but plain values (a web app, a login URL, values
of the API that PTB does not know yet) is left to PTB's own `to_dict`.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

JSONDict = dict[str, Any]
PLAIN = (str, int, float)  # values the Bot API's JSON takes as they are (bool is an int)
_NAMES: dict[type, tuple[str, ...]] = {}


def _names(kind: type) -> tuple[str, ...]:
    """The public attributes of a kind of button, in the order PTB's `to_dict` gives them."""
    found = _NAMES.get(kind)
    if found is None:
        slots = (name for cls in kind.__mro__[:-1] for name in getattr(cls, "__slots__", ()))
        found = _NAMES[kind] = tuple(
            name for name in slots if not name.startswith("_") and name != "api_kwargs"
        )
    return found


def button_dict(button: InlineKeyboardButton) -> JSONDict:
    """What `button.to_dict()` gives, from its set values when they are all plain."""
    if button.api_kwargs or hasattr(button, "__dict__"):
        return button.to_dict()
    out: JSONDict = {}
    for name in _names(type(button)):
        value = getattr(button, name)
        if value is None:
            continue
        if not isinstance(value, PLAIN):
            return button.to_dict()
        out[name] = value
    return out


def keyboard(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The markup as a `Keyboard`, to be sent or fingerprinted (None stays None)."""
    return Keyboard.of(markup) if markup is not None else None


class Keyboard(InlineKeyboardMarkup):
    """An `InlineKeyboardMarkup` whose `to_dict` is the same dict as PTB's, built cheaply (see above)."""

    __slots__ = ()

    @classmethod
    def of(cls, markup: InlineKeyboardMarkup) -> Keyboard:
        """The same buttons as a `Keyboard` (the markup itself when it is one already)."""
        if isinstance(markup, Keyboard):
            return markup
        return cls(markup.inline_keyboard, api_kwargs=dict(markup.api_kwargs) or None)

    def to_dict(self, recursive: bool = True) -> JSONDict:
        if not recursive or self.api_kwargs or not self.inline_keyboard:  # PTB leaves out an empty one
            return super().to_dict(recursive)
        return {"inline_keyboard": [[button_dict(button) for button in row] for row in self.inline_keyboard]}
