"""The search attributes ops find attempts by in Temporal Web and the CLI: ids and states,
never names or e-mails. Registered by `make dev`, `proctorflow setup` and the tests."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

COURSE_ID = SearchAttributeKey.for_keyword("CourseId")
LESSON_ID = SearchAttributeKey.for_keyword("LessonId")
LEARNER_ID = SearchAttributeKey.for_keyword("LearnerId")
ATTEMPT_STATUS = SearchAttributeKey.for_keyword("AttemptStatus")
METHOD = SearchAttributeKey.for_keyword("ProctoringMethod")
REVIEW_STATE = SearchAttributeKey.for_keyword("ReviewState")

ALL = (COURSE_ID, LESSON_ID, LEARNER_ID, ATTEMPT_STATUS, METHOD, REVIEW_STATE)
