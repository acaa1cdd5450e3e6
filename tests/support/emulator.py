"""The Telegram emulator on its own, for the sandbox's tests: its token and what a test holds of it served."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.telegram import TelegramSandbox
from sandbox.telegram.client import TelegramControl, TelegramUser

TOKEN = "7000000001:AAHsandboxTokenForEmulatorTests0123456"
ANN = 101


@dataclass
class Served:
    sandbox: TelegramSandbox
    url: str
    control: TelegramControl

    def user(self, user_id: int = ANN, name: str = "Ann") -> TelegramUser:
        return TelegramUser(self.url, user_id, name, username=name.lower())
