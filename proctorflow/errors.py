"""Refusals that reach a caller: each says what to fix, and maps to one HTTP status."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(Refused):
    status = 404
    code = "not_found"


class Invalid(Refused):
    status = 422
    code = "invalid"


class Conflict(Refused):
    status = 409
    code = "conflict"
