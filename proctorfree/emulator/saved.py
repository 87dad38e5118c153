"""The emulator's sessions in a JSON file, for dev mode: written whole (to a temporary file, then
renamed over the old one) on each change, read at start, so a restarted emulator still knows
every session it opened. Knobs and statistics are not kept: they start afresh."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from proctorfree.emulator.state import EmulatedSession

VERSION = 1
_MOMENTS = ("started_at", "finished_at")


class SavedSessionsError(Exception):
    """The file is there but is not the emulator's sessions."""


def load_sessions(path: Path) -> list[EmulatedSession]:
    """The sessions saved in `path`; none when it does not exist yet."""
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except ValueError as error:
        raise SavedSessionsError(f"{path} is not JSON ({error}): move it away to start afresh") from None
    if not isinstance(saved, dict) or saved.get("version") != VERSION:
        raise SavedSessionsError(
            f"{path} is not a version {VERSION} sessions file: move it away to start afresh"
        )
    try:
        return [_session(item) for item in saved.get("sessions", [])]
    except (TypeError, ValueError) as error:
        raise SavedSessionsError(f"{path} holds a session that cannot be read ({error})") from None


def save_sessions(path: Path, sessions: list[EmulatedSession]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"version": VERSION, "sessions": [_json(session) for session in sessions]}
    temporary = path.with_name(f"{path.name}.tmp")
    temporary.write_text(json.dumps(body, indent=1))
    os.replace(temporary, path)  # a reader (or a crash) sees the old file or the new, never half


def _json(session: EmulatedSession) -> dict[str, Any]:
    item = asdict(session)
    for name in _MOMENTS:
        item[name] = item[name].isoformat() if item[name] is not None else None
    return item


def _session(item: dict[str, Any]) -> EmulatedSession:
    known = {field.name for field in fields(EmulatedSession)}
    values = {name: value for name, value in item.items() if name in known}
    for name in _MOMENTS:
        if values.get(name) is not None:
            values[name] = datetime.fromisoformat(values[name])
    return EmulatedSession(**values)
