"""The benchmark keeps working: `python -m bench --quick` runs every phase at toy scale and
writes every figure, the machine it ran on and the chart. Nothing here is timed (the machine
may be busy with other work); `make bench` measures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.report import KEYS

ROOT = Path(__file__).resolve().parents[2]
# Generous: the quick run takes under a minute on an idle 2-core machine, much longer on a busy one.
RUN_LIMIT_SECONDS = 600


def test_quick_benchmark_writes_every_figure_as_a_number_and_draws_the_chart(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT_SECONDS,
    )
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-4000:]

    result = json.loads((tmp_path / "latest.json").read_text())
    for key in KEYS:
        assert isinstance(result[key], int | float) and not isinstance(result[key], bool), (key, result[key])
    for key in ("cpu_count", "cpu_model", "memory_gb", "python", "temporal"):
        assert result["machine"][key], key
    assert {goal["key"] for goal in result["goals"]} >= {"ratio", "open_p95_ms", "worker_rss_mb_10k_waiting"}
    # The LMS learned of its attempts from signed webhooks, lesson.completed among them.
    events = result["details"]["events"]
    assert events["channel"] == "webhook" and events["rejected_signatures"] == 0, events
    assert events["by_type"].get("lesson.completed", 0) >= 1, events
    assert result["decision_to_event_received_p50_ms"] > 0
    assert (tmp_path / "latest.png").read_bytes().startswith(b"\x89PNG")
