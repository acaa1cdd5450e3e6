"""JSON columns are written by orjson and read back by it (storage/json_codec.py `text` and `decode`, the
engines' serializers): any value the standard library wrote must come back as the standard library would
read it, and the text must be JSON to any reader (SQLite's json_extract reads job payloads in a migration)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from storage.json_codec import decode as json_value
from storage.json_codec import text as json_text

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)  # beyond 64 bits orjson reads a float (json_codec)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()  # lone surrogates included
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(-(2**40), 2**40), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(VALUES)
@example({"name": "Zoë \ud800 😀", 7: [1, 2.5, None, True], "chat_id": 2**62, "big": 2**70})
def test_a_value_comes_back_as_the_standard_library_wrote_and_read_it(value: Any) -> None:
    expected = json.loads(json.dumps(value))
    text = json_text(value)
    assert json.loads(text) == expected  # JSON to any reader
    big = expected.get("big") if isinstance(expected, dict) else None
    if isinstance(big, int) and not -(2**63) <= big < 2**64:  # written as ever; orjson reads it as a float
        expected["big"] = float(big)
    assert json_value(text) == expected
