"""The run's figures in one JSON document (bench/results/latest.json), set against the goals,
and the table printed at the end."""

from __future__ import annotations

import dataclasses
import json
import math
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.audit_clock import AuditFigures, naive_figures
from bench.lifecycle import HistorySample, LifecycleRun
from bench.load import LoadResult, percentile
from bench.memory import MemoryRun
from bench.open_latency import OpenRun
from bench.profiling import Profile
from bench.scale import Scale

# The figures every run writes (the smoke test checks each is a number).
KEYS = (
    "ceiling_wf_per_s",
    "attempts_per_s",
    "ratio",
    "open_p50_ms",
    "open_p95_ms",
    "open_p99_ms",
    "decision_to_complete_p50_ms",
    "decision_to_complete_p95_ms",
    "decision_to_event_received_p50_ms",
    "decision_to_event_received_p95_ms",
    "decision_to_event_received_max_ms",
    "history_events_per_attempt",
    "vendor_calls_per_attempt",
    "polls_24h_audit",
    "history_events_1h",
    "history_events_23h",
    "worker_rss_mb_10k_waiting",
)


@dataclass(frozen=True)
class Goal:
    key: str
    label: str
    compare: str  # ">=" or "<="
    target: float
    unit: str


GOALS = (
    Goal("ratio", "attempts/s over Temporal's empty-workflow ceiling", ">=", 0.30, ""),
    Goal("open_p95_ms", "lesson open p95", "<=", 100, "ms"),
    Goal("decision_to_complete_p95_ms", "reviewer decision to lesson completed p95", "<=", 1000, "ms"),
    Goal("polls_24h_audit", "vendor polls for a 24-hour audit (webhooks lost)", "<=", 30, ""),
    Goal("worker_rss_mb_10k_waiting", "worker RSS with 10,000 attempts waiting", "<=", 300, "MB"),
)
COMPARE = {">=": operator.ge, "<=": operator.le}


@dataclass
class Phases:
    ceiling: LoadResult
    lifecycle: LifecycleRun
    histories: HistorySample
    opens: OpenRun
    audits: dict[int, AuditFigures]
    memory: MemoryRun
    profiles: list[Profile]
    rss_mb: dict[str, float]  # each process, once the run's load was over
    cpu: dict[str, dict[str, float]]  # CPU ms per unit of work, per process, in two phases


def build_result(
    machine: dict, scale: Scale, phases: Phases, seconds: float, events: str = "webhook"
) -> dict[str, Any]:
    life, opens, audits, memory = phases.lifecycle, phases.opens, phases.audits, phases.memory
    open_ms = [s * 1000 for s in opens.latencies]
    decision_ms = [s * 1000 for s in life.decision_seconds]
    told_ms = [s * 1000 for s in life.decision_to_event_seconds]
    # Calls are counted for every attempt started, finished or not.
    attempts = max(life.load.done + life.load.failed, 1)
    result: dict[str, Any] = {
        "ceiling_wf_per_s": phases.ceiling.per_second,
        "attempts_per_s": life.load.per_second,
        "ratio": life.load.per_second / phases.ceiling.per_second if phases.ceiling.per_second else 0.0,
        "open_p50_ms": percentile(open_ms, 50),
        "open_p95_ms": percentile(open_ms, 95),
        "open_p99_ms": percentile(open_ms, 99),
        "decision_to_complete_p50_ms": percentile(decision_ms, 50),
        "decision_to_complete_p95_ms": percentile(decision_ms, 95),
        # From the decision sent to `lesson.completed` received by the LMS (webhook or feed).
        "decision_to_event_received_p50_ms": percentile(told_ms, 50),
        "decision_to_event_received_p95_ms": percentile(told_ms, 95),
        "decision_to_event_received_max_ms": max(told_ms, default=math.nan),
        "history_events_per_attempt": _mean(phases.histories.events),
        "vendor_calls_per_attempt": sum(life.vendor_calls.values()) / attempts,
        "polls_24h_audit": audits[max(audits)].polls,
        "history_events_1h": audits[min(audits)].history_events,
        "history_events_23h": audits[_closest(audits, 23)].history_events,
        "worker_rss_mb_10k_waiting": memory.rss_at_target(),
    }
    result |= {
        "worker_rss_10k_extrapolated": not memory.reached_target,
        "worker_rss_10k_basis": memory.basis(),
        "history_same_1h_23h": audits[min(audits)].non_task_events
        == audits[_closest(audits, 23)].non_task_events,
        "events_channel": events,
        "machine": machine,
        "scale": dataclasses.asdict(scale),
        "duration_s": round(seconds, 1),
        "details": _details(phases, open_ms, decision_ms, attempts) | {"events": _events(life, events)},
        "naive_design": {f"{h}h_audit": naive_figures(h) for h in sorted(audits)} | {"calls_per_day": 1440},
        "samples_ms": {
            "open": _rounded(open_ms),
            "decision_to_complete": _rounded(decision_ms),
            "decision_to_event_received": _rounded(told_ms),
        },
        "profiles": [dataclasses.asdict(p) for p in phases.profiles],
    }
    result["goals"] = goal_verdicts(result)
    return result


def _details(phases: Phases, open_ms: list[float], decision_ms: list[float], attempts: int) -> dict:
    life, memory = phases.lifecycle, phases.memory
    return {
        "ceiling": _load(phases.ceiling),
        "lifecycle": _load(life.load)
        | {
            "completed_in_decision_reply": life.completed_in_reply,
            "decision_to_progress_p95_ms": percentile(
                [s * 1000 for s in life.decision_to_progress_seconds], 95
            ),
            "decision_max_ms": max(decision_ms, default=0.0),
            "step_p50_ms": {
                step: percentile([s * 1000 for s in spent], 50) for step, spent in life.steps.items()
            },
            "vendor_calls_by_endpoint_per_attempt": {
                k: v / attempts for k, v in sorted(life.vendor_calls.items())
            },
            "webhooks_per_attempt": life.webhooks_sent / attempts,
            "history_events_sampled": phases.histories.events,
            "history_non_task_events_sampled": phases.histories.non_task_events,
        },
        "open": _load(phases.opens.load)
        | {
            "max_ms": max(open_ms, default=0.0),
            "worst_send_lag_ms": phases.opens.worst_send_lag * 1000,
            "one_at_a_time_p50_ms": percentile([s * 1000 for s in phases.opens.serial], 50),
            "one_at_a_time_p95_ms": percentile([s * 1000 for s in phases.opens.serial], 95),
        },
        "audits": {f"{h}h": dataclasses.asdict(a) for h, a in sorted(phases.audits.items())},
        "memory": {
            "target": memory.target,
            "baseline_worker_rss_mb": memory.baseline_rss_mb,
            "checkpoints": [dataclasses.asdict(c) for c in memory.checkpoints],
            "extrapolated_from": [] if memory.reached_target else memory.extrapolated_from(),
            "failed_opens": memory.failed_opens,
            "errors": memory.errors,
        },
        "rss_mb_at_end": phases.rss_mb,
        "cpu": phases.cpu,
    }


def _events(life: LifecycleRun, channel: str) -> dict[str, Any]:
    """What the LMS received in the lifecycle phase (the warm-up and the profiling round aside)."""
    counts, attempts = life.events, max(life.load.done + life.load.failed, 1)
    lags_ms = [s * 1000 for s in life.event_lags if math.isfinite(s)]
    return {
        "channel": channel,
        "received": counts["received"],
        "received_per_attempt": counts["received"] / attempts,
        "duplicates": counts["duplicate"],
        "rejected_signatures": counts["rejected"],
        "feed_errors": counts["feed_errors"],
        "by_type": {k.removeprefix("type:"): v for k, v in sorted(counts.items()) if k.startswith("type:")},
        # From each event's timestamp (when its change happened) to its arrival at the LMS.
        "lag_p50_ms": percentile(lags_ms, 50),
        "lag_p95_ms": percentile(lags_ms, 95),
        "lag_max_ms": max(lags_ms, default=math.nan),
    }


def goal_verdicts(result: dict[str, Any]) -> list[dict[str, Any]]:
    verdicts = [
        {
            "key": g.key,
            "goal": f"{g.label} {g.compare} {g.target:g}{g.unit}",
            "value": result[g.key],
            "met": bool(COMPARE[g.compare](result[g.key], g.target)),
        }
        for g in GOALS
    ]
    verdicts.append(
        {
            "key": "history_same_1h_23h",
            "goal": "the same history length for a 1-hour and a 23-hour audit (workflow-task events aside)",
            "value": result["history_same_1h_23h"],
            "met": result["history_same_1h_23h"],
        }
    )
    return verdicts


def write_json(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(result), indent=2) + "\n")


def format_table(result: dict[str, Any]) -> str:
    width = max(map(len, KEYS)) + 2
    rows = [f"{key:<{width}}{_show(result[key]):>12}" for key in KEYS]
    if result["worker_rss_10k_extrapolated"]:
        rows[-1] += f"  ({result['worker_rss_10k_basis']})"
    verdicts = [
        f"  [{'met' if v['met'] else 'MISSED'}] {v['goal']}: {_show(v['value'])}" for v in result["goals"]
    ]
    machine = result["machine"]
    header = (
        f"{machine['cpu_count']} x {machine['cpu_model']}, {machine['memory_gb']} GB, "
        f"Python {machine['python']}, "
        f"load {machine['load_average_at_start']} -> {machine.get('load_average_at_end')}, "
        f"events by {result.get('events_channel', 'webhook')}"
    )
    naive = result["naive_design"]
    day = naive.get("24h_audit", {})
    comparison = (
        f"naive design (poll once a minute): {naive['calls_per_day']} calls a day per waiting attempt; "
        f"a 24-hour audit: {day.get('polls')} polls, ~{day.get('history_events_estimate')} history events "
        f"(model) vs {result['polls_24h_audit']} polls and {result['history_events_23h']} events here"
    )
    cpu = result["details"]["cpu"]
    costs = [
        f"CPU ms per {unit.removeprefix('ms_per_').replace('_', ' ')}: {spent}" for unit, spent in cpu.items()
    ]
    told = result["details"]["events"]
    events = (
        f"events to the LMS in the lifecycle ({told['channel']}): {told['received']} received, "
        f"{told['received_per_attempt']:.1f} per attempt, {told['duplicates']} again, "
        f"{told['rejected_signatures']} refused; timestamp to arrival p50 {_show(told['lag_p50_ms'])} ms, "
        f"p95 {_show(told['lag_p95_ms'])} ms"
    )
    return "\n".join(
        [header, *rows, "goals:", *verdicts, comparison, *costs, events, *_hot_spots(result["profiles"])]
    )


def _hot_spots(profiles: list[dict[str, Any]], top: int = 6) -> list[str]:
    lines = []
    for profile in profiles:
        lines.append(f"hot spots, {profile['process']} ({profile['samples']} busy samples):")
        lines += [f"  {share:5.1%} on stack  {name}" for name, share in profile["project_inclusive"][:top]]
        lines += [f"  {share:5.1%} self      {name}" for name, share in profile["self_time"][:3]]
    return lines


def _load(load: LoadResult) -> dict[str, Any]:
    return {
        "done": load.done,
        "failed": load.failed,
        "seconds": load.elapsed,
        "errors": load.errors,
    } | load.extra


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def _closest(audits: dict[int, AuditFigures], hours: int) -> int:
    return min(audits, key=lambda h: abs(h - hours))


def _rounded(values: list[float]) -> list[float]:
    return [round(v, 2) for v in values]


def _show(value: Any) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def _finite(value: Any) -> Any:
    """NaN and infinities are not JSON: a figure without samples becomes -1, plainly impossible."""
    if isinstance(value, float) and not math.isfinite(value):
        return -1.0
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
