"""`python -m bench` (`make bench`): throughput, latency, vendor calls, history length and worker
memory, against Temporal's own ceiling on this machine. Writes bench/results/latest.json and
latest.png. `--quick` runs every piece at toy scale (the smoke test does)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from pathlib import Path

from bench.events import CHANNELS
from bench.report import format_table, write_json
from bench.run import run_bench
from bench.scale import FULL, QUICK

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="every phase at toy scale (about a minute)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply counts and time budgets")
    parser.add_argument("--concurrency", type=int, help="attempts (and empty workflows) in flight at once")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy round")
    parser.add_argument(
        "--events",
        choices=CHANNELS,
        default="webhook",
        help="how the LMS learns of its attempts: an endpoint of its own (webhook) or the long-polled feed",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.json and latest.png go")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scale = (QUICK if args.quick else FULL).times(args.scale)
    if args.concurrency:
        scale = dataclasses.replace(scale, concurrency=args.concurrency)
    if args.no_profile:
        scale = dataclasses.replace(scale, profile_seconds=0)
    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - started:5.0f}s] {line}", flush=True)

    result = asyncio.run(run_bench(scale, progress, args.events))
    write_json(result, args.out / "latest.json")
    from bench.chart import draw  # matplotlib is slow to import: only once there is something to draw

    draw(result, args.out / "latest.png")
    print(format_table(result))
    print(f"written: {args.out / 'latest.json'}, {args.out / 'latest.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
