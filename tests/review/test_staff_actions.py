"""Staff actions in the reviewer UI over real HTTP, on real workflows: an attempt's page offers
only the actions that apply to it now; a failed attempt is reset with a reason and shows as
voided; time is added to a learner's running session, once however often the form is sent, and
ProctorFree's cap is said in words; refusals are shown as the UI shows others."""

from __future__ import annotations

import asyncio
import re
from html import unescape

import httpx
import pytest

from models.statuses import AttemptStatus
from tests.review.world import COURSE, ReviewWorld, csrf_of, once_of
from web.review.attempt_view import actions_for, add_time
from web.review.pages import ATTEMPT_STATUSES

# --- What each status offers (pure) -------------------------------------------------------------

OFFERED = {
    "created": ["reset", "void"],
    "awaiting_setup": ["check_now", "reset", "void"],
    "in_progress": ["check_now", "reset", "void"],
    "finished": ["reset", "void"],
    "awaiting_audit": ["check_now", "reset", "void"],
    "ready_for_review": ["reset", "void"],
    "passed": [],  # a decision is completing it: void it once it has completed
    "failed": [],
    "completed": ["reset", "void"],
    "expired": ["reset", "void"],
    "error": ["resume", "reset", "void"],
    "voided": [],
}


@pytest.mark.parametrize("status", sorted(AttemptStatus))
def test_each_status_offers_the_staff_actions_that_apply_to_it(status):
    assert actions_for(status) == OFFERED[status]
    assert ATTEMPT_STATUSES[status]  # every status has its words on the pages


def test_a_status_this_version_does_not_know_offers_nothing():
    assert actions_for("from_a_newer_worker") == []
    assert add_time("from_a_newer_worker", "full", 60) is None


@pytest.mark.parametrize(
    ("status", "method", "allowed", "most", "why_not"),
    [
        ("awaiting_setup", "full", 60, 150, None),
        ("in_progress", "full", 200, 10, None),
        ("in_progress", "record_only", 30, 180, None),
        ("in_progress", "practice", 15, 5, None),
        ("in_progress", "full", 210, None, "The session already has ProctorFree's cap of 210 minutes"),
        ("in_progress", "full", None, None, "This attempt has no time limit: there is nothing to extend."),
    ],
)
def test_time_can_be_added_while_the_learner_is_in_the_session_up_to_proctorfrees_cap(
    status, method, allowed, most, why_not
):
    offer = add_time(status, method, allowed)
    assert offer is not None and offer.most == most
    assert (offer.why_not or "").startswith(why_not or "")
    assert (offer.why_not is None) == (why_not is None)


@pytest.mark.parametrize("status", sorted(set(AttemptStatus) - {"awaiting_setup", "in_progress"}))
def test_no_time_is_offered_once_the_learner_is_out_of_the_session(status):
    assert add_time(status, "full", 60) is None


# --- The attempt's page --------------------------------------------------------------------------


def forms_on(html: str) -> list[str]:
    return re.findall(r'<form class="action"[^>]*id="([a-z_]+)-form"', html)


async def post_action(
    reviewer: httpx.AsyncClient, attempt_id: str, action: str, reason: str, once: str | None = None
) -> httpx.Response:
    page = (await reviewer.get(f"/review/attempts/{attempt_id}")).text
    token = (
        once
        if once is not None
        else (once_of(page, f"{action}-form") if f'id="{action}-form"' in page else "")
    )
    data = {"csrf_token": csrf_of(page), "action": action, "reason": reason, "once": token}
    return await reviewer.post(f"/review/attempts/{attempt_id}/actions", data=data)


async def extend(
    reviewer: httpx.AsyncClient, attempt_id: str, minutes: str, reason: str, once: str | None = None
) -> httpx.Response:
    page = (await reviewer.get(f"/review/attempts/{attempt_id}")).text
    data = {
        "csrf_token": csrf_of(page),
        "minutes": minutes,
        "reason": reason,
        "once": once if once is not None else once_of(page, "extend-form"),
    }
    return await reviewer.post(f"/review/attempts/{attempt_id}/extend", data=data)


async def test_a_reviewer_resets_a_failed_attempt_with_a_reason_and_it_shows_as_voided(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken, task = await world.ready_task("Hedy Lamarr")
    task_page = await reviewer.get(f"/review/tasks/{task.id}")
    failed = await reviewer.post(
        f"/review/tasks/{task.id}/decision",
        data={"decision": "fail", "reviewed": "yes", "csrf_token": csrf_of(task_page.text)},
    )
    assert failed.status_code == 303
    await world.wait_for_attempt(taken.attempt_id, "completed")

    task_page = await reviewer.get(f"/review/tasks/{task.id}")
    assert f'<a id="attempt-link" href="/review/attempts/{taken.attempt_id}">' in task_page.text
    page = await reviewer.get(f"/review/attempts/{taken.attempt_id}")
    assert page.status_code == 200
    assert '<span class="badge status-completed" id="attempt-status">Completed</span>' in page.text
    assert forms_on(page.text) == ["reset", "void"]
    assert 'id="add-time"' not in page.text  # the learner is long out of the session

    no_reason = await post_action(reviewer, taken.attempt_id, "reset", "   ")
    assert no_reason.status_code == 422
    assert "Give a reason: it is kept in the attempt&#39;s history." in no_reason.text
    assert world.attempt(taken.attempt_id).status == "completed"

    reset = await post_action(reviewer, taken.attempt_id, "reset", "Webcam broke mid-exam; retake agreed")
    assert reset.status_code == 303 and reset.headers["location"] == f"/review/attempts/{taken.attempt_id}"
    after = await reviewer.get(reset.headers["location"])
    assert (
        "Attempt voided: the learner may open the next attempt (retakes allowed for it)." in after.text
    )  # said once
    assert '<span class="badge status-voided" id="attempt-status">Voided</span>' in after.text
    assert "Granted by a reset: the learner may open attempt 2" in after.text
    timeline = unescape(re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', after.text, re.S)[1])
    assert "<strong>Reset by staff</strong>" in timeline
    assert (
        f"by {world.username}: Webcam broke mid-exam; retake agreed; the learner may open the next attempt"
        in (timeline)
    )
    assert forms_on(after.text) == [] and "No staff action applies to a voided attempt." in after.text
    attempt = world.attempt(taken.attempt_id)
    assert (attempt.status, attempt.retake_granted) == ("voided", True)
    assert "Attempt voided" not in (await reviewer.get(reset.headers["location"])).text  # once

    again = await post_action(reviewer, taken.attempt_id, "void", "twice")
    assert again.status_code == 409
    assert (
        '<p class="flash error" role="alert" id="action-error">Not voided: the attempt is voided already.</p>'
        in (again.text)
    )

    progress = await reviewer.get(f"/review/courses/{COURSE}/learners/{taken.learner_id}")
    row = re.search(rf'<tr data-attempt-id="{taken.attempt_id}">(.*?)</tr>', progress.text, re.S)[1]
    assert f'href="/review/attempts/{taken.attempt_id}"' in row and "Voided" in row


async def test_time_is_added_to_a_running_session_once_and_never_past_proctorfrees_cap(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    world.limit_time(60)
    taken = await world.learner_starts("Grace Hopper")
    page = await reviewer.get(f"/review/attempts/{taken.attempt_id}")
    assert forms_on(page.text) == ["check_now", "reset", "void"]
    assert '<dd id="allowed-minutes">60 minutes</dd>' in page.text
    assert "(at most 150 more)" in page.text and 'max="150"' in page.text

    once = once_of(page.text, "extend-form")
    first, second = await asyncio.gather(
        extend(reviewer, taken.attempt_id, "15", "Fire alarm", once),
        extend(reviewer, taken.attempt_id, "15", "Fire alarm", once),
    )
    assert [first.status_code, second.status_code] == [303, 303]
    assert world.attempt(taken.attempt_id).allowed_minutes == 75  # added once, not twice
    after = await reviewer.get(f"/review/attempts/{taken.attempt_id}")
    assert "15 minutes added: the session now ends 75 minutes after its start." in after.text
    assert '<dd id="allowed-minutes">75 minutes</dd>' in after.text
    assert "<strong>Time added</strong>" in after.text
    assert f"15 minutes by {world.username}: Fire alarm; the session now has 75 minutes" in unescape(
        after.text
    )

    over = await extend(reviewer, taken.attempt_id, "200", "Generous")
    assert over.status_code == 409
    assert (
        "No time added: ProctorFree caps full sessions at 210 minutes: "
        "at most 135 more minutes can be added to this one&#39;s 75." in over.text
    )
    assert 'value="200"' in over.text and "Generous</textarea>" in over.text  # kept to correct
    assert world.attempt(taken.attempt_id).allowed_minutes == 75

    for minutes, status in (("0", 422), ("241", 422), ("ten", 422), ("²", 422)):
        refused = await extend(reviewer, taken.attempt_id, minutes, "x")
        assert refused.status_code == status, minutes
        assert "Give the minutes to add as a whole number from 1 to 240." in refused.text

    checked = await post_action(reviewer, taken.attempt_id, "check_now", "Learner says the window froze")
    assert checked.status_code == 303
    assert (
        "ProctorFree is asked now, not at the next poll."
        in (await reviewer.get(checked.headers["location"])).text
    )
    resume = await post_action(reviewer, taken.attempt_id, "resume", "try")
    assert resume.status_code == 409
    assert (
        "Not resumed: the attempt is in_progress, not parked in error: there is nothing to resume."
        in unescape(resume.text)
    )

    await world.stack.control("finish", taken.session_id)
    await world.wait_for_attempt_to_leave(taken.attempt_id, "in_progress")
    late = await extend(reviewer, taken.attempt_id, "5", "late", once="")
    assert late.status_code == 409 and "No time added: the learner is not in the session" in late.text


async def test_an_attempt_without_a_time_limit_says_there_is_nothing_to_extend(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken = await world.learner_starts("Alan Turing")
    page = await reviewer.get(f"/review/attempts/{taken.attempt_id}")
    assert "This attempt has no time limit: there is nothing to extend." in page.text
    assert 'id="extend-form"' not in page.text and 'id="allowed-minutes"' not in page.text


async def test_bad_staff_requests_are_answered_with_a_page_that_says_what_to_fix(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    other = ReviewWorld(world.stack).seed()
    foreign = await other.learner_starts("Someone Else")
    token = csrf_of((await reviewer.get("/review/tasks")).text)
    answers = {
        "an unknown action": await reviewer.post(
            f"/review/attempts/{foreign.attempt_id}/actions",
            data={"action": "explode", "reason": "x", "csrf_token": token},
        ),
        "an unknown attempt": await reviewer.get("/review/attempts/no-such-attempt"),
        "another organisation's attempt": await reviewer.get(f"/review/attempts/{foreign.attempt_id}"),
        "acting on another organisation's attempt": await reviewer.post(
            f"/review/attempts/{foreign.attempt_id}/actions",
            data={"action": "void", "reason": "x", "csrf_token": token},
        ),
        "no security token": await reviewer.post(
            f"/review/attempts/{foreign.attempt_id}/actions", data={"action": "void", "reason": "x"}
        ),
    }
    expected = {
        "an unknown action": (422, "action must be one of reset, void, resume, check_now, not 'explode'"),
        "an unknown attempt": (404, "attempt no-such-attempt does not exist"),
        "another organisation's attempt": (404, f"attempt {foreign.attempt_id} does not exist"),
        "acting on another organisation's attempt": (404, f"attempt {foreign.attempt_id} does not exist"),
        "no security token": (403, "security token is missing or out of date"),
    }
    for case, (status, words) in expected.items():
        reply = answers[case]
        assert (reply.status_code, words in unescape(reply.text)) == (status, True), (
            case,
            reply.text[-2000:],
        )
        assert reply.headers["content-type"].startswith("text/html"), case
    assert other.attempt(foreign.attempt_id).status == "in_progress"  # nothing was voided
