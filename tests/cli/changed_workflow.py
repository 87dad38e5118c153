"""A careless new version of the attempt workflow, for `proctorflow replay`'s test: it waits
before anything else, so its first command differs from every recorded attempt's. In a module
of its own: Temporal's sandbox imports a workflow's module, which must import nothing else."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow


@workflow.defn(name="AttemptWorkflow")
class ChangedAttemptWorkflow:
    @workflow.run
    async def run(self, _: object) -> None:
        await workflow.sleep(timedelta(hours=1))
