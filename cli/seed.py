"""The demo `proctorflow dev` starts with: an organisation, a ProctorFree integration, a course
whose lessons show each proctoring method, a reviewer login, and the demo LMS's own API token
for that organisation (the demo LMS, `demo_lms/`, plays the organisation's LMS).

Idempotent: what exists is left as it is, so a developer's changes to the demo survive a
restart; only what is missing is made.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, select

from models.api import CourseIn, CourseSettingsIn, LessonIn, ProctoringIn
from models.settings import Notifications, SettingsIn
from models.tables import Course, Integration, Lesson, OrgSettings, Reviewer
from proctorflow.crypto import SecretBox
from store import catalog
from store import settings as org_settings
from store.db import SessionFactory, transaction
from store.reviewers import create_reviewer, hash_password, password_matches
from store.tokens import new_token

DEMO_INTEGRATION = "Demo ProctorFree"
# The emulator accepts any credentials but those starting with "invalid" or "revoked".
DEMO_CREDENTIALS = ("demo-key", "demo-secret")
DEMO_COURSE_ID = "course-demo"
DEMO_REVIEWER = "reviewer"
PASSWORD_FILE = "demo-reviewer-password"
DEMO_LMS_TOKEN_FILE = "demo-lms-token"
DEMO_LMS_TOKEN_NAME = "demo LMS"
DEMO_DIGEST_RECIPIENT = "reviewers@example.org"
DEMO_ESCALATION = "escalations@example.org"

DEMO_COURSE = CourseIn(
    title="Certified Widget Engineer",
    lessons=[
        LessonIn(id="intro", title="Welcome to widget engineering", type="video", required=True),
        LessonIn(id="practice", title="Practice exam (try the proctoring)", type="quiz", required=False),
        LessonIn(id="final-exam", title="Final exam", type="quiz", required=True, allows_retakes=True),
        LessonIn(id="recorded-quiz", title="Recorded safety quiz", type="quiz", required=True),
        LessonIn(id="live-session", title="Live Q&A with a trainer", type="live_training", required=False),
    ],
    settings=CourseSettingsIn(score_lesson_id="final-exam", complete_on_failure=False, certificate=True),
)

# lesson id -> (method, requires validation, instructions shown above "Set up Proctoring")
DEMO_PROCTORING = {
    "practice": (
        "practice",
        False,
        "A free practice session of up to 20 minutes: install the ProctorFree app and check your "
        "camera, microphone and screen before the real exam.",
    ),
    "final-exam": (
        "full",
        True,
        "The final exam is recorded and audited by ProctorFree. Have your ID ready, sit alone in a "
        "quiet room, and keep the ProctorFree window open until you press FINISH.",
    ),
    "recorded-quiz": (
        "record_only",
        False,
        "This quiz is recorded (not audited). Press FINISH in the ProctorFree window when you are done.",
    ),
}


@dataclass
class DemoSeed:
    org_id: str
    integration_name: str
    course_id: str
    course_title: str
    lessons: list[str]  # one line per lesson: id (type, required, proctoring)
    reviewer_username: str
    reviewer_password: str
    demo_lms_token: str = ""  # the demo LMS's token for the organisation (kept under the data folder)
    created: list[str] = field(default_factory=list)  # what this run made; empty on a rerun


def seed_demo(sessions: SessionFactory, box: SecretBox, lms_token: str, data_dir: Path) -> DemoSeed:
    password = demo_reviewer_password(data_dir)
    demo_token = _kept_secret(data_dir / DEMO_LMS_TOKEN_FILE, new_token)
    created: list[str] = []
    org_id = catalog.DEFAULT_ORG
    with transaction(sessions) as session:
        catalog.ensure_default_organisation(session, lms_token)
        integration = _ensure_integration(session, org_id, box, created)
        course = _ensure_course(session, org_id, integration.id, created)
        _ensure_reviewer(session, org_id, password, created)
        _ensure_notifications(session, org_id, created)
        if catalog.org_for_token(session, demo_token) is None:
            catalog.grant_token(session, org_id, demo_token, DEMO_LMS_TOKEN_NAME)
            created.append(f"token '{DEMO_LMS_TOKEN_NAME}'")
        lessons = [describe(lesson) for lesson in catalog.lessons_of(session, org_id, course.id)]
    return DemoSeed(
        org_id=org_id,
        integration_name=integration.name,
        course_id=course.id,
        course_title=course.title,
        lessons=lessons,
        reviewer_username=DEMO_REVIEWER,
        reviewer_password=password,
        demo_lms_token=demo_token,
        created=created,
    )


def demo_reviewer_password(data_dir: Path) -> str:
    """Made once and kept under the data folder, so every run prints the same login."""
    return _kept_secret(data_dir / PASSWORD_FILE, lambda: secrets.token_urlsafe(12))


def _kept_secret(path: Path, make: Callable[[], str]) -> str:
    """Read from `path`, or made now and written there, readable by its owner only."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = make()
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


def describe(lesson: Lesson) -> str:
    traits = [lesson.type, "required" if lesson.required else "optional"]
    if lesson.method:
        traits.append(f"proctored {lesson.method}")
        if lesson.requires_validation:
            traits.append("requires validation")
    if lesson.allows_retakes:
        traits.append("retakes")
    return f"{lesson.id} ({', '.join(traits)})"


def _ensure_notifications(session: Session, org_id: str, created: list[str]) -> None:
    """The demo e-mails everyone (dev mode's local SMTP sink lists it): the learner on submit and
    decision, the reviewers a daily digest, the escalation contact. Only while the organisation
    has no settings of its own."""
    if session.get(OrgSettings, org_id) is not None:
        return
    notify = Notifications(
        learner_submitted=True,
        learner_decided=True,
        reviewer_digest=True,
        digest_recipients=[DEMO_DIGEST_RECIPIENT],
    )
    org_settings.write(session, org_id, SettingsIn(notifications=notify, escalation_email=DEMO_ESCALATION))
    created.append("e-mail notifications")


def _ensure_integration(session: Session, org_id: str, box: SecretBox, created: list[str]) -> Integration:
    existing = session.exec(
        select(Integration).where(Integration.org_id == org_id, Integration.name == DEMO_INTEGRATION)
    ).first()
    if existing is not None:
        return existing
    created.append(f"integration '{DEMO_INTEGRATION}'")
    api_key, api_secret = DEMO_CREDENTIALS
    return catalog.add_integration(session, org_id, DEMO_INTEGRATION, api_key, api_secret, True, box)


def _ensure_course(session: Session, org_id: str, integration_id: str, created: list[str]) -> Course:
    existing = session.get(Course, (org_id, DEMO_COURSE_ID))
    if existing is not None:
        return existing
    course = catalog.put_course(session, org_id, DEMO_COURSE_ID, DEMO_COURSE)
    for lesson_id, (method, requires_validation, instructions) in DEMO_PROCTORING.items():
        settings = ProctoringIn(
            integration_id=integration_id,
            instructions=instructions,
            method=method,
            requires_validation=requires_validation,
        )
        catalog.set_proctoring(session, org_id, DEMO_COURSE_ID, lesson_id, settings)
    created.append(f"course '{DEMO_COURSE_ID}'")
    return course


def _ensure_reviewer(session: Session, org_id: str, password: str, created: list[str]) -> None:
    existing = session.exec(select(Reviewer).where(Reviewer.username == DEMO_REVIEWER)).first()
    if existing is None:
        create_reviewer(session, org_id, DEMO_REVIEWER, password, display_name="Demo Reviewer")
        created.append(f"reviewer '{DEMO_REVIEWER}'")
    elif existing.org_id == org_id and not password_matches(password, existing.password_hash):
        # The password file was removed: the demo login follows the newly printed password.
        existing.password_hash = hash_password(password)
        session.add(existing)
        created.append(f"new password for reviewer '{DEMO_REVIEWER}'")
