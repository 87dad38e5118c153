"""Accommodations in the reviewer UI over real HTTP, on the whole running system: the courses
page, a course's accommodations uploaded from a CSV file (good rows applied, each bad one
reported by its line, nothing applied from a file that cannot be read, a form sent twice applied
once), one learner's set, changed and removed with its history, and the task page of an
accommodated attempt showing its badge, its minutes and its note (escaped)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from html import unescape

import httpx
from sqlmodel import select

from models.accommodations import AccommodationIn
from models.tables import Accommodation, AccommodationChange, utcnow
from store import accommodations
from store.db import transaction
from tests.review.world import COURSE, COURSE_TITLE, EXAM, ReviewWorld, csrf_of, once_of, signed_in_client

PAGE = f"/review/courses/{COURSE}/accommodations"
HEADER = "learner_id,extra_minutes,time_multiplier,lesson_ids,expires_at,note"


def stored(world: ReviewWorld) -> dict[str, Accommodation]:
    with world.stack.sessions() as session:
        rows = session.exec(select(Accommodation).where(Accommodation.org_id == world.org)).all()
        return {row.learner_id: row for row in rows}


def changes(world: ReviewWorld, learner_id: str) -> list[AccommodationChange]:
    with world.stack.sessions() as session:
        return list(
            session.exec(
                select(AccommodationChange)
                .where(AccommodationChange.org_id == world.org, AccommodationChange.learner_id == learner_id)
                .order_by(AccommodationChange.id)  # type: ignore[arg-type]
            ).all()
        )


async def upload(
    reviewer: httpx.AsyncClient,
    content: bytes | str,
    reason: str = "Disability office letters, autumn term",
    once: str | None = None,
    filename: str = "accommodations.csv",
) -> httpx.Response:
    page = (await reviewer.get(PAGE)).text
    data = {"csrf_token": csrf_of(page), "reason": reason, "once": once or once_of(page, "upload-form")}
    body = content.encode() if isinstance(content, str) else content
    return await reviewer.post(f"{PAGE}/upload", data=data, files={"file": (filename, body, "text/csv")})


def refused_rows(html: str) -> list[tuple[int, str]]:
    rows = re.findall(
        r'<tr data-line="(\d+)">\s*<th scope="row">Line \d+</th>\s*<td>.*?</td>\s*<td class="why">(.*?)</td>',
        html,
        re.S,
    )
    return [(int(line), unescape(why)) for line, why in rows]


async def test_the_courses_page_lists_the_organisations_courses_with_their_accommodations(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    tasks = await reviewer.get("/review/tasks")
    assert '<a href="/review/courses">Courses</a>' in tasks.text  # in the header of every page

    page = await reviewer.get("/review/courses")
    assert page.status_code == 200
    row = re.search(rf'<tr data-course-id="{COURSE}">(.*?)</tr>', page.text, re.S)
    assert row and COURSE_TITLE in row[1]
    assert f'href="{PAGE}">0 accommodations' in row[1]
    assert "<td>1</td>" in row[1]  # one proctored lesson


async def test_an_upload_applies_the_good_rows_and_reports_each_bad_one_by_its_line(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    world.limit_time(60)
    content = (
        f"{HEADER}\n"
        "ada,30,,,,Reader allowed\n"  # line 2
        "alan,,9,,,\n"  # line 3: a multiplier of 9
        f"grace,,1.5,{EXAM},2030-06-30,\n"  # line 4
        "hedy,20,,no-such-lesson,,\n"  # line 5: an unknown lesson
        ",30,,,,\n"  # line 6: no learner id
        "katherine,15,2,,,\n"  # line 7: both kinds
        "margaret,10,,,30/06/2030,\n"  # line 8: a malformed date
    )
    reply = await upload(reviewer, content)

    assert reply.status_code == 200, reply.text
    assert "Upload: 2 accommodations applied, 5 refused" in reply.text
    assert refused_rows(reply.text) == [
        (3, "the time multiplier must be more than 1 and at most 4, not 9"),
        (
            5,
            "lesson “no-such-lesson” is not a proctored lesson of this course "
            "(its proctored lessons: final-exam)",
        ),
        (6, "the learner id is missing"),
        (7, "give extra minutes or a time multiplier, not both"),
        (
            8,
            "the expiry “30/06/2030” is not a date: "
            "write it as YYYY-MM-DD, or YYYY-MM-DDTHH:MMZ for a time (UTC)",
        ),
    ]
    applied = re.findall(
        r'<tr data-line="(\d+)">\s*<th scope="row">Line \d+</th>\s*<td><a[^>]*>([^<]+)</a>', reply.text
    )
    assert applied == [("2", "ada"), ("4", "grace")]
    assert reply.text.count("Final exam: 90 minutes") == 2  # 60 + 30, and 60 × 1.5

    kept = stored(world)
    assert set(kept) == {"ada", "grace"}  # nothing of the bad rows
    assert (kept["ada"].extra_minutes, kept["ada"].note, kept["ada"].updated_by) == (
        30,
        "Reader allowed",
        world.username,
    )
    assert (kept["grace"].time_multiplier, kept["grace"].lesson_ids) == (1.5, [EXAM])
    assert kept["grace"].expires_at.isoformat() == "2030-07-01T00:00:00+00:00"
    (change,) = changes(world, "ada")
    assert (change.action, change.reason, change.changed_by) == (
        "set",
        "Disability office letters, autumn term",
        world.username,
    )

    listing = await reviewer.get(PAGE)
    assert "2 learners." in listing.text
    ada = re.search(r'<tr data-learner-id="ada">(.*?)</tr>', listing.text, re.S)[1]
    assert "+30 minutes" in ada and "All proctored lessons" in ada and "Never" in ada
    assert "In force" in ada and "Reader allowed" in ada and world.username in ada
    grace = re.search(r'<tr data-learner-id="grace">(.*?)</tr>', listing.text, re.S)[1]
    assert "× 1.5" in grace and "Final exam" in grace and "2030-07-01 00:00 UTC" in grace


async def test_an_expired_accommodation_is_listed_as_expired(world: ReviewWorld, reviewer: httpx.AsyncClient):
    with transaction(world.stack.sessions) as session:  # as the LMS may set it, with a past expiry
        body = AccommodationIn(
            extra_minutes=20, expires_at=utcnow() - timedelta(days=1), changed_by="the LMS"
        )
        accommodations.put(session, world.org, COURSE, "ada", body)
    listing = await reviewer.get(PAGE)
    ada = re.search(r'<tr data-learner-id="ada">(.*?)</tr>', listing.text, re.S)[1]
    assert '<span class="badge no">Expired</span>' in ada and "+20 minutes" in ada
    learner = await reviewer.get(f"/review/courses/{COURSE}/learners/ada/accommodation")
    assert '<dd id="current-state"><span class="badge no">Expired</span></dd>' in learner.text


async def test_a_file_that_cannot_be_read_changes_nothing_and_says_why(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    cases = {
        "not UTF-8": (
            f"{HEADER}\nzoë,30,,,,\n".encode("latin-1"),
            "Nothing was applied: the file is not UTF-8 text",
        ),
        "no header": ("ada,30,,,,\n", "Nothing was applied: line 1 is not the header"),
        "a workbook": (
            b"PK\x03\x04rest of a zip",
            "Nothing was applied: the file is a workbook or a document",
        ),
        "empty": (b"", "Choose a CSV file"),  # a browser sends an empty file part as no file
    }
    for case, (content, words) in cases.items():
        reply = await upload(reviewer, content, filename="" if case == "empty" else "sheet.csv")
        assert reply.status_code == 422, case
        assert words in unescape(reply.text), (case, reply.text[-3000:])
        assert 'id="upload-error"' in reply.text, case

    no_reason = await upload(reviewer, f"{HEADER}\nada,30,,,,\n", reason="  ")
    assert no_reason.status_code == 422 and "Give a reason: it is kept with each change." in no_reason.text
    assert stored(world) == {}


async def test_an_upload_sent_twice_applies_once(world: ReviewWorld, reviewer: httpx.AsyncClient):
    page = (await reviewer.get(PAGE)).text
    once = once_of(page, "upload-form")
    content = f"{HEADER}\nada,30,,,,\ngrace,,2,,,\n"
    first, second = await asyncio.gather(
        upload(reviewer, content, once=once), upload(reviewer, content, once=once)
    )

    for reply in (first, second):  # the second waits for the first and tells the same outcome
        assert reply.status_code == 200 and "Upload: 2 accommodations applied, 0 refused" in reply.text
    assert [len(changes(world, learner)) for learner in ("ada", "grace")] == [1, 1]

    again = await upload(reviewer, content)  # a new page's form: a new submission
    assert again.status_code == 200
    assert [len(changes(world, learner)) for learner in ("ada", "grace")] == [2, 2]


async def test_one_learners_accommodation_is_set_changed_and_removed_with_its_history(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    world.limit_time(60)
    page = (await reviewer.get(PAGE)).text
    form = {"csrf_token": csrf_of(page), "once": once_of(page, "terms-form")}
    refused = await reviewer.post(
        PAGE,
        data=form | {"learner_id": "ada", "extra_minutes": "30", "time_multiplier": "1.5", "reason": "x"},
    )
    assert refused.status_code == 422
    assert "Give extra minutes or a time multiplier, not both." in refused.text
    assert 'value="ada"' in refused.text and 'value="1.5"' in refused.text  # what was typed, kept
    assert stored(world) == {}

    note = "Reader allowed\nSeparate room"
    reply = await reviewer.post(
        PAGE,
        data=form
        | {
            "learner_id": "ada",
            "extra_minutes": "30",
            "note": note,
            "reason": "Letter of 2 May",
            "lesson_ids": EXAM,
        },
    )
    assert reply.status_code == 303
    learner_page = f"/review/courses/{COURSE}/learners/ada/accommodation"
    assert reply.headers["location"] == learner_page
    shown = await reviewer.get(learner_page)
    assert "The accommodation of ada is saved." in shown.text
    assert '<dd id="current-extra-time">+30 minutes</dd>' in shown.text
    assert "Final exam: 90 minutes" in shown.text
    assert f'<dd class="note" id="current-note">{note}</dd>' in shown.text

    changed = await reviewer.post(
        learner_page,
        data={
            "csrf_token": csrf_of(shown.text),
            "once": once_of(shown.text, "terms-form"),
            "time_multiplier": "4",
            "reason": "Second letter",
        },
    )
    assert changed.status_code == 303
    shown = await reviewer.get(learner_page)
    assert "× 4" in shown.text and "Final exam: 210 minutes" in shown.text
    # ProctorFree's cap: 60 × 4 would be 240 minutes; the learner gets 210 and the reviewer is told.
    assert "ProctorFree caps full sessions at 210 minutes: the learner gets 210" in unescape(shown.text)

    no_reason = await reviewer.post(
        f"{learner_page}/remove",
        data={"csrf_token": csrf_of(shown.text), "once": once_of(shown.text, "remove-form"), "reason": ""},
    )
    assert no_reason.status_code == 422 and 'id="remove-error"' in no_reason.text
    assert "ada" in stored(world)
    removed = await reviewer.post(
        f"{learner_page}/remove",
        data={
            "csrf_token": csrf_of(shown.text),
            "once": once_of(shown.text, "remove-form"),
            "reason": "Term ended",
        },
    )
    assert removed.status_code == 303 and removed.headers["location"] == PAGE
    assert "The accommodation of ada is removed." in (await reviewer.get(PAGE)).text
    assert stored(world) == {}

    history = await reviewer.get(learner_page)
    assert "ada has no accommodation in this course." in history.text
    titles = re.findall(r"<strong>(Set|Changed|Removed) by ([^<]+)</strong>", history.text)
    assert titles == [("Removed", world.username), ("Changed", world.username), ("Set", world.username)]
    for reason in ("Term ended", "Second letter", "Letter of 2 May"):
        assert reason in history.text
    assert [c.action for c in changes(world, "ada")] == ["set", "set", "removed"]


async def test_an_accommodated_attempts_task_shows_its_badge_minutes_and_note_escaped(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    world.limit_time(60)
    note = '<script>alert("x")</script> & a reader'
    page = (await reviewer.get(PAGE)).text
    await reviewer.post(
        PAGE,
        data={
            "csrf_token": csrf_of(page),
            "once": once_of(page, "terms-form"),
            "learner_id": "learner-ada",
            "extra_minutes": "30",
            "note": note,
            "reason": "letter",
        },
    )
    accommodated = await world.learner_finishes("Ada Lovelace", learner_id="learner-ada")
    plain = await world.learner_finishes("Grace Hopper")
    assert world.attempt(accommodated.attempt_id).allowed_minutes == 90

    task = await reviewer.get(f"/review/tasks/{world.task(accommodated.attempt_id).id}")
    details = re.search(
        r'<section class="panel" aria-labelledby="details-heading">(.*?)</section>', task.text, re.S
    )[1]
    assert (
        '<span class="badge accommodation" id="accommodation-badge">Extra time: +30 minutes</span>' in details
    )
    assert '<dd id="allowed-minutes">90 minutes</dd>' in details
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; a reader" in details
    assert "<script>" not in task.text
    assert f'href="/review/attempts/{accommodated.attempt_id}"' in task.text

    other = await reviewer.get(f"/review/tasks/{world.task(plain.attempt_id).id}")
    assert "accommodation-badge" not in other.text  # no accommodation: no badge
    assert '<dd id="allowed-minutes">60 minutes</dd>' in other.text  # the lesson's own limit


async def test_reviewers_see_and_change_their_own_organisations_accommodations_only(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    other = ReviewWorld(world.stack).seed()  # the same course id, another organisation
    stranger = await signed_in_client(other)
    try:
        await upload(stranger, f"{HEADER}\nada,30,,,,secret note\n")
    finally:
        await stranger.aclose()
    assert stored(world) == {} and set(stored(other)) == {"ada"}
    listing = await reviewer.get(PAGE)
    assert "No learner has an accommodation in this course." in listing.text
    assert "secret note" not in listing.text
    assert (await reviewer.get("/review/courses/no-such-course/accommodations")).status_code == 404
