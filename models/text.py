"""Strings the API accepts to store: names on one line, texts over several, neither with
control characters.

PostgreSQL cannot store a NUL (U+0000) in a text column: a name holding one reached the
database and failed the request with a 500. Other control characters and lone UTF-16
surrogates are never meant in a name either (a surrogate cannot even be encoded to store).
Each is refused where the request is read, with a 422 saying which character and where.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# C0 controls, DEL, C1 controls, and lone surrogates (which JSON's \ud800 escapes can carry).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same but for tab, line feed and carriage return: the layout of a text over several lines.
CONTROL_BUT_LAYOUT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def control_character_problem(value: str, multiline: bool = False) -> str | None:
    """What is wrong with `value`, in words that say what to fix; None when it has no control
    character (tab, line feed and carriage return are allowed when `multiline`)."""
    found = (CONTROL_BUT_LAYOUT if multiline else CONTROL).search(value)
    if found is None:
        return None
    character = found.group()
    kind = "a lone UTF-16 surrogate" if "\ud800" <= character <= "\udfff" else "a control character"
    allowed = " (only tab and line breaks are allowed)" if multiline else ""
    return f"contains {kind}, U+{ord(character):04X}, at position {found.start()}: remove it{allowed}"


def _line(value: str) -> str:
    problem = control_character_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _text(value: str) -> str:
    problem = control_character_problem(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value


# A name, a title, a key: one line of printable text.
Line = Annotated[str, AfterValidator(_line)]
# Instructions, a reason: printable text over several lines.
Text = Annotated[str, AfterValidator(_text)]
