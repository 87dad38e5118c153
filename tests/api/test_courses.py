"""PUT /courses/{id} and a lesson's proctoring settings: "Proctoring can be added to any lesson
type except for Live Training lessons and Examity lessons", with an active integration."""

from __future__ import annotations

from tests.api.helpers import (
    add_integration,
    assert_refused,
    exam_lesson,
    open_attempt,
    open_body,
    proctored_course,
    put_course,
    unique,
    vendor_session,
)


def proctoring(integration_id: str, method: str = "full", requires_validation: bool = True) -> dict:
    return {
        "integration_id": integration_id,
        "instructions": "Have your photo ID ready.",
        "method": method,
        "requires_validation": requires_validation,
    }


async def test_a_course_is_stored_with_its_lessons_in_order_and_read_back(stack):
    course_id = unique("course")
    lessons = [
        {"id": "intro", "title": "Welcome", "type": "video", "required": False},
        exam_lesson(allows_retakes=True),
    ]

    course = await put_course(stack.api, course_id, lessons, score_lesson_id="exam", certificate=True)

    assert [lesson["id"] for lesson in course["lessons"]] == ["intro", "exam"]
    assert course["settings"] == {
        "score_lesson_id": "exam",
        "complete_on_failure": False,
        "certificate": True,
    }
    assert course["lessons"][1]["allows_retakes"] is True
    assert all(lesson["proctoring"] is None for lesson in course["lessons"])
    assert (await stack.api.get(f"/courses/{course_id}")).json() == course


async def test_proctoring_settings_are_shown_on_the_course_and_kept_when_the_course_is_put_again(stack):
    integration = await add_integration(stack.api)
    course_id = unique("course")
    await put_course(stack.api, course_id, [exam_lesson()])

    response = await stack.api.put(
        f"/courses/{course_id}/lessons/exam/proctoring", json=proctoring(integration["id"])
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "course_id": course_id,
        "lesson_id": "exam",
        **proctoring(integration["id"]),
        "time_limit_minutes": None,
        "warnings": [],
    }

    again = await put_course(stack.api, course_id, [exam_lesson(), exam_lesson("extra")])
    assert again["lessons"][0]["proctoring"] == {
        "integration_id": integration["id"],
        "instructions": "Have your photo ID ready.",
        "method": "full",
        "requires_validation": True,
        "time_limit_minutes": None,
    }


async def test_a_lesson_turned_into_live_training_loses_its_proctoring_and_the_reply_says_so(stack):
    course_id, _ = await proctored_course(stack.api)

    course = await put_course(stack.api, course_id, [exam_lesson(type="live_training")])

    lesson = course["lessons"][0]
    assert lesson["proctoring"] is None
    assert "cannot be proctored" in lesson["warnings"][0]


async def test_live_training_and_examity_lessons_cannot_be_proctored(stack):
    integration = await add_integration(stack.api)
    course_id = unique("course")
    await put_course(
        stack.api,
        course_id,
        [exam_lesson("live", type="live_training"), exam_lesson("examity", type="examity")],
    )
    for lesson_id in ("live", "examity"):
        response = await stack.api.put(
            f"/courses/{course_id}/lessons/{lesson_id}/proctoring", json=proctoring(integration["id"])
        )
        assert_refused(response, 422, "cannot be proctored")


async def test_an_inactive_integration_cannot_proctor_a_lesson(stack):
    integration = await add_integration(stack.api, is_active=False)
    course_id = unique("course")
    await put_course(stack.api, course_id, [exam_lesson()])

    response = await stack.api.put(
        f"/courses/{course_id}/lessons/exam/proctoring", json=proctoring(integration["id"])
    )

    assert_refused(response, 422, "not active")


async def test_a_required_practice_lesson_with_validation_is_accepted_with_warnings(stack):
    integration = await add_integration(stack.api)
    course_id = unique("course")
    await put_course(stack.api, course_id, [exam_lesson(required=True)])

    response = await stack.api.put(
        f"/courses/{course_id}/lessons/exam/proctoring",
        json=proctoring(integration["id"], method="practice", requires_validation=True),
    )

    assert response.status_code == 200, response.text
    warnings = response.json()["warnings"]
    assert len(warnings) == 2
    assert any("make it optional" in w for w in warnings)
    assert any("turn validation off" in w for w in warnings)
    course = (await stack.api.get(f"/courses/{course_id}")).json()
    assert course["lessons"][0]["warnings"] == warnings


async def test_unknown_course_lesson_or_integration_answers_404(stack):
    integration = await add_integration(stack.api)
    course_id = unique("course")
    await put_course(stack.api, course_id, [exam_lesson()])

    assert_refused(await stack.api.get("/courses/no-such-course"), 404, "no-such-course")
    assert_refused(
        await stack.api.put(
            "/courses/no-such-course/lessons/exam/proctoring", json=proctoring(integration["id"])
        ),
        404,
        "no-such-course",
    )
    assert_refused(
        await stack.api.put(
            f"/courses/{course_id}/lessons/nope/proctoring", json=proctoring(integration["id"])
        ),
        404,
        "nope",
    )
    assert_refused(
        await stack.api.put(
            f"/courses/{course_id}/lessons/exam/proctoring", json=proctoring("no-such-integration")
        ),
        404,
        "no-such-integration",
    )
    assert_refused(
        await stack.api.delete("/courses/no-such-course/lessons/exam/proctoring"), 404, "no-such-course"
    )


async def test_bad_course_and_proctoring_bodies_say_what_to_fix(stack):
    course_id = unique("course")
    no_lessons = await stack.api.put(f"/courses/{course_id}", json={"title": "No lessons"})
    assert_refused(no_lessons, 422, "lessons")
    twice = await stack.api.put(
        f"/courses/{course_id}", json={"title": "T", "lessons": [exam_lesson(), exam_lesson()]}
    )
    assert_refused(twice, 422, "unique", "exam")
    score = await stack.api.put(
        f"/courses/{course_id}",
        json={"title": "T", "lessons": [exam_lesson()], "settings": {"score_lesson_id": "x"}},
    )
    assert_refused(score, 422, "score_lesson_id")

    await put_course(stack.api, course_id, [exam_lesson()])
    integration = await add_integration(stack.api)
    bad_method = await stack.api.put(
        f"/courses/{course_id}/lessons/exam/proctoring", json=proctoring(integration["id"], method="webcam")
    )
    assert_refused(bad_method, 422, "method")
    malformed = await stack.api.put(
        f"/courses/{course_id}/lessons/exam/proctoring",
        content=b"{,}",
        headers={"Content-Type": "application/json"},
    )
    assert_refused(malformed, 422, "JSON")


async def test_turning_proctoring_off_refuses_new_attempts_and_lets_a_running_one_go_on(stack):
    course_id, _ = await proctored_course(stack.api, method="record_only", requires_validation=False)
    learner = unique("learner")
    running = await open_attempt(stack.api, course_id, learner)
    session_id = await vendor_session(stack, running["attempt_id"])

    response = await stack.api.delete(f"/courses/{course_id}/lessons/exam/proctoring")

    assert response.status_code == 204
    assert (await stack.api.get(f"/courses/{course_id}")).json()["lessons"][0]["proctoring"] is None
    refused = await stack.api.post("/attempts/open", json=open_body(course_id, unique("learner")))
    assert_refused(refused, 409, "not proctored")
    reload = await stack.api.post("/attempts/open", json=open_body(course_id, learner))
    assert reload.status_code == 200 and reload.json()["attempt_id"] == running["attempt_id"]
    # The attempt already running carries on to its end.
    await stack.control("start", session_id)
    accepted = await stack.api.post(f"/attempts/{running['attempt_id']}/exam-result", json={"passed": True})
    assert accepted.status_code == 202, accepted.text
    await stack.control("finish", session_id)
    await stack.wait_for_attempt(running["attempt_id"], lambda a: a["status"] == "ready_for_review")
