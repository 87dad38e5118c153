"""Accommodations as reviewers write them: one learner's terms from the page's form, or many from
a CSV file, read into plain values, each problem said in words that tell what to fix.

The file has a header (on its first line) naming its columns, in any order:
`learner_id, extra_minutes, time_multiplier, lesson_ids, expires_at, note`. `learner_id` and one
of `extra_minutes` / `time_multiplier` are needed, the others may be left out. An empty cell is
"not given": no lessons means all the course's proctored lessons, no expiry means it never
expires. `lesson_ids` are separated by `;`. An expiry is a date (the accommodation lasts through
that day, UTC) or a date and time (UTC unless it says otherwise). UTF-8, with or without a byte
order mark; at most 1,000 rows.

A bad row is reported by its line in the file (the header is line 1; a quoted cell over several
lines counts them all) and does not stop the others. A file that cannot be read as such is
refused whole. Pure functions: the course's proctored lessons and the time come in as arguments.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from models.accommodations import AccommodationIn
from models.text import control_character_problem
from models.time_limits import MAX_EXTRA_MINUTES, MAX_MULTIPLIER

COLUMNS = ("learner_id", "extra_minutes", "time_multiplier", "lesson_ids", "expires_at", "note")
MAX_ROWS = 1000
MAX_ID = 200
MAX_NOTE = 2000
LESSON_SEPARATOR = ";"
DATE_EXAMPLE = "YYYY-MM-DD, or YYYY-MM-DDTHH:MMZ for a time (UTC)"

WHOLE = re.compile(r"\d+(\.0*)?")
DECIMAL = re.compile(r"\d+([.,]\d+)?|[.,]\d+")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class RowProblem(ValueError):
    """What is wrong with one row (or the form), in words."""


class FileRefused(ValueError):
    """The file cannot be read as accommodations: nothing in it is applied."""


@dataclass(frozen=True)
class Terms:
    """One learner's accommodation as read: plain values, checked."""

    learner_id: str
    extra_minutes: int | None
    time_multiplier: float | None
    lesson_ids: list[str] | None  # None: every proctored lesson of the course
    expires_at: datetime | None
    note: str

    def body(self, reason: str, changed_by: str) -> AccommodationIn:
        return AccommodationIn(
            extra_minutes=self.extra_minutes,
            time_multiplier=self.time_multiplier,
            lesson_ids=self.lesson_ids,
            note=self.note,
            expires_at=self.expires_at,
            reason=reason,
            changed_by=changed_by,
        )


@dataclass(frozen=True)
class Row:
    line: int
    terms: Terms


@dataclass(frozen=True)
class BadRow:
    line: int
    learner_id: str | None
    problem: str


@dataclass
class Upload:
    rows: list[Row] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)


# --- One learner's terms ------------------------------------------------------------------------


def read_terms(
    learner_id: str,
    extra_minutes: str,
    time_multiplier: str,
    lesson_ids: list[str],
    expires_at: str,
    note: str,
    proctored: Mapping[str, str],
    now: datetime,
) -> Terms:
    """The terms these values give, or RowProblem saying the first thing to fix. `proctored`:
    the course's proctored lessons (id: title)."""
    learner = _learner(learner_id)
    minutes = _extra_minutes(extra_minutes.strip())
    multiplier = _multiplier(time_multiplier.strip())
    if minutes is not None and multiplier is not None:
        raise RowProblem("give extra minutes or a time multiplier, not both")
    if minutes is None and multiplier is None:
        raise RowProblem("give extra minutes or a time multiplier: both are empty")
    return Terms(
        learner_id=learner,
        extra_minutes=minutes,
        time_multiplier=multiplier,
        lesson_ids=_lessons(lesson_ids, proctored),
        expires_at=_expiry(expires_at.strip(), now),
        note=_note(note),
    )


def _learner(value: str) -> str:
    learner = value.strip()
    if not learner:
        raise RowProblem("the learner id is missing")
    if len(learner) > MAX_ID:
        raise RowProblem(f"the learner id is longer than {MAX_ID} characters")
    control = control_character_problem(learner)
    if control:
        raise RowProblem(f"the learner id {control}")
    return learner


def _extra_minutes(value: str) -> int | None:
    if not value:
        return None
    if not WHOLE.fullmatch(value):
        raise RowProblem(f"extra minutes must be a whole number, such as 30, not “{_shown(value)}”")
    minutes = int(value.split(".")[0])
    if not 1 <= minutes <= MAX_EXTRA_MINUTES:
        raise RowProblem(f"extra minutes must be from 1 to {MAX_EXTRA_MINUTES}, not {minutes}")
    return minutes


def _multiplier(value: str) -> float | None:
    if not value:
        return None
    if not DECIMAL.fullmatch(value):
        raise RowProblem(f"the time multiplier must be a number such as 1.5, not “{_shown(value)}”")
    multiplier = float(value.replace(",", "."))
    if not 1.0 < multiplier <= MAX_MULTIPLIER:
        raise RowProblem(
            f"the time multiplier must be more than 1 and at most {MAX_MULTIPLIER:g}, not {_shown(value)}"
        )
    return multiplier


def _lessons(values: list[str], proctored: Mapping[str, str]) -> list[str] | None:
    lessons = list(dict.fromkeys(value.strip() for value in values if value.strip()))
    if not lessons:
        return None
    unknown = [lesson for lesson in lessons if lesson not in proctored]
    if unknown:
        names = ", ".join(f"“{_shown(lesson)}”" for lesson in unknown)
        which = (
            f"lesson {names} is not a proctored lesson"
            if len(unknown) == 1
            else (f"lessons {names} are not proctored lessons")
        )
        known = ", ".join(proctored) if proctored else "none"
        raise RowProblem(f"{which} of this course (its proctored lessons: {known})")
    return lessons


def _expiry(value: str, now: datetime) -> datetime | None:
    if not value:
        return None
    moment = parse_expiry(value)
    if moment is None:
        raise RowProblem(f"the expiry “{_shown(value)}” is not a date: write it as {DATE_EXAMPLE}")
    if moment <= now:
        raise RowProblem(
            f"the expiry {expiry_text(moment)} has passed already: the accommodation would never apply"
        )
    return moment


def parse_expiry(value: str) -> datetime | None:
    """A date (through the end of that day, UTC) or a date and time (UTC unless it says)."""
    if DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return None
        return datetime.combine(day, time(), UTC) + timedelta(days=1)
    if not DATE.match(value):
        return None  # fromisoformat takes forms no person writes for a date ("20260630")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def expiry_text(moment: datetime) -> str:
    """An expiry written back as `parse_expiry` reads it: midnight UTC as the day it ends."""
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    if moment.time() == time():
        return (moment - timedelta(days=1)).date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%MZ" if moment.second == 0 else "%Y-%m-%dT%H:%M:%SZ")


def _note(value: str) -> str:
    note = value.strip()
    if len(note) > MAX_NOTE:
        raise RowProblem(f"the note is longer than {MAX_NOTE:,} characters (it has {len(note):,})")
    control = control_character_problem(note, multiline=True)
    if control:
        raise RowProblem(f"the note {control}")
    return note


def _shown(value: str, most: int = 40) -> str:
    """A value quoted in a message: short, and without characters that would garble it."""
    printable = "".join(c if c.isprintable() else "?" for c in value)
    return printable if len(printable) <= most else printable[: most - 1] + "…"


# --- A file of them -----------------------------------------------------------------------------


def parse_csv(content: bytes, proctored: Mapping[str, str], now: datetime) -> Upload:
    """Every row of the file, read or refused with its line; FileRefused when the file itself
    cannot be read (not UTF-8 text, not CSV, no header, too many rows)."""
    text = _text(content)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    upload = Upload()
    columns: list[str] | None = None
    first_line: dict[str, int] = {}
    data_rows = 0
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, or a row of empty cells a spreadsheet left
            if columns is None:
                columns = _header(cells, start)
                continue
            data_rows += 1
            if data_rows > MAX_ROWS:
                raise FileRefused(
                    f"the file has more than {MAX_ROWS:,} rows: split it into files of at most "
                    f"{MAX_ROWS:,} rows and upload each"
                )
            _read_row(upload, columns, cells, start, proctored, now, first_line)
    except csv.Error as error:
        where = f"line {reader.line_num}"
        raise FileRefused(f"{where} is not valid CSV ({error}): is a quote left open?") from None
    if columns is None:
        raise FileRefused("the file is empty: it needs a header line and a row per learner")
    if not data_rows:
        raise FileRefused("the file has a header but no rows: add a row per learner")
    return upload


def _text(content: bytes) -> str:
    if not content:
        raise FileRefused("the file is empty: it needs a header line and a row per learner")
    if content.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF")):
        raise FileRefused(
            "the file is a workbook or a document, not a CSV file: "
            "export the sheet as “CSV UTF-8” and upload that"
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(
            "the file is not UTF-8 text: save it as “CSV UTF-8” (a spreadsheet's export) and upload it again"
        ) from None
    if "\x00" in text:
        raise FileRefused("the file is not a CSV file (it holds binary data): export the sheet as CSV")
    return text


def _header(cells: list[str], line: int) -> list[str]:
    names = [re.sub(r"[\s-]+", "_", cell.strip().lower()) for cell in cells]
    expected = ", ".join(COLUMNS)
    if len(names) == 1 and LESSON_SEPARATOR in names[0]:
        raise FileRefused(
            f"line {line} is separated by semicolons: separate the columns by commas ({expected}); "
            "semicolons separate lesson ids within their cell"
        )
    if "learner_id" not in names:
        shown = ", ".join(_shown(name, 30) for name in names[:8])
        raise FileRefused(
            f"line {line} is not the header: the first line must name the columns ({expected}), "
            f"and this one has: {shown}"
        )
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        shown = ", ".join(_shown(name, 30) for name in unknown)
        raise FileRefused(f"the header names unknown columns: {shown}; the columns are {expected}")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise FileRefused(f"the header names {', '.join(twice)} more than once")
    if "extra_minutes" not in names and "time_multiplier" not in names:
        raise FileRefused("the header needs an extra_minutes or a time_multiplier column (or both)")
    return names


def _read_row(
    upload: Upload,
    columns: list[str],
    cells: list[str],
    line: int,
    proctored: Mapping[str, str],
    now: datetime,
    first_line: dict[str, int],
) -> None:
    values = dict(zip(columns, cells, strict=False))
    learner_id = values.get("learner_id", "").strip() or None
    try:
        if len(cells) > len(columns):
            raise RowProblem(
                f"the row has {len(cells)} cells but the header names {len(columns)} columns: "
                "a cell holding a comma needs quotes around it"
            )
        terms = read_terms(
            values.get("learner_id", ""),
            values.get("extra_minutes", ""),
            values.get("time_multiplier", ""),
            values.get("lesson_ids", "").split(LESSON_SEPARATOR),
            values.get("expires_at", ""),
            values.get("note", ""),
            proctored,
            now,
        )
        earlier = first_line.get(terms.learner_id)
        if earlier is not None:
            learner = _shown(terms.learner_id)
            raise RowProblem(f"learner {learner} is on line {earlier} already: one row per learner")
    except RowProblem as problem:
        shown = _shown(learner_id) if learner_id else None
        upload.bad.append(BadRow(line, shown, str(problem)))
        return
    first_line[terms.learner_id] = line
    upload.rows.append(Row(line, terms))
