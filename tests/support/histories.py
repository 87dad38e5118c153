"""Histories as anyone who reaches the Temporal server reads them: without ProctorFlow's codec."""

from __future__ import annotations

import base64
import json

# What a stack trace in clear would show.
STACK_TRACE_MARKS = ("Traceback", 'File "', "activities/vendor.py", "line ")


def readable(history_json: str) -> str:
    """The raw history as anyone with access to the server reads it: its JSON, and every payload
    that is not sealed decoded (search attributes are plain JSON in base64)."""
    readable = [history_json]

    def walk(node) -> None:
        if isinstance(node, dict):
            encoding = (
                base64.b64decode(node.get("metadata", {}).get("encoding", "")) if "data" in node else b""
            )
            if encoding and encoding != b"binary/encrypted":
                readable.append(base64.b64decode(node["data"]).decode(errors="replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(history_json))
    return "\n".join(readable)
