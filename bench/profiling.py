"""py-spy samples of the bot process during the burst, and its top costs by function.

py-spy (the `test` extra) attaches to the running bot (`py-spy record --pid`), which needs ptrace; the
samples are kept as collapsed stacks (`burst.txt`, one stack and its count a line: any flame graph tool
draws them). Only the thread holding the GIL is sampled (`--gil`), so shares are shares of the bot's Python
CPU: without it py-spy also counted a thread sleeping inside SQLite's busy handler (waiting for another
connection's write lock) as running, and a fifth of the samples went to `_OneCallCursor.execute.<locals>.run`
while SQLite's own CPU was under a tenth of that (timed per statement with `time.thread_time`). Native work
done without the GIL (SQLite executing a statement on aiosqlite's thread) is not sampled.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Innermost frames that wait rather than work: py-spy counts a thread woken from them as running while it
# waits for a core (the machine is shared) or for the GIL, so they are listed apart and left out of shares.
WAITS = {
    ("EpollSelector.select", "selectors.py"),
    ("_connection_worker_thread", "aiosqlite/core.py"),  # its own line is the queue's blocking get()
}
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*)\)$")
TOP = 30
PRODUCT = ("bot/", "handlers/", "storage/")
# Frames every sample of the event loop's thread passes through: left out of the inclusive list.
PLUMBING = (
    "<frozen runpy>",
    "bot/__main__.py",
    "asyncio/runners.py",
    "asyncio/base_events.py",
    "threading.py",
)


@dataclass(frozen=True)
class Frame:
    function: str
    file: str

    def label(self) -> str:
        file = self.file
        for marker in ("site-packages/", "/lib/python3."):
            if marker in file:
                file = file.split(marker, 1)[1]
                break
        return f"{self.function} ({file})"


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install -e '.[test]'")
    return found


class Profiler:
    def __init__(self, folder: Path, rate: int = 250) -> None:
        self.folder = folder
        self.rate = rate
        self.raw = folder / "burst.txt"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, pid: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [_py_spy(), "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw"]
        command += ["--gil", "--nolineno", "--nonblocking", "--output", str(self.raw)]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=(self.folder / "py-spy.log").open("wb")
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def report(self, orders: int, updates: int, cpu_seconds: float) -> str:
        if not self.raw.exists():
            return f"py-spy wrote no samples; see {self.folder / 'py-spy.log'}"
        return top_costs(self.raw.read_text(), orders, updates, cpu_seconds)


def parse(raw: str) -> list[tuple[list[Frame], int]]:
    stacks = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        frames_part, _, count = line.rpartition(" ")
        frames = []
        for item in frames_part.split(";"):
            match = FRAME.match(item)
            if match:
                frames.append(Frame(match["function"], match["file"]))
        stacks.append((frames, int(count)))
    return stacks


def top_costs(raw: str, orders: int, updates: int, cpu_seconds: float) -> str:
    """The functions with the largest inclusive and self shares, in CPU ms per order and per update."""
    stacks = []
    waiting = 0
    for frames, count in parse(raw):
        if frames and (frames[-1].function, _short(frames[-1].file)) in WAITS:
            waiting += count
        else:
            stacks.append((frames, count))
    total = sum(count for _, count in stacks)
    if not total:
        return "py-spy: no samples"
    inclusive: Counter[Frame] = Counter()
    own: Counter[Frame] = Counter()
    packages: Counter[str] = Counter()
    for frames, count in stacks:
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            leaf = frames[-1]
            own[leaf] += count
            packages[_package(leaf.file)] += count

    def line(frame_or_name: str, samples: int) -> str:
        share = samples / total
        per_order = 1000 * cpu_seconds * share / max(1, orders)
        per_update = 1000 * cpu_seconds * share / max(1, updates)
        return f"{100 * share:5.1f}%  {per_order:7.1f} ms/order  {per_update:6.2f} ms/update  {frame_or_name}"

    out = [
        f"py-spy: {total} samples of the bot at work, {waiting} more in waits (woken, waiting for a core); "
        f"{cpu_seconds:.1f} CPU s in the burst are shared out by these shares"
    ]
    out.append("by package of the running (innermost) frame:")
    out += ["  " + line(name, n) for name, n in packages.most_common(12)]
    out.append(f"top {TOP} functions, inclusive (the function and what it called):")
    useful = [(f, n) for f, n in inclusive.most_common() if not f.file.endswith(PLUMBING)]
    useful = [(f, n) for f, n in useful if not (f.function == "Handle._run" and f.file.endswith("events.py"))]
    out += ["  " + line(frame.label(), n) for frame, n in useful[:TOP]]
    ours = [(f, n) for f, n in useful if f.file.startswith(PRODUCT)][:TOP]
    out.append(f"top {TOP} of the product's own functions (bot/, handlers/, storage/), inclusive:")
    out += ["  " + line(frame.label(), n) for frame, n in ours]
    out.append(f"top {TOP} functions, self (the innermost frame):")
    out += ["  " + line(frame.label(), n) for frame, n in own.most_common(TOP)]
    return "\n".join(out)


def _short(file: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def _package(file: str) -> str:
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/lib/python3." in file:
        return "stdlib:" + file.split("/lib/python3.", 1)[1].split("/", 2)[1].removesuffix(".py")
    return file.split("/", 1)[0] if "/" in file else file


def main() -> None:
    """`python -m bench.profiling FILE ORDERS UPDATES CPU_SECONDS`: the report of a saved burst.txt."""
    path, orders, updates, cpu = sys.argv[1:5]
    print(top_costs(Path(path).read_text(), int(orders), int(updates), float(cpu)))


if __name__ == "__main__":
    main()
