"""The benchmark's phases, in order, one progress line each:

1. long audits under time-skipping (no system needed);
2. the system starts: Temporal dev server, emulator, worker, web app, each its own process;
3. Temporal's ceiling: empty workflows by their own worker, at the lifecycle's concurrency;
4. full-lifecycle attempts at that concurrency, then a sample of their histories;
5. a profiling round of the same (py-spy on the worker and the web app), not measured;
   through 4 and 5 the LMS receives ProctorFlow's events (webhooks, or the feed), from which
   it learns how its attempts move on; the later phases run without an event endpoint, as
   the runs before it did;
6. worker memory with attempts waiting for review (before the opens, whose backlog of new
   workflows would slow it; they leave thousands waiting, as production would have);
7. lesson opens at a fixed rate (last: the system falls behind when the rate is too high)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from temporalio.client import Client

from bench import ceiling, profiling
from bench.audit_clock import AuditFigures, audit_after
from bench.cpu import CpuMeter
from bench.events import listening
from bench.lifecycle import LifecycleRun, run_lifecycle, sample_histories
from bench.lms import Lms, lms_clients
from bench.load import LoadResult, percentile
from bench.machine import describe_machine, load_average
from bench.memory import run_memory
from bench.open_latency import OpenRun, run_open_latency
from bench.profiling import Profile
from bench.report import Phases, build_result
from bench.scale import MEMORY_TARGET, Scale
from bench.system import PROJECT_ROOT, System, running_system
from store.db import make_engine, session_factory

Progress = Callable[[str], None]
START_SAMPLES = 20
OPEN_SETTLE_SECONDS = 3.0


async def run_bench(scale: Scale, progress: Progress, events: str = "webhook") -> dict:
    started = time.perf_counter()
    machine = await describe_machine()
    progress(
        f"machine: {machine['cpu_count']} x {machine['cpu_model']}, load {machine['load_average_at_start']}"
    )
    with tempfile.TemporaryDirectory(prefix="proctorflow-bench-") as tmp:
        audits = await _audits(scale, Path(tmp) / "audits", progress)
        async with running_system(Path(tmp) / "system") as system:
            progress(
                f"system up: Temporal {system.settings.temporal_address}, web {system.settings.public_url}"
            )
            phases = await _under_load(system, scale, audits, progress, events)
    machine["load_average_at_end"] = load_average()
    return build_result(machine, scale, phases, time.perf_counter() - started, events)


async def _audits(scale: Scale, tmp: Path, progress: Progress) -> dict[int, AuditFigures]:
    audits = {}
    for hours in scale.audit_hours:
        figures = await audit_after(hours, tmp / f"{hours}h")
        audits[hours] = figures
        progress(
            f"audit after {hours}h (time-skipping, webhooks lost): {figures.polls} polls, "
            f"{figures.history_events} history events ({figures.non_task_events} besides workflow tasks)"
        )
    return audits


async def _under_load(
    system: System, scale: Scale, audits: dict[int, AuditFigures], progress: Progress, events: str
) -> Phases:
    top, ceiling_cpu = await _ceiling(system, scale, progress)
    api, emulator = lms_clients(system.api_url, system.settings.lms_token, system.emulator_url)
    async with api, emulator:
        lms = Lms(api, emulator)
        async with listening(api, lms.news, events) as source:
            progress(f"the LMS learns of its attempts from {source}")
            life, life_cpu = await _lifecycle(system, lms, scale, progress)
            histories = await sample_histories(system.client, life.attempt_ids, scale.history_sample)
            progress(f"histories: {histories.events} events in {len(histories.events)} sampled attempts")
            profiles = await _profile_round(system, lms, scale, progress)
        memory = await _memory(system, lms, scale, progress)
        open_cpu = CpuMeter(system.processes())
        with open_cpu.measuring():
            opens = await _opens(lms, scale, progress)
            await asyncio.sleep(OPEN_SETTLE_SECONDS)
    rss = {p.name: p.rss_mb() for p in (system.worker, system.web, system.temporal, system.emulator)}
    cpu = {
        "ms_per_empty_workflow": ceiling_cpu.ms_per(top.done + top.failed),
        "ms_per_attempt": life_cpu.ms_per(life.load.done + life.load.failed),
        # Each open with its workflow's first steps (the ProctorFree session), given time to settle.
        "ms_per_open": open_cpu.ms_per(opens.load.done + opens.load.failed + len(opens.serial) + 1),
    }
    return Phases(top, life, histories, opens, audits, memory, profiles, rss, cpu)


async def _ceiling(system: System, scale: Scale, progress: Progress) -> tuple[LoadResult, CpuMeter]:
    address = system.settings.temporal_address or ""
    system.start_extra("ceiling-worker", ceiling.worker_command(address))
    plain = await Client.connect(address)
    meter = CpuMeter(system.processes())
    with meter.measuring():
        top = await ceiling.measure_ceiling(
            plain, scale.ceiling_workflows, scale.concurrency, scale.ceiling_seconds
        )
    starts = await ceiling.start_latencies(plain, START_SAMPLES)
    top.extra["start_rpc_p50_ms"] = percentile(starts, 50) * 1000
    top.extra["start_rpc_p95_ms"] = percentile(starts, 95) * 1000
    progress(
        f"ceiling: {top.done} empty workflows in {top.elapsed:.1f}s = {top.per_second:.1f}/s "
        f"({top.failed} failed); CPU ms each: {meter.ms_per(top.done + top.failed)}; "
        f"a start RPC alone: p50 {top.extra['start_rpc_p50_ms']:.0f} ms"
    )
    return top, meter


async def _lifecycle(
    system: System, lms: Lms, scale: Scale, progress: Progress
) -> tuple[LifecycleRun, CpuMeter]:
    await run_lifecycle(lms, 2, 2, 60)  # warm-up: imports, caches, connections; not counted
    meter = CpuMeter(system.processes())
    with meter.measuring():
        life = await run_lifecycle(lms, scale.lifecycle_attempts, scale.concurrency, scale.lifecycle_seconds)
    system.check_alive()
    load = life.load
    progress(
        f"lifecycle: {load.done} full attempts in {load.elapsed:.1f}s = {load.per_second:.2f}/s, "
        f"{load.failed} failed{': ' + load.errors[0] if load.errors else ''}; "
        f"{sum(life.vendor_calls.values())} vendor calls, "
        f"{life.completed_in_reply} completed by the decision's reply; "
        f"CPU ms each: {meter.ms_per(load.done + load.failed)}"
    )
    steps = {step: round(percentile(spent, 50) * 1000) for step, spent in life.steps.items()}
    progress(f"lifecycle steps, p50 ms: {steps}")
    told = life.decision_to_event_seconds
    progress(
        f"lifecycle events: {life.events['received']} received ({life.events['duplicate']} again, "
        f"{life.events['rejected']} refused); decision to lesson.completed received: "
        f"p50 {percentile(told, 50) * 1000:.0f} ms, p95 {percentile(told, 95) * 1000:.0f} ms, "
        f"max {max(told, default=math.nan) * 1000:.0f} ms"
    )
    return life, meter


async def _opens(lms: Lms, scale: Scale, progress: Progress) -> OpenRun:
    opens = await run_open_latency(lms, scale.open_rate, scale.open_seconds)
    serial_p50 = percentile(opens.serial, 50) * 1000
    progress(
        f"opens: {opens.load.done} at {scale.open_rate:g}/s, {opens.load.failed} failed, worst send lag "
        f"{opens.worst_send_lag * 1000:.0f} ms; one at a time first: p50 {serial_p50:.0f} ms"
    )
    return opens


async def _profile_round(system: System, lms: Lms, scale: Scale, progress: Progress) -> list[Profile]:
    if scale.profile_seconds <= 0:
        return []
    if profiling.py_spy() is None:
        progress("profile: skipped (py-spy is not installed: pip install py-spy)")
        return []
    targets = {"worker": system.worker.pid, "web": system.web.pid}
    outputs = {name: system.run_dir / f"profile-{name}.txt" for name in targets}
    spies = [
        await profiling.record(pid, scale.profile_seconds, outputs[name]) for name, pid in targets.items()
    ]
    budget = scale.profile_seconds - 1
    life = await run_lifecycle(lms, 10_000, scale.concurrency, budget)
    for spy in spies:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(spy.wait(), timeout=scale.profile_seconds + 15)
    profiles = [
        profiling.summarise(name, path, PROJECT_ROOT) for name, path in outputs.items() if path.exists()
    ]
    progress(
        f"profile: {life.load.done} attempts under py-spy; "
        + ", ".join(f"{p.process} {p.samples} samples" for p in profiles)
    )
    return profiles


async def _memory(system: System, lms: Lms, scale: Scale, progress: Progress):  # noqa: ANN202
    engine = make_engine(system.settings.database_url)
    try:
        processes = {"worker": system.worker, "web": system.web, "temporal": system.temporal}
        memory = await run_memory(
            lms,
            system.client,
            session_factory(engine),
            processes,
            list(scale.memory_checkpoints),
            MEMORY_TARGET,
            scale.memory_concurrency,
            scale.memory_seconds,
            progress,
        )
    finally:
        engine.dispose()
    progress(
        f"memory: worker RSS at {MEMORY_TARGET} waiting = {memory.rss_at_target():.0f} MB ({memory.basis()})"
    )
    return memory
