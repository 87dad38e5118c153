"""The reason a reviewer gives for a change (an accommodation, a staff action): required, of a
bounded length, one paragraph or a few without control characters. Each form says where it is
kept, so the refusal tells the reviewer why it is asked for."""

from __future__ import annotations

from models.text import control_character_problem


def reason_problem(reason: str, longest: int, kept: str) -> str | None:
    """Why the reason cannot be taken, in the reviewer's words, or None."""
    text = reason.strip()
    if not text:
        return f"Give a reason: it is kept {kept}."
    if len(text) > longest:
        return f"Keep the reason under {longest:,} characters (it has {len(text):,})."
    control = control_character_problem(text, multiline=True)
    if control:
        return f"The reason {control}."
    return None
