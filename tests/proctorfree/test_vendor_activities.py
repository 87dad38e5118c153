"""The vendor activities' time limits, on a real database and the real client against the
emulator: a session opens with the attempt's minutes and, only when an accommodation gave them,
the accommodation's note (read from the database, never from the workflow); staff extensions
reach ProctorFree, and its refusals are not retried."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import errors
from activities.vendor import VendorActivities
from models.payloads import VendorCall
from models.tables import Accommodation, Attempt, Course, Learner, Lesson
from proctorflow.crypto import SecretBox
from proctorfree.client import ProctorFreeClient
from proctorfree.emulator import create_app
from store import catalog
from store.db import make_engine, session_factory, transaction
from tests.support.database import fresh_database_url
from tests.support.servers import free_port, serve_in_thread

ORG, COURSE, LEARNER = "org-limits", "course-limits", "learner-limits"
NOTE = "Extra time for a reading disability"


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with serve_in_thread(create_app(), free_port()) as base_url:
        yield base_url


@pytest.fixture
def emulator(emulator_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_url, timeout=5) as http:
        yield http


@pytest.fixture
def database(tmp_path: Path):
    engine = make_engine(fresh_database_url(tmp_path))
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
async def activities(database, emulator_url) -> AsyncIterator[VendorActivities]:
    async with ProctorFreeClient(emulator_url, timeout=5) as backend:
        yield VendorActivities(backend, database, BOX)


BOX = SecretBox(Fernet.generate_key().decode())


def add_attempt(sessions, accommodated: bool, note: str = NOTE, method: str = "record_only") -> VendorCall:
    """An attempt of the learner in the course, with an accommodation (and its note) stored."""
    attempt_id = str(uuid.uuid4())
    with transaction(sessions) as session:
        catalog.ensure_organisation(session, ORG, "Limits")
        integration = catalog.add_integration(session, ORG, "PF", "pf-key-limits", "pf-secret", True, BOX)
        if session.get(Course, (ORG, COURSE)) is None:
            session.add(Course(org_id=ORG, id=COURSE, title="Widgets"))
            session.add(Lesson(org_id=ORG, course_id=COURSE, id="exam", title="Final exam", type="quiz"))
            session.add(Learner(org_id=ORG, id=LEARNER, name="Ada Lovelace", email="ada@example.org"))
            session.add(
                Accommodation(org_id=ORG, course_id=COURSE, learner_id=LEARNER, extra_minutes=30, note=note)
            )
        session.add(
            Attempt(
                id=attempt_id,
                org_id=ORG,
                course_id=COURSE,
                lesson_id="exam",
                learner_id=LEARNER,
                attempt_number=1,
                workflow_id=f"attempt-{attempt_id}",
                integration_id=integration.id,
                method=method,
                required=True,
                requires_validation=False,
                status="awaiting_setup",
                allowed_minutes=90,
                accommodated=accommodated,
            )
        )
    return VendorCall(attempt_id=attempt_id, integration_id=integration.id, time_limit_minutes=90)


async def test_an_accommodated_attempt_opens_with_its_minutes_and_the_note(activities, database, emulator):
    call = add_attempt(database, accommodated=True)

    ref = await ActivityEnvironment().run(activities.create_session, call)

    review = emulator.get(ref.review_url).text
    assert "90 minutes" in review and NOTE in review


async def test_the_note_stays_home_when_the_accommodation_gave_the_attempt_nothing(
    activities, database, emulator
):
    call = add_attempt(database, accommodated=False)

    ref = await ActivityEnvironment().run(activities.create_session, call)

    review = emulator.get(ref.review_url).text
    assert "90 minutes" in review and NOTE not in review and 'id="accommodation-note"' not in review


async def test_staff_extensions_reach_proctorfree(activities, database, emulator):
    call = add_attempt(database, accommodated=False)
    ref = await ActivityEnvironment().run(activities.create_session, call)
    emulator.post(f"/emulator/sessions/{ref.session_id}/start").raise_for_status()

    extended = call.model_copy(update={"session_id": ref.session_id, "time_limit_minutes": 120})
    await ActivityEnvironment().run(activities.set_time_limit, extended)

    assert "120 minutes" in emulator.get(ref.review_url).text


async def test_proctorfrees_refusal_of_an_extension_is_not_retried(activities, database, emulator):
    call = add_attempt(database, accommodated=False, method="practice")
    ref = await ActivityEnvironment().run(
        activities.create_session, call.model_copy(update={"time_limit_minutes": 20})
    )
    over_cap = call.model_copy(update={"session_id": ref.session_id, "time_limit_minutes": 30})

    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(activities.set_time_limit, over_cap)

    assert refused.value.type == errors.REQUEST_REJECTED and refused.value.non_retryable
    assert "cap" in str(refused.value)
