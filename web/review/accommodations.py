"""Accommodations in the reviewer UI: the organisation's courses, each course's accommodations
(with an upload of many from a CSV file, and a form for one learner), and one learner's, to
change or remove, with its history.

Each row of an upload is applied on its own, in its own transaction, by the same store the LMS's
API uses (`store.accommodations`: its checks, its history, its `accommodation.changed` event):
a bad row changes nothing and is reported by its line in the file, the others apply. The
signed-in reviewer is who changed them; the upload's reason is kept with each change.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from models.tables import Reviewer, utcnow
from store import scoped
from web.api.common import read
from web.review.accommodation_rows import (
    COLUMNS,
    MAX_ROWS,
    FileRefused,
    Row,
    RowProblem,
    Terms,
    expiry_text,
    parse_csv,
    read_terms,
)
from web.review.accommodation_store import (
    PAGE_SIZE,
    Outcome,
    apply_rows,
    load_course,
    load_courses,
    load_learner,
    proctored_lessons,
    record_upload,
    remove_one,
    set_one,
    validation_words,
)
from web.review.auth import posting_reviewer, review_router, signed_in
from web.review.once import form_token, submissions
from web.review.pages import accommodation_url, accommodations_url, render, sentence
from web.review.reasons import reason_problem
from web.services import services_of

router = review_router()

MAX_REASON = 2000
MAX_FILE_BYTES = 1024 * 1024  # the web app refuses a larger body anyway (`web.hardening`)


def lms_id() -> Any:
    return Path(min_length=1, max_length=200)  # an instance per parameter: FastAPI keeps state on it


@dataclass
class TermsForm:
    """What one learner's form holds (as typed), to show again beside a problem."""

    learner_id: str = ""
    extra_minutes: str = ""
    time_multiplier: str = ""
    lesson_ids: list[str] = field(default_factory=list)
    expires_at: str = ""
    note: str = ""
    reason: str = ""
    problem: str | None = None

    @classmethod
    def of(cls, stored: Any) -> TermsForm:
        """The form filled in with a stored accommodation, to change it."""
        if stored is None:
            return cls()
        acc = stored.accommodation
        return cls(
            learner_id=acc.learner_id,
            extra_minutes=str(acc.extra_minutes or ""),
            time_multiplier=f"{acc.time_multiplier:g}" if acc.time_multiplier else "",
            lesson_ids=list(acc.lesson_ids or []),
            expires_at=expiry_text(acc.expires_at) if acc.expires_at else "",
            note=acc.note,
        )


# --- Courses ------------------------------------------------------------------------------------


@router.get("/courses")
async def course_list(request: Request, reviewer: Reviewer = Depends(signed_in)) -> Response:
    rows = await read(services_of(request), lambda session: load_courses(session, reviewer.org_id))
    return render(request, "courses.html", {"title": "Courses", "rows": rows})


# --- A course's accommodations ------------------------------------------------------------------


async def course_page(
    request: Request,
    org_id: str,
    course_id: str,
    page: int = 1,
    terms_form: TermsForm | None = None,
    upload_problem: str | None = None,
    upload_reason: str = "",
    status: int = 200,
) -> Response:
    view = await read(services_of(request), lambda session: load_course(session, org_id, course_id, page))
    context = {
        "title": f"Accommodations: {view.course.title}",
        "view": view,
        "page": page,
        "pages": max(1, -(-view.total // PAGE_SIZE)),
        "form": terms_form or TermsForm(),
        "upload_problem": upload_problem,
        "upload_reason": upload_reason,
        "columns": COLUMNS,
        "max_rows": MAX_ROWS,
        "once": {"upload": form_token(), "terms": form_token()},
        "sample_expiry": (view.now + timedelta(days=365)).date().isoformat(),
    }
    return render(request, "accommodations.html", context, status=status)


@router.get("/courses/{course_id}/accommodations")
async def show_course(
    request: Request,
    course_id: str = lms_id(),
    page: int = Query(1, ge=1, le=1_000_000),
    reviewer: Reviewer = Depends(signed_in),
) -> Response:
    return await course_page(request, reviewer.org_id, course_id, page)


@router.post("/courses/{course_id}/accommodations/upload")
async def upload(
    request: Request,
    course_id: str = lms_id(),
    file: Annotated[UploadFile | None, File()] = None,
    reason: str = Form("", max_length=MAX_REASON + 1000),
    once: str = Form("", max_length=100),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """Apply every good row of a CSV file; the result page reports each bad one by its line."""
    svc = services_of(request)
    org_id = reviewer.org_id
    proctored = await read(svc, lambda session: _course_lessons(session, org_id, course_id))
    problem = reason_problem(reason, MAX_REASON, "with each change")
    if problem is None and (file is None or not file.filename):
        problem = "Choose a CSV file to upload."
    content = b""
    if problem is None and file is not None:
        content = await file.read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:
            problem = "The file is larger than 1 MB: split it and upload each part."
    if problem is None:
        try:
            parsed = await asyncio.to_thread(parse_csv, content, proctored, utcnow())
        except FileRefused as refused:
            problem = f"Nothing was applied: {refused}."
    if problem is not None:
        return await course_page(
            request, org_id, course_id, upload_problem=problem, upload_reason=reason, status=422
        )

    async def apply() -> Outcome:
        done = await asyncio.to_thread(
            apply_rows, svc.sessions, org_id, course_id, parsed.rows, reason.strip(), reviewer.username
        )
        done.bad = sorted(parsed.bad + done.bad, key=lambda bad: bad.line)
        await asyncio.to_thread(record_upload, svc.sessions, org_id, course_id, done)
        return done

    outcome = await submissions(request).once(reviewer.id, once, apply)
    view = await read(svc, lambda session: load_course(session, org_id, course_id, 1))
    count = len(outcome.applied)
    title = f"Upload: {count} accommodation{'' if count == 1 else 's'} applied, {len(outcome.bad)} refused"
    context = {"title": title, "view": view, "outcome": outcome, "filename": file.filename if file else ""}
    return render(request, "accommodations_result.html", context)


def _course_lessons(session: Session, org_id: str, course_id: str) -> dict[str, str]:
    scoped.course(session, org_id, course_id)
    return proctored_lessons(session, org_id, course_id)


@router.post("/courses/{course_id}/accommodations")
async def set_from_course_page(
    request: Request,
    course_id: str = lms_id(),
    learner_id: str = Form("", max_length=1000),
    extra_minutes: str = Form("", max_length=100),
    time_multiplier: str = Form("", max_length=100),
    lesson_ids: list[str] = Form([]),
    expires_at: str = Form("", max_length=100),
    note: str = Form("", max_length=5000),
    reason: str = Form("", max_length=MAX_REASON + 1000),
    once: str = Form("", max_length=100),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """Set one learner's accommodation, the learner named in the form."""
    typed = TermsForm(learner_id, extra_minutes, time_multiplier, lesson_ids, expires_at, note, reason)
    return await _set(request, reviewer, course_id, typed, once, on_learner_page=False)


# --- One learner's accommodation ----------------------------------------------------------------


async def learner_page(
    request: Request,
    org_id: str,
    course_id: str,
    learner_id: str,
    terms_form: TermsForm | None = None,
    remove_problem: str | None = None,
    status: int = 200,
) -> Response:
    view = await read(
        services_of(request), lambda session: load_learner(session, org_id, course_id, learner_id)
    )
    learner = view.learner_name or learner_id
    context = {
        "title": f"Accommodation: {learner}",
        "view": view,
        "learner": learner,
        "form": terms_form or TermsForm.of(view.stored),
        "remove_problem": remove_problem,
        "once": {"terms": form_token(), "remove": form_token()},
    }
    return render(request, "accommodation.html", context, status=status)


@router.get("/courses/{course_id}/learners/{learner_id}/accommodation")
async def show_learner(
    request: Request,
    course_id: str = lms_id(),
    learner_id: str = lms_id(),
    reviewer: Reviewer = Depends(signed_in),
) -> Response:
    return await learner_page(request, reviewer.org_id, course_id, learner_id)


@router.post("/courses/{course_id}/learners/{learner_id}/accommodation")
async def set_from_learner_page(
    request: Request,
    course_id: str = lms_id(),
    learner_id: str = lms_id(),
    extra_minutes: str = Form("", max_length=100),
    time_multiplier: str = Form("", max_length=100),
    lesson_ids: list[str] = Form([]),
    expires_at: str = Form("", max_length=100),
    note: str = Form("", max_length=5000),
    reason: str = Form("", max_length=MAX_REASON + 1000),
    once: str = Form("", max_length=100),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    typed = TermsForm(learner_id, extra_minutes, time_multiplier, lesson_ids, expires_at, note, reason)
    return await _set(request, reviewer, course_id, typed, once, on_learner_page=True)


@router.post("/courses/{course_id}/learners/{learner_id}/accommodation/remove")
async def remove(
    request: Request,
    course_id: str = lms_id(),
    learner_id: str = lms_id(),
    reason: str = Form("", max_length=MAX_REASON + 1000),
    once: str = Form("", max_length=100),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """Attempts opened from now on get the lesson's own limit; running ones keep theirs."""
    org_id = reviewer.org_id
    problem = reason_problem(reason, MAX_REASON, "with each change")
    if problem:
        return await learner_page(request, org_id, course_id, learner_id, remove_problem=problem, status=422)
    svc = services_of(request)

    async def work() -> None:
        await asyncio.to_thread(
            remove_one, svc.sessions, org_id, course_id, learner_id, reason.strip(), reviewer.username
        )

    await submissions(request).once(reviewer.id, once, work)
    request.state.review.say("info", f"The accommodation of {learner_id} is removed.")
    return RedirectResponse(accommodations_url(course_id), 303)


async def _set(
    request: Request, reviewer: Reviewer, course_id: str, typed: TermsForm, once: str, on_learner_page: bool
) -> Response:
    svc = services_of(request)
    org_id = reviewer.org_id
    proctored = await read(svc, lambda session: _course_lessons(session, org_id, course_id))
    try:
        terms = _terms(typed, proctored)
    except RowProblem as problem:
        typed.problem = sentence(str(problem))
        if on_learner_page:
            return await learner_page(request, org_id, course_id, typed.learner_id, typed, status=422)
        return await course_page(request, org_id, course_id, terms_form=typed, status=422)

    async def work() -> list[str]:
        stored = await asyncio.to_thread(
            set_one, svc.sessions, org_id, course_id, Row(0, terms), typed.reason.strip(), reviewer.username
        )
        return stored.warnings

    warnings = await submissions(request).once(reviewer.id, once, work)
    request.state.review.say("info", f"The accommodation of {terms.learner_id} is saved.")
    for warning in warnings:
        request.state.review.say("warning", sentence(f"Note: {warning}"))
    return RedirectResponse(accommodation_url(course_id, terms.learner_id), 303)


def _terms(typed: TermsForm, proctored: dict[str, str]) -> Terms:
    terms = read_terms(
        typed.learner_id,
        typed.extra_minutes,
        typed.time_multiplier,
        typed.lesson_ids,
        typed.expires_at,
        typed.note,
        proctored,
        utcnow(),
    )
    problem = reason_problem(typed.reason, MAX_REASON, "with each change")
    if problem:
        raise RowProblem(problem)
    try:
        terms.body(typed.reason.strip(), "check")  # the API's own checks, which the form's precede
    except ValidationError as invalid:
        raise RowProblem(validation_words(invalid)) from None
    return terms
