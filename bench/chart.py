"""One PNG of a run (bench/results/latest.png): the two latency distributions against their
goals (with, beside the decision's reply, when `lesson.completed` reached the LMS), throughput
against Temporal's ceiling, and worker memory against waiting attempts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)

GOAL_STYLE = dict(color="tab:red", linestyle="--", linewidth=1)


def draw(result: dict[str, Any], path: Path) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    samples = result["samples_ms"]
    _cdf(axes[0][0], samples["open"], "POST /attempts/open latency", 100, result, "open")
    decision_title = (
        "reviewer decision → lesson completed\n"
        "blue: in the decision's reply; orange: lesson.completed at the LMS"
    )
    _cdf(
        axes[0][1],
        samples["decision_to_complete"],
        decision_title,
        1000,
        result,
        "decision_to_complete",
    )
    _also(axes[0][1], samples.get("decision_to_event_received", []), "lesson.completed received by the LMS")
    _throughput(axes[1][0], result)
    _memory(axes[1][1], result)
    machine = result["machine"]
    fig.suptitle(
        f"ProctorFlow benchmark — {machine['cpu_count']} × {machine['cpu_model']}, "
        f"load avg at start {machine['load_average_at_start'][0]}",
        fontsize=11,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _cdf(ax, samples: list[float], title: str, goal_ms: float, result: dict, prefix: str) -> None:  # noqa: ANN001
    ordered = sorted(samples)
    if ordered:
        ax.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], color="tab:blue")
    ax.axvline(goal_ms, **GOAL_STYLE, label=f"goal: p95 ≤ {goal_ms:g} ms")
    for p, marker in ((50, "o"), (95, "s"), (99, "^")):
        value = result.get(f"{prefix}_p{p}_ms")
        if value is not None and value >= 0:
            ax.plot(
                [value],
                [p / 100],
                marker=marker,
                color="black",
                linestyle="none",
                label=f"p{p} {value:.0f} ms",
            )
    ax.set_title(f"{title} (n={len(ordered)})", fontsize=10)
    ax.set_xlabel("ms")
    ax.set_ylabel("fraction of requests")
    ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")


def _also(ax, samples: list[float], label: str) -> None:  # noqa: ANN001
    """A second distribution on a latency chart, without percentile markers."""
    ordered = sorted(samples)
    if ordered:
        fractions = [(i + 1) / len(ordered) for i in range(len(ordered))]
        ax.plot(ordered, fractions, color="tab:orange", label=f"{label} (n={len(ordered)})")
        ax.legend(fontsize=8, loc="lower right")


def _throughput(ax, result: dict) -> None:  # noqa: ANN001
    ceiling, attempts = result["ceiling_wf_per_s"], result["attempts_per_s"]
    bars = ax.bar(
        ["empty workflows\n(Temporal ceiling)", "full-lifecycle\nattempts"],
        [ceiling, attempts],
        color=["tab:gray", "tab:blue"],
    )
    ax.bar_label(bars, fmt="%.1f/s", fontsize=9)
    ax.axhline(0.30 * ceiling, **GOAL_STYLE, label="goal: 0.30 × ceiling")
    ax.set_title(
        f"throughput at concurrency {result['scale']['concurrency']} (ratio {result['ratio']:.3f})",
        fontsize=10,
    )
    ax.set_ylabel("per second")
    ax.legend(fontsize=8)


def _memory(ax, result: dict) -> None:  # noqa: ANN001
    memory = result["details"]["memory"]
    points = [(0, memory["baseline_worker_rss_mb"])] + [
        (c["waiting"], c["worker_rss_mb"]) for c in memory["checkpoints"]
    ]
    ax.plot(
        [x for x, _ in points],
        [y for _, y in points],
        marker="o",
        color="tab:blue",
        label="worker RSS, measured",
    )
    target = result["worker_rss_mb_10k_waiting"]
    if result["worker_rss_10k_extrapolated"]:
        last = points[-1]
        ax.plot(
            [last[0], memory["target"]],
            [last[1], target],
            linestyle=":",
            color="tab:blue",
            label="extrapolated",
        )
    ax.axhline(300, **GOAL_STYLE, label="goal: ≤ 300 MB at 10,000")
    ax.set_title("worker memory vs attempts waiting for review", fontsize=10)
    ax.set_xlabel("attempts waiting for review")
    ax.set_ylabel("MB")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
