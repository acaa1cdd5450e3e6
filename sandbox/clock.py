"""The sandbox's one wall clock, shared by the Telegram and Zoom emulators: real time plus an offset."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    """The emulator's wall clock: real time plus an offset that tests can move forward."""

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        """Seconds since the epoch, as the emulator believes."""
        with self._lock:
            return self._source() + self._offset

    def now(self) -> datetime:
        """The current moment as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        """Jump the clock forward (token expiry, code expiry, the daily limit's midnight)."""
        with self._lock:
            self._offset += seconds
