"""JSON by orjson, with the standard library where orjson refuses: the Bot API's bodies and answers
(bot/telegram/connections.py, requests.py, intake.py) and the JSON columns (storage/db.py's engines).

The bot encodes every request's body, decodes every answer (getUpdates' updates included) and writes a JSON
column in most transactions (drafts, job payloads, stored updates): the standard library's encoder took
about 30 us for a card's edit with its buttons, orjson under 2 us, and its decoder about half the standard
library's time (py-spy of bench.orders' burst: JSON was about 6% of the bot's CPU). Where the two differ,
the standard library's answer is kept:
- a text with a lone surrogate (odd input, e.g. "\\ud800" in a name the bot repeats) is refused by orjson's
  encoder and decoder; the standard library escapes it and reads it;
- orjson refuses NaN and Infinity (the standard library reads them as floats), and an int beyond 64 bits on
  the way out (the standard library writes it);
- orjson writes non-ASCII text as UTF-8 where the standard library escaped it: the same JSON to a reader.
One difference stays: orjson reads an integer beyond 64 bits as a float. Neither the Bot API nor the bot
has any (their ids fit in 64 bits), and a webhook update whose update_id is one is refused either way (not an
int below 2**63).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_ASCII = json.JSONEncoder(separators=(",", ":"))  # ASCII out (non-ASCII and lone surrogates escaped), in C


def encode(value: Any) -> bytes:
    """`value` as compact JSON in UTF-8 (keys that are not texts written as texts, as the standard library
    does)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, an int beyond 64 bits
        return _ASCII.encode(value).encode("ascii")


def text(value: Any) -> str:
    """`encode` as text (a JSON column's value)."""
    return encode(value).decode()


def decode(body: bytes | str) -> Any:
    """The JSON value of `body`; ValueError (json.JSONDecodeError) when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:  # a lone surrogate, NaN, or not JSON: the standard library decides
        return json.loads(body)
