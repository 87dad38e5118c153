"""Where the time goes: py-spy samples the worker and the web app (by pid, from outside, so
their code is untouched) while a separate, unmeasured round of lifecycle attempts runs. The
collapsed stacks are summed into the functions and the packages that hold the CPU.

py-spy is optional (`pip install py-spy`): without it this phase is skipped and says so."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

TOP = 12
SAMPLE_RATE = 50  # per second: enough to rank hot spots, light on a 2-core machine
# On every stack of the worker's main thread (`python -m cli worker`): says nothing.
ENTRY_POINTS = ("(cli/__main__.py)", "(cli/__init__.py)")
# Innermost frames of a thread that waits inside C (epoll, a thread pool's queue, uvloop), which
# py-spy cannot always tell from work: counted as idle, not as a hot spot.
IDLE_LEAVES = (
    "select (selectors.py)",
    "_worker (concurrent/futures/thread.py)",
    "wait (threading.py)",
    "Runner.run (asyncio/runners.py)",
)


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class Profile:
    process: str
    samples: int  # busy ones; idle-looking ones are left out of every share below
    idle_samples: int
    by_package: list[tuple[str, float]]  # share of samples whose innermost frame is in it
    self_time: list[tuple[str, float]]  # innermost frames
    project_inclusive: list[tuple[str, float]]  # ProctorFlow's own functions on the stack


async def record(pid: int, seconds: float, out: Path) -> asyncio.subprocess.Process:
    """Starts sampling `pid` for `seconds` into `out` (collapsed stacks); await .wait() after."""
    binary = py_spy()
    assert binary, "py-spy is not installed"
    return await asyncio.create_subprocess_exec(
        *(binary, "record", "--pid", str(pid), "--duration", str(int(seconds))),
        *(
            "--rate",
            str(SAMPLE_RATE),
            "--format",
            "raw",
            "--full-filenames",
            "--output",
            str(out),
        ),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def summarise(process: str, collapsed: Path, project_root: Path) -> Profile:
    by_package: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(raw, project_root) for raw in stack.split(";")]
        innermost = frames[-1]
        if innermost.label.endswith(IDLE_LEAVES):
            idle += count
            continue
        total += count
        self_time[innermost.label] += count
        by_package[innermost.package] += count
        for label in {f.label for f in frames if f.ours and not f.label.endswith(ENTRY_POINTS)}:
            inclusive[label] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(n / total, 3)) for name, n in counter.most_common(TOP)] if total else []

    return Profile(process, total, idle, shares(by_package), shares(self_time), shares(inclusive))


@dataclass(frozen=True)
class _Frame:
    label: str  # "function (module/path.py)"
    package: str  # the top-level package, or "python" for the standard library
    ours: bool


def _frame(raw: str, project_root: Path) -> _Frame:
    """`function (path/to/file.py:123)` as py-spy prints it."""
    function, _, where = raw.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    relative = _relative(path, project_root)
    ours = relative is not None and not relative.startswith(".venv")
    shown = relative if ours else _site_relative(path)
    return _Frame(f"{function} ({shown})", _package(shown, ours), ours)


def _relative(path: str, root: Path) -> str | None:
    if not path.startswith("/"):  # "<frozen importlib._bootstrap>", "<string>"
        return None
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return None


def _site_relative(path: str) -> str:
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "lib/python3" and "/" in tail else tail
    return path


def _package(shown: str, ours: bool) -> str:
    head = shown.split("/", 1)[0]
    if ours:
        return f"proctorflow:{head.removesuffix('.py')}"
    if "/" not in shown and shown.endswith(".py"):
        return "python"
    return head
