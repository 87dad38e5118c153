"""An attempt row for store tests: the completion reads the exam result stored on it."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from models.payloads import AttemptKey
from models.tables import Attempt


def add_attempt(
    session: Session,
    key: AttemptKey,
    exam_passed: bool | None = True,
    exam_score: float | None = 90,
    attempt_id: str | None = None,
    status: str = "ready_for_review",
    method: str = "record_only",
) -> str:
    """Store an attempt of `key` with the LMS's exam result on it; returns its id."""
    attempt_id = attempt_id or str(uuid.uuid4())
    session.add(
        Attempt(
            id=attempt_id,
            org_id=key.org_id,
            course_id=key.course_id,
            lesson_id=key.lesson_id,
            learner_id=key.learner_id,
            attempt_number=key.attempt_number,
            workflow_id=f"attempt-{attempt_id}",
            integration_id="integration",
            method=method,
            required=True,
            requires_validation=True,
            status=status,
            exam_passed=exam_passed,
            exam_score=exam_score,
        )
    )
    return attempt_id
