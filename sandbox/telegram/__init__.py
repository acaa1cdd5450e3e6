"""A faithful emulator of the Telegram Bot API, for the demo, the tests and the benchmarks.

`TelegramSandbox` builds the ASGI app (the Bot API under `/bot{token}/`, the control API under `/sandbox/`);
`TelegramUser` is a simulated person and `TelegramControl` the test's own controls, both over HTTP.
"""

from sandbox.telegram.app import TelegramSandbox
from sandbox.telegram.client import BotCall, SentMessage, TelegramControl, TelegramUser

__all__ = ["BotCall", "SentMessage", "TelegramControl", "TelegramSandbox", "TelegramUser"]
