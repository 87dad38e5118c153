"""Run the emulator: `python -m proctorfree.emulator --port 8100 [--webhook-url URL] ...`."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from proctorfree.emulator.app import create_app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m proctorfree.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--webhook-url", default=None, help="where to POST signed webhooks")
    parser.add_argument("--webhook-secret", default="dev-webhook-secret")
    parser.add_argument("--audit-delay", type=float, default=5.0, help="seconds from finish to audit (full)")
    parser.add_argument(
        "--minute-seconds",
        type=float,
        default=60.0,
        help="real seconds in an emulated minute of a time limit",
    )
    parser.add_argument("--sessions-file", type=Path, default=None, help="keep sessions in this JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    app = create_app(
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        audit_delay_seconds=args.audit_delay,
        sessions_file=args.sessions_file,
        minute_seconds=args.minute_seconds,
    )
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
