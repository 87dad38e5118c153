"""Accommodations: a learner's extra time in a course, one by one or in bulk. An attempt opened
while one applies gets its minutes (`POST /attempts/open` answers `allowed_minutes`) and
ProctorFree's session the same limit and the note."""

from __future__ import annotations

import asyncio

from fastapi import Depends, Query, Response
from pydantic import ValidationError

from models.accommodations import (
    AccommodationChangeOut,
    AccommodationIn,
    AccommodationOut,
    BulkIn,
    BulkItem,
    BulkOut,
    BulkResult,
)
from models.tables import AccommodationChange
from proctorflow.errors import Refused
from store import accommodations, scoped
from store.db import transaction
from web.api.common import CourseId, LearnerId, api_router, read, write
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/courses/{course_id}", tags=["accommodations"])


@router.put("/learners/{learner_id}/accommodation", response_model=AccommodationOut)
async def set_accommodation(
    body: AccommodationIn,
    course_id: str = CourseId,
    learner_id: str = LearnerId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> AccommodationOut:
    """Set or replace the learner's accommodation: attempts opened from now on get it."""
    stored = await write(
        svc, lambda session: accommodations.put(session, org_id, course_id, learner_id, body)
    )
    return accommodation_out(stored)


@router.get("/learners/{learner_id}/accommodation", response_model=AccommodationOut)
async def read_accommodation(
    course_id: str = CourseId,
    learner_id: str = LearnerId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> AccommodationOut:
    stored = await read(svc, lambda session: accommodations.read(session, org_id, course_id, learner_id))
    return accommodation_out(stored)


@router.delete("/learners/{learner_id}/accommodation", status_code=204)
async def remove_accommodation(
    course_id: str = CourseId,
    learner_id: str = LearnerId,
    reason: str = Query(default="", max_length=2000, description="why, kept with the change"),
    changed_by: str = Query(default="the LMS", min_length=1, max_length=200),
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> Response:
    """Attempts opened from now on get the lesson's own limit; running ones keep theirs."""
    await write(
        svc, lambda session: accommodations.remove(session, org_id, course_id, learner_id, reason, changed_by)
    )
    return Response(status_code=204)


@router.post("/accommodations", response_model=BulkOut)
async def set_accommodations(
    body: BulkIn,
    course_id: str = CourseId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> BulkOut:
    """Many at once: each item applies or is refused on its own, with its place and why."""
    await read(svc, lambda session: scoped.course(session, org_id, course_id))  # 404 for the whole call
    return await asyncio.to_thread(apply_bulk, svc, org_id, course_id, body.items)


def apply_bulk(svc: Services, org_id: str, course_id: str, items: list[dict]) -> BulkOut:
    """Each item in its own transaction: a refused one changes nothing, the others apply."""
    results = []
    for index, raw in enumerate(items):
        learner_id = raw.get("learner_id") if isinstance(raw.get("learner_id"), str) else None
        try:
            item = BulkItem.model_validate(raw)
            with transaction(svc.sessions) as session:
                stored = accommodations.put(session, org_id, course_id, item.learner_id, item)
        except ValidationError as invalid:
            results.append(
                BulkResult(index=index, learner_id=learner_id, ok=False, error=_first_error(invalid))
            )
        except Refused as refused:
            results.append(BulkResult(index=index, learner_id=learner_id, ok=False, error=refused.message))
        else:
            results.append(
                BulkResult(index=index, learner_id=item.learner_id, ok=True, allowed_minutes=stored.allowed)
            )
    applied = sum(result.ok for result in results)
    return BulkOut(applied=applied, refused=len(results) - applied, results=results)


def _first_error(invalid: ValidationError) -> str:
    error = invalid.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "item"
    return f"{where}: {error['msg']}"


def accommodation_out(stored: accommodations.Stored) -> AccommodationOut:
    accommodation = stored.accommodation
    return AccommodationOut(
        course_id=accommodation.course_id,
        learner_id=accommodation.learner_id,
        extra_minutes=accommodation.extra_minutes,
        time_multiplier=accommodation.time_multiplier,
        lesson_ids=accommodation.lesson_ids,
        has_note=bool(accommodation.note),
        expires_at=accommodation.expires_at,
        in_force=stored.in_force,
        allowed_minutes=stored.allowed,
        warnings=stored.warnings,
        updated_by=accommodation.updated_by,
        updated_at=accommodation.updated_at,
        changes=[change_out(change) for change in stored.changes],
    )


def change_out(change: AccommodationChange) -> AccommodationChangeOut:
    return AccommodationChangeOut(
        action=change.action,
        before=_without_note(change.before),
        after=_without_note(change.after),
        reason=change.reason,
        changed_by=change.changed_by,
        at=change.at,
    )


def _without_note(facts: dict | None) -> dict | None:
    if facts is None:
        return None
    shown = {name: value for name, value in facts.items() if name != "note"}
    return shown | {"has_note": bool(facts.get("note"))}
