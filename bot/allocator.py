"""The bot's memory keepers: glibc's malloc arenas and Python's garbage collector (issue 13, README
"Performance").

glibc gives each thread that allocates its own arena (up to eight per core), and each keeps the memory it
once held. The bot allocates from its event loop and from one thread per pooled SQLite connection
(aiosqlite): under a burst each of those threads grew an arena of its own, about 1 MiB each, for work that
is small and short. Capped at two, the threads share them (glibc hands a thread one not locked at the time).
"""

from __future__ import annotations

import ctypes
import gc
import os

ARENAS = 2
M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h


def cap_arenas(limit: int = ARENAS) -> bool:
    """Let glibc's malloc keep at most `limit` arenas; call it before any thread starts.

    Whether the cap was applied: not on another C library (musl, macOS, Windows), nor when the
    environment already says (MALLOC_ARENA_MAX, which glibc reads itself).
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not _glibc():
        return False
    process = ctypes.CDLL(None)  # the symbols already loaded, glibc's among them
    return bool(process.mallopt(M_ARENA_MAX, limit))


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):  # no such name here, or no confstr at all (Windows)
        return False


def settle_start_up() -> None:
    """Once started: what start-up made and keeps (modules, mappers, compiled statements: about 80 000
    objects) is moved out of the cyclic garbage collector's sight (`gc.freeze`), so each of its full looks
    goes over what serving made since (one took about 20 ms of the bot's one thread before). Start-up's own
    garbage is collected first; an object frozen is never collected, which costs nothing for what lives as
    long as the process."""
    gc.collect()
    gc.freeze()
