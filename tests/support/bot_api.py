"""What the Bot API answers, for tests that stand in for it."""

from __future__ import annotations

# The message a sendMessage or editMessageText answers with (its `result`).
SENT = {
    "message_id": 7,
    "from": {"id": 1, "is_bot": True, "first_name": "Bot"},
    "chat": {"id": 42, "type": "private", "first_name": "Ann"},
    "date": 1_700_000_000,
    "text": "hello",
}
