"""The organisation's own settings the LMS keeps through the API: where ProctorFree returns its
learners after "confirm and start" (the LMS's exam page for the attempt).

The return URL is a template: `{attempt_id}` is required (the LMS must know which attempt came
back), `{course_id}` and `{lesson_id}` may be used too; each is filled in URL-quoted. It is
read by the vendor activity from the database, so it never enters a workflow's history.
"""

from __future__ import annotations

import string
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

PLACEHOLDERS = ("attempt_id", "course_id", "lesson_id")
REQUIRED_PLACEHOLDER = "attempt_id"
EXAMPLE = "https://lms.example.org/proctored/{attempt_id}/exam"


def template_problem(template: str) -> str | None:
    """What is wrong with a return-URL template, in words that say what to fix; None if fine."""
    try:
        pieces = list(string.Formatter().parse(template))  # (text, name, format, conversion)
        parsed = [(name, spec or conversion) for _, name, spec, conversion in pieces]
    except ValueError as error:
        return f"it is not a valid template ({error}); write placeholders as {{attempt_id}}, e.g. {EXAMPLE}"
    fields = [name for name, _ in parsed if name is not None]
    if any(formatted for name, formatted in parsed if name is not None):
        return "write placeholders plainly, as {attempt_id}, without a format or conversion"
    unknown = sorted({name for name in fields if name not in PLACEHOLDERS})
    if unknown:
        allowed = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        return f"unknown placeholder {', '.join(f'{{{n}}}' for n in unknown)}: use only {allowed}"
    if REQUIRED_PLACEHOLDER not in fields:
        return f"it must contain {{{REQUIRED_PLACEHOLDER}}}, e.g. {EXAMPLE}"
    parts = urlsplit(fill(template, attempt_id="a", course_id="c", lesson_id="l"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"it must be an absolute http(s) URL, e.g. {EXAMPLE}"
    return None


def fill(template: str, attempt_id: str, course_id: str, lesson_id: str) -> str:
    """The URL for one attempt; ids are quoted, so one cannot change the URL's path or host."""
    values = {"attempt_id": attempt_id, "course_id": course_id, "lesson_id": lesson_id}
    return template.format(**{name: quote(value, safe="") for name, value in values.items()})


# --- The API's shapes ----------------------------------------------------------------------


class OrganisationOut(BaseModel):
    id: str
    name: str
    lms_return_url: str | None = Field(
        description="where ProctorFree sends the learner after starting the proctored session, "
        "with {attempt_id} (and optionally {course_id}, {lesson_id}) filled in; null: ProctorFree "
        "shows its own page saying the learner may close the window"
    )


class OrganisationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lms_return_url: str | None = Field(
        max_length=2000,
        description=f"an http(s) URL template with {{attempt_id}}, e.g. {EXAMPLE}; null to unset. "
        "Applies to proctored sessions created from now on.",
    )

    @field_validator("lms_return_url")
    @classmethod
    def _a_usable_template(cls, template: str | None) -> str | None:
        if template is None:
            return None
        problem = template_problem(template)
        if problem:
            raise ValueError(problem)
        return template
