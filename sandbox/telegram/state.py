"""Everything one Telegram sandbox knows, built once and shared by the Bot API and the control API."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sandbox.clock import Clock
from sandbox.telegram.callbacks import CallbackQueries
from sandbox.telegram.commands import CommandMenus
from sandbox.telegram.faults import CallLog, Faults
from sandbox.telegram.updates import UpdateQueue
from sandbox.telegram.users import Users
from sandbox.telegram.webhook import RetryPolicy, WebhookDelivery
from sandbox.telegram.world import World


def bot_user(bot_id: int, username: str) -> dict[str, Any]:
    """getMe's User: a bot that joins groups, reads them in privacy mode and has no inline mode."""
    name = username.removesuffix("_bot").removesuffix("bot").replace("_", " ").strip().title() or "Sandbox"
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": f"{name} Bot",
        "username": username,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@dataclass
class SandboxState:
    """The parts of the emulated Telegram; all mutations happen under one shared lock."""

    token: str
    bot_user: dict[str, Any]
    clock: Clock
    world: World
    updates: UpdateQueue
    callbacks: CallbackQueries
    commands: CommandMenus
    faults: Faults
    calls: CallLog
    delivery: WebhookDelivery
    users: Users

    @classmethod
    def build(cls, token: str, bot_id: int, username: str) -> SandboxState:
        lock = threading.RLock()
        clock = Clock()
        user = bot_user(bot_id, username)
        world = World(user, clock, lock)
        updates = UpdateQueue(lock)
        callbacks = CallbackQueries(clock, lock)
        return cls(
            token=token,
            bot_user=user,
            clock=clock,
            world=world,
            updates=updates,
            callbacks=callbacks,
            commands=CommandMenus(lock),
            faults=Faults(clock, lock),
            calls=CallLog(clock, lock),
            delivery=WebhookDelivery(updates, clock, RetryPolicy()),
            users=Users(world, updates, callbacks, username),
        )
