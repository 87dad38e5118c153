"""How much load each phase puts on the machine. The full run fits about 10 minutes on a
2-core machine; `--quick` runs every piece at toy scale (the smoke test); `--scale F`
multiplies counts and time budgets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

MEMORY_TARGET = 10_000  # attempts waiting for review: the memory goal is stated at this count


@dataclass(frozen=True)
class Scale:
    concurrency: int = 10  # in flight at once, for the ceiling and the lifecycle alike
    ceiling_workflows: int = 1000
    ceiling_seconds: float = 60
    lifecycle_attempts: int = 300
    lifecycle_seconds: float = 120
    history_sample: int = 10
    profile_seconds: float = 20  # 0: no profiling round
    open_rate: float = 20  # lesson opens per second
    open_seconds: float = 15
    audit_hours: tuple[int, ...] = (1, 23, 24)
    # Past 250 (the worker's default workflow cache) memory should level off: measured steps
    # before and after it show whether it does; the budget decides how far the run gets.
    memory_checkpoints: tuple[int, ...] = (125, 250, 500, 750, 1000, 1500, 2000, 5000, MEMORY_TARGET)
    memory_concurrency: int = 16
    memory_seconds: float = 330

    def times(self, factor: float) -> Scale:
        """Counts and budgets multiplied by `factor` (rates, concurrency and audits unchanged)."""
        return dataclasses.replace(
            self,
            ceiling_workflows=max(1, round(self.ceiling_workflows * factor)),
            ceiling_seconds=self.ceiling_seconds * factor,
            lifecycle_attempts=max(1, round(self.lifecycle_attempts * factor)),
            lifecycle_seconds=self.lifecycle_seconds * factor,
            profile_seconds=self.profile_seconds * factor,
            open_seconds=self.open_seconds * factor,
            memory_checkpoints=tuple(max(1, round(n * factor)) for n in self.memory_checkpoints),
            memory_seconds=self.memory_seconds * factor,
        )


FULL = Scale()
QUICK = Scale(
    concurrency=2,
    ceiling_workflows=10,
    ceiling_seconds=15,
    lifecycle_attempts=4,
    lifecycle_seconds=30,
    history_sample=2,
    profile_seconds=0,
    open_rate=5,
    open_seconds=2,
    memory_checkpoints=(5, 10),
    memory_concurrency=4,
    memory_seconds=20,
)
