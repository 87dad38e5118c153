"""Reading accommodations as reviewers write them (`web.review.accommodation_rows`): every kind
of bad row is reported by its line in the file, in words that say what to fix, and the good rows
around it are read; a file that cannot be read as such is refused whole. Pure functions: no
database, no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from web.review.accommodation_rows import (
    MAX_ROWS,
    FileRefused,
    RowProblem,
    expiry_text,
    parse_csv,
    parse_expiry,
    read_terms,
)

NOW = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
PROCTORED = {"final-exam": "Final exam", "safety-quiz": "Safety quiz"}
HEADER = "learner_id,extra_minutes,time_multiplier,lesson_ids,expires_at,note"


def parse(text: str | bytes):
    return parse_csv(text.encode() if isinstance(text, str) else text, PROCTORED, NOW)


def refusal_of(text: str | bytes) -> str:
    with pytest.raises(FileRefused) as refused:
        parse(text)
    return str(refused.value)


# --- Good files -----------------------------------------------------------------------------------


def test_every_column_is_read_and_empty_cells_are_not_given():
    upload = parse(
        f"{HEADER}\n"
        "ada,30,,final-exam,2027-06-30,Reader allowed\n"
        "grace,,1.5,,,\n"
        'alan,,2, final-exam ; safety-quiz ;final-exam,2027-01-31T17:30+01:00,"Breaks: 5 minutes, hourly"\n'
    )

    assert upload.bad == []
    ada, grace, alan = (row.terms for row in upload.rows)
    assert [row.line for row in upload.rows] == [2, 3, 4]
    assert (ada.learner_id, ada.extra_minutes, ada.time_multiplier) == ("ada", 30, None)
    assert ada.lesson_ids == ["final-exam"]
    assert ada.expires_at == datetime(2027, 7, 1, tzinfo=UTC)  # through the end of 30 June, UTC
    assert ada.note == "Reader allowed"
    assert (grace.extra_minutes, grace.time_multiplier, grace.lesson_ids) == (None, 1.5, None)
    assert (grace.expires_at, grace.note) == (None, "")
    assert alan.lesson_ids == ["final-exam", "safety-quiz"]  # trimmed, once each
    assert alan.expires_at == datetime(2027, 1, 31, 16, 30, tzinfo=UTC)
    assert alan.note == "Breaks: 5 minutes, hourly"


def test_a_spreadsheets_export_is_read_bom_crlf_columns_in_any_order_and_named_loosely():
    content = "\ufeffNote,Learner ID,Time-Multiplier\r\nlarge print,ada,1.25\r\n,,\r\n".encode()
    upload = parse(content)

    assert upload.bad == []
    (row,) = upload.rows
    assert (row.line, row.terms.learner_id, row.terms.time_multiplier, row.terms.note) == (
        2,
        "ada",
        1.25,
        "large print",
    )


def test_line_numbers_count_blank_lines_and_cells_over_several_lines():
    upload = parse(f'{HEADER}\n\nada,30,,,,"first line\nsecond line"\n\ngrace,45,,,,\nalan,,9,,,\n')

    assert [(row.line, row.terms.learner_id) for row in upload.rows] == [(3, "ada"), (6, "grace")]
    assert upload.rows[0].terms.note == "first line\nsecond line"
    assert [(bad.line, bad.learner_id) for bad in upload.bad] == [(7, "alan")]


def test_a_row_with_fewer_cells_than_the_header_leaves_the_rest_empty():
    (row,) = parse(f"{HEADER}\nada,30\n").rows
    assert (row.terms.extra_minutes, row.terms.lesson_ids, row.terms.note) == (30, None, "")


def test_numbers_are_read_as_people_write_them():
    upload = parse(f'{HEADER}\na,30.0,,,,\nb,,"1,5",,,\nc,,.5e0,,,\nd,,4,,,\n')
    assert [(row.terms.extra_minutes, row.terms.time_multiplier) for row in upload.rows] == [
        (30, None),
        (None, 1.5),
        (None, 4.0),
    ]
    assert [bad.line for bad in upload.bad] == [4]


def test_exactly_the_most_rows_are_accepted():
    rows = "".join(f"learner-{n},30,,,,\n" for n in range(MAX_ROWS))
    assert len(parse(f"{HEADER}\n{rows}").rows) == MAX_ROWS


# --- Every kind of bad row ----------------------------------------------------------------------

BAD_ROWS = {
    "a multiplier of 9": ("ada,,9,,,", "the time multiplier must be more than 1 and at most 4, not 9"),
    "a multiplier of 1": ("ada,,1,,,", "the time multiplier must be more than 1 and at most 4, not 1"),
    "a multiplier in words": (
        "ada,,double,,,",
        "the time multiplier must be a number such as 1.5, not “double”",
    ),
    "a negative multiplier": ("ada,,-2,,,", "the time multiplier must be a number such as 1.5, not “-2”"),
    "both kinds given": ("ada,30,1.5,,,", "give extra minutes or a time multiplier, not both"),
    "neither kind given": ("ada,,,,,note only", "give extra minutes or a time multiplier: both are empty"),
    "no extra minutes": ("ada,0,,,,", "extra minutes must be from 1 to 600, not 0"),
    "too many extra minutes": ("ada,601,,,,", "extra minutes must be from 1 to 600, not 601"),
    "extra minutes in words": ("ada,ten,,,,", "extra minutes must be a whole number, such as 30, not “ten”"),
    "a fraction of a minute": ("ada,7.5,,,,", "extra minutes must be a whole number, such as 30, not “7.5”"),
    "extra minutes with a unit": (
        "ada,30 min,,,,",
        "extra minutes must be a whole number, such as 30, not “30 min”",
    ),
    "an unknown lesson": (
        "ada,30,,final-exam;lab,,",
        "lesson “lab” is not a proctored lesson of this course "
        "(its proctored lessons: final-exam, safety-quiz)",
    ),
    "unknown lessons": (
        "ada,30,,lab;essay,,",
        "lessons “lab”, “essay” are not proctored lessons of this course "
        "(its proctored lessons: final-exam, safety-quiz)",
    ),
    "a missing learner id": (",30,,,,", "the learner id is missing"),
    "a blank learner id": ("   ,30,,,,", "the learner id is missing"),
    "a learner id too long": ("x" * 201 + ",30,,,,", "the learner id is longer than 200 characters"),
    "a learner id with a control character": (
        "ad\x07a,30,,,,",
        "the learner id contains a control character, U+0007, at position 2: remove it",
    ),
    "a malformed date": (
        "ada,30,,,31/06/2027,",
        "the expiry “31/06/2027” is not a date: "
        "write it as YYYY-MM-DD, or YYYY-MM-DDTHH:MMZ for a time (UTC)",
    ),
    "a date that does not exist": ("ada,30,,,2027-02-30,", "the expiry “2027-02-30” is not a date"),
    "a date in words": ("ada,30,,,next week,", "the expiry “next week” is not a date"),
    "a date without dashes": ("ada,30,,,20270630,", "the expiry “20270630” is not a date"),
    "a date that has passed": (
        "ada,30,,,2026-12-06,",
        "the expiry 2026-12-06 has passed already: the accommodation would never apply",
    ),
    "a note too long": ("ada,30,,,," + "n" * 2001, "the note is longer than 2,000 characters (it has 2,001)"),
    "a note with a control character": (
        "ada,30,,,,bad\x1bnote",
        "the note contains a control character, U+001B, at position 3: remove it (only tab and line breaks",
    ),
    "more cells than columns": (
        "ada,30,,,,a note, with a comma",
        "the row has 7 cells but the header names 6 columns: a cell holding a comma needs quotes around it",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_each_bad_row_is_reported_by_its_line_and_the_rows_around_it_are_read(case):
    row, words = BAD_ROWS[case]
    upload = parse(f"{HEADER}\ngrace,45,,,,\n{row}\nalan,,2,,,\n")

    assert [(r.line, r.terms.learner_id) for r in upload.rows] == [(2, "grace"), (4, "alan")]
    (bad,) = upload.bad
    assert bad.line == 3
    assert words in bad.problem, bad.problem


def test_a_bad_row_names_its_learner_when_it_has_one():
    upload = parse(f"{HEADER}\nada,,9,,,\n,30,,,,\n")
    assert [(bad.line, bad.learner_id) for bad in upload.bad] == [(2, "ada"), (3, None)]


def test_a_learner_on_two_rows_is_refused_on_the_second():
    upload = parse(f"{HEADER}\nada,30,,,,\ngrace,45,,,,\n ada ,,2,,,\n")

    assert [row.terms.learner_id for row in upload.rows] == ["ada", "grace"]
    (bad,) = upload.bad
    assert (bad.line, bad.problem) == (4, "learner ada is on line 2 already: one row per learner")


# --- Files that are refused whole -------------------------------------------------------------

BAD_FILES = {
    "empty": (b"", "the file is empty"),
    "blank lines only": ("\n\n  \n", "the file is empty"),
    "a header and no rows": (f"{HEADER}\n\n", "the file has a header but no rows"),
    "not UTF-8": (f"{HEADER}\nzoë,30,,,,\n".encode("latin-1"), "the file is not UTF-8 text"),
    "UTF-16": (f"{HEADER}\nada,30,,,,\n".encode("utf-16"), "not UTF-8 text"),
    "binary data": (b"learner_id,extra_minutes\nada\x00,30\n", "it holds binary data"),
    "a workbook": (b"PK\x03\x04\x14\x00\x06\x00", "a workbook or a document, not a CSV file"),
    "a PDF": (b"%PDF-1.7\n", "a workbook or a document, not a CSV file"),
    "no header": ("ada,30,,,,\ngrace,45,,,,\n", "line 1 is not the header"),
    "a header on a later line": ("\nada,30\n", "line 2 is not the header"),
    "separated by semicolons": (
        "learner_id;extra_minutes\nada;30\n",
        "line 1 is separated by semicolons: separate the columns by commas",
    ),
    "an unknown column": (
        "learner_id,extra_minute\nada,30\n",
        "the header names unknown columns: extra_minute; the columns are learner_id, extra_minutes",
    ),
    "a column twice": (
        "learner_id,extra_minutes,extra_minutes\nada,30,40\n",
        "names extra_minutes more than once",
    ),
    "no time column": ("learner_id,note\nada,hello\n", "needs an extra_minutes or a time_multiplier column"),
    "a quote left open": (f'{HEADER}\nada,30,,,,"never closed\n', "line 2 is not valid CSV"),
    "text after a closing quote": (f'{HEADER}\nada,30,,,,"quoted"tail\n', "is not valid CSV"),
    "too many rows": (
        HEADER + "\n" + "".join(f"l{n},30,,,,\n" for n in range(MAX_ROWS + 1)),
        "the file has more than 1,000 rows: split it",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_file_that_cannot_be_read_is_refused_whole_saying_why(case):
    content, words = BAD_FILES[case]
    assert words in refusal_of(content)


# --- One learner's form, and expiries ---------------------------------------------------------


def test_the_form_reads_the_same_terms_with_its_lessons_ticked():
    lessons = ["safety-quiz", ""]
    terms = read_terms(" ada ", "", "1.5", lessons, "2027-03-01T09:00Z", " Reader ", PROCTORED, NOW)
    assert (terms.learner_id, terms.time_multiplier, terms.lesson_ids) == ("ada", 1.5, ["safety-quiz"])
    assert (terms.expires_at, terms.note) == (datetime(2027, 3, 1, 9, tzinfo=UTC), "Reader")
    body = terms.body("letter from the disability office", "rita")
    assert (body.changed_by, body.extra_minutes) == ("rita", None)
    assert body.reason == "letter from the disability office"

    with pytest.raises(RowProblem, match="not both"):
        read_terms("ada", "30", "2", [], "", "", PROCTORED, NOW)


@pytest.mark.parametrize(
    ("written", "moment"),
    [
        ("2027-06-30", datetime(2027, 7, 1, tzinfo=UTC)),
        ("2027-06-30T17:00Z", datetime(2027, 6, 30, 17, tzinfo=UTC)),
        ("2027-06-30 17:00", datetime(2027, 6, 30, 17, tzinfo=UTC)),
        ("2027-06-30T17:00:30+02:00", datetime(2027, 6, 30, 15, 0, 30, tzinfo=UTC)),
        ("30.06.2027", None),
        ("2027-6-30", None),
        ("", None),
    ],
)
def test_expiries_are_dates_through_their_end_or_moments_in_utc(written, moment):
    assert parse_expiry(written) == moment


@pytest.mark.parametrize(
    "moment",
    [datetime(2027, 7, 1, tzinfo=UTC), datetime(2027, 6, 30, 17, 5, tzinfo=UTC), NOW + timedelta(seconds=7)],
)
def test_an_expiry_written_back_reads_as_the_same_moment(moment):
    assert parse_expiry(expiry_text(moment)) == moment
    assert expiry_text(datetime(2027, 7, 1, tzinfo=UTC)) == "2027-06-30"
