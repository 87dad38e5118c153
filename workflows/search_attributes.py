"""The search attributes ops find attempts by in Temporal Web and the CLI: ids and states,
never names or e-mails. Registered by `make dev`, `proctorflow setup` and the tests.

Search attributes are the one thing Temporal must read, so they are never sealed: `LearnerId`
holds a keyed pseudonym of the LMS's learner id (LMSs often use e-mail addresses as ids), not
the id. `proctorflow find --learner ID` prints it and the query to paste."""

from __future__ import annotations

import hashlib
import hmac

from temporalio.common import SearchAttributeKey

COURSE_ID = SearchAttributeKey.for_keyword("CourseId")
LESSON_ID = SearchAttributeKey.for_keyword("LessonId")
LEARNER_ID = SearchAttributeKey.for_keyword("LearnerId")
ATTEMPT_STATUS = SearchAttributeKey.for_keyword("AttemptStatus")
METHOD = SearchAttributeKey.for_keyword("ProctoringMethod")
REVIEW_STATE = SearchAttributeKey.for_keyword("ReviewState")
# The reviewer holding the task (their username: a staff account, not a learner) and when the
# task is due (reviewer operations: "Mine", "Unassigned", "Overdue" in Temporal Web too).
REVIEW_ASSIGNEE = SearchAttributeKey.for_keyword("ReviewAssignee")
REVIEW_DUE_AT = SearchAttributeKey.for_datetime("ReviewDueAt")

ALL = (COURSE_ID, LESSON_ID, LEARNER_ID, ATTEMPT_STATUS, METHOD, REVIEW_STATE, REVIEW_ASSIGNEE, REVIEW_DUE_AT)

PSEUDONYM_PREFIX = "lp-"


def learner_pseudonym(key: bytes, learner_id: str) -> str:
    """`LearnerId`'s value: HMAC-SHA256 of the learner id under the pseudonym key
    (`proctorflow.temporal.pseudonym_keys`), 128 bits of it in hex. The same learner always
    has the same pseudonym under one key; without the key it cannot be turned back or guessed
    from a list of e-mail addresses."""
    digest = hmac.new(key, learner_id.encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:32]
