"""glibc's malloc keeps at most two arenas in the bot's process, however many threads allocate (issue 13)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bot.allocator import ARENAS, cap_arenas

# Six threads hold memory from malloc at the same time (bytearrays above pymalloc's 512 bytes), then glibc's
# malloc_info says how many arenas ("heaps") the process has.
PROBE = """
import ctypes, sys, threading
from bot.allocator import cap_arenas
print("applied" if sys.argv[1] == "cap" and cap_arenas() else "not applied")
held = threading.Barrier(7)
def allocate():
    kept = [bytearray(4096) for _ in range(64)]
    held.wait()
    held.wait()
threads = [threading.Thread(target=allocate) for _ in range(6)]
for thread in threads:
    thread.start()
held.wait()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
out = libc.fopen(sys.argv[2].encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(out))
libc.fclose(ctypes.c_void_p(out))
held.wait()
for thread in threads:
    thread.join()
"""


def glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):
        return False


def arenas(mode: str, tmp_path) -> tuple[str, int]:
    report = tmp_path / f"{mode}.xml"
    env = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(report)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    return done.stdout.strip(), len(re.findall(r'<heap nr="\d+">', report.read_text()))


@pytest.mark.skipif(not glibc(), reason="the arena cap is glibc's")
def test_threads_share_at_most_two_arenas_once_capped(tmp_path) -> None:
    assert arenas("cap", tmp_path) == ("applied", ARENAS)


@pytest.mark.skipif(not glibc(), reason="the arena cap is glibc's")
def test_without_the_cap_each_thread_gets_an_arena_of_its_own(tmp_path) -> None:
    """The probe sees arenas (else the test above would pass whatever the cap does)."""
    outcome, count = arenas("plain", tmp_path)
    assert outcome == "not applied" and count > ARENAS


def test_malloc_arena_max_in_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert cap_arenas() is False


def test_what_start_up_keeps_is_out_of_the_collectors_sight_and_its_garbage_gone() -> None:
    """A full collection once serving looks only at what serving made: start-up's objects are frozen."""
    import gc
    import weakref

    from bot.allocator import settle_start_up

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    kept = [Cycle() for _ in range(100)]
    garbage = Cycle()
    gone = weakref.ref(garbage)
    del garbage
    frozen_before = gc.get_freeze_count()
    try:
        settle_start_up()
        assert gc.get_freeze_count() >= frozen_before + len(kept)
        assert gone() is None  # start-up's garbage collected, not frozen
        assert not any(type(found) is Cycle for found in gc.get_objects())  # what is kept is frozen
    finally:
        gc.unfreeze()
