"""CPU time per unit of work, per process: which part of the system a phase's work costs."""

from __future__ import annotations

import resource
from collections.abc import Iterator
from contextlib import contextmanager

from bench.system import Process

LOAD_GENERATOR = "bench"  # this process: the scripted LMS, learners and reviewers


class CpuMeter:
    """CPU seconds each process spent between `start` and `stop`."""

    def __init__(self, processes: dict[str, Process]) -> None:
        self._processes = processes
        self.spent: dict[str, float] = {}

    @contextmanager
    def measuring(self) -> Iterator[CpuMeter]:
        before = self._now()
        yield self
        after = self._now()
        self.spent = {name: after[name] - before[name] for name in before}

    def ms_per(self, units: int) -> dict[str, float]:
        """Each process's CPU ms per unit, and the total of the system under test (the load
        generator aside)."""
        each = {name: round(seconds * 1000 / max(units, 1), 1) for name, seconds in self.spent.items()}
        system = sum(ms for name, ms in each.items() if name != LOAD_GENERATOR)
        return each | {"system_total": round(system, 1)}

    def _now(self) -> dict[str, float]:
        own = resource.getrusage(resource.RUSAGE_SELF)
        now = {name: process.cpu_seconds() for name, process in self._processes.items()}
        return now | {LOAD_GENERATOR: own.ru_utime + own.ru_stime}
