"""The organisation's audit log (`GET /api/v1/audit-log`): each change to its data once, as
whoever made it (the LMS token's name, or the `changed_by` the call gives) from the client's
address, with ids, field names and counts only (never a secret, a token, an e-mail address, a
note or a reason); read in pages after a cursor; and only ever the caller's own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from models.tables import AuditEntry
from store import audit
from store.db import transaction
from tests.api.helpers import (
    API_KEY,
    API_SECRET,
    ROTATED_SECRET,
    add_integration,
    assert_refused,
    proctored_course,
    put_course,
    unique,
)
from tests.api.organisations import Org, assert_nothing_of, audit_log, of_action, organisation

BY = "Dean Smith"
NOTE = "Dyslexia: a screen reader is allowed"
REASON = "Letter from the disability office"


@pytest.fixture
async def org(stack) -> AsyncIterator[Org]:
    async with organisation(stack) as mine:
        yield mine


def the(entries: list[dict], action: str) -> dict:
    """The one entry of this action."""
    found = of_action(entries, action)
    assert len(found) == 1, (action, found)
    return found[0]


def by_token(org: Org, entry: dict) -> None:
    assert (entry["actor"], entry["actor_kind"], entry["source"]) == (org.token_name, "token", "127.0.0.1")
    assert entry["detail"]["via_token"]["name"] == org.token_name


async def test_integration_changes_are_audited_once_each_without_credentials(org: Org):
    created = await add_integration(org.api, name="Widgets ProctorFree")
    iid = created["id"]
    renamed = await org.api.patch(f"/integrations/{iid}", json={"name": "Widgets PF", "is_active": False})
    assert renamed.status_code == 200, renamed.text
    rotated = await org.api.patch(f"/integrations/{iid}", json={"api_secret": ROTATED_SECRET})
    assert rotated.status_code == 200, rotated.text
    active = await org.api.patch(f"/integrations/{iid}", json={"is_active": True, "name": "Widgets PF"})
    assert active.status_code == 200, active.text

    entries = await audit_log(org.api)
    assert [entry["action"] for entry in entries] == [
        "integration.added",
        "integration.renamed",
        "integration.deactivated",
        "integration.credentials_rotated",
        "integration.activated",
    ]
    for entry in entries:
        by_token(org, entry)
        assert entry["target"] == f"integrations/{iid}"
    assert the(entries, "integration.added")["detail"]["name"] == "Widgets ProctorFree"
    assert {k: v for k, v in the(entries, "integration.renamed")["detail"].items() if k != "via_token"} == {
        "from": "Widgets ProctorFree",
        "to": "Widgets PF",
    }
    assert the(entries, "integration.credentials_rotated")["detail"]["rotated"] == ["api_secret"]
    assert_nothing_of(entries, API_KEY, API_SECRET, ROTATED_SECRET, org.token)


async def test_a_refused_change_leaves_no_entry(org: Org):
    created = await add_integration(org.api)
    refused = await org.api.patch(f"/integrations/{created['id']}", json={"name": ""})
    assert_refused(refused, 422, "name")
    last = await org.api.delete("/tokens/no-such-token")
    assert_refused(last, 404, "no-such-token")
    assert [entry["action"] for entry in await audit_log(org.api)] == ["integration.added"]


async def test_tokens_made_and_revoked_are_audited_by_name_never_the_token(org: Org):
    made = await org.api.post("/tokens", json={"name": "Nightly sync"})
    assert made.status_code == 201, made.text
    new = made.json()
    mine = next(t for t in (await org.api.get("/tokens")).json() if t["name"] == org.token_name)
    # The caller revokes its own token: the entry still names it.
    assert (await org.api.delete(f"/tokens/{mine['id']}")).status_code == 204

    headers = {"Authorization": f"Bearer {new['token']}"}
    async with httpx.AsyncClient(base_url=org.api.base_url, headers=headers, timeout=30) as nightly:
        entries = await audit_log(nightly)
    created, revoked = the(entries, "token.created"), the(entries, "token.revoked")
    by_token(org, created)
    by_token(org, revoked)
    assert (created["target"], created["detail"]["name"]) == (f"tokens/{new['id']}", "Nightly sync")
    assert (revoked["target"], revoked["detail"]["name"]) == (f"tokens/{mine['id']}", org.token_name)
    assert revoked["detail"]["via_token"]["id"] == mine["id"]
    assert_nothing_of(entries, org.token, new["token"])


async def test_accommodations_set_and_removed_are_audited_as_changed_by_without_note_or_reason(org: Org):
    course_id, _ = await proctored_course(org.api)
    learner = unique("learner")
    url = f"/courses/{course_id}/learners/{learner}/accommodation"
    body = {"extra_minutes": 30, "note": NOTE, "reason": REASON, "changed_by": BY}
    assert (await org.api.put(url, json=body)).status_code == 200
    assert (await org.api.put(url, json=body | {"extra_minutes": 45})).status_code == 200
    removed = await org.api.delete(url, params={"reason": REASON})  # changed_by: its default
    assert removed.status_code == 204, removed.text

    entries = await audit_log(org.api)
    first, second = of_action(entries, "accommodation.set")
    gone = the(entries, "accommodation.removed")
    assert len(entries) == 4  # with the integration the course needed
    for entry in (first, second, gone):
        assert entry["target"] == f"courses/{course_id}/learners/{learner}/accommodation"
        assert (entry["actor_kind"], entry["source"]) == ("token", "127.0.0.1")
        assert entry["detail"]["via_token"]["name"] == org.token_name
    assert (first["actor"], second["actor"], gone["actor"]) == (BY, BY, "the LMS")
    assert first["detail"]["fields"] == ["extra_minutes", "note"]  # the terms given
    assert second["detail"]["fields"] == ["extra_minutes"]
    assert gone["detail"]["fields"] == ["extra_minutes", "note"]
    assert_nothing_of(entries, NOTE, REASON)


async def test_overrides_and_result_changes_are_audited_once_each(org: Org):
    intro = {"id": "intro", "title": "Welcome video", "type": "video", "required": True}
    course_id, integration_id = await proctored_course(org.api)
    await put_course(
        org.api, course_id, [intro, {"id": "exam", "title": "Final exam", "type": "quiz", "required": True}]
    )
    learner = unique("learner")
    base = f"/courses/{course_id}/learners/{learner}"
    watched = await org.api.put(f"{base}/lessons/intro/completion", json={"completed": True})
    assert watched.status_code == 200, watched.text
    why = {"reason": REASON, "changed_by": BY}
    completed = await org.api.patch(f"{base}/lessons/exam", json={"completed": True, "score": 70} | why)
    assert completed.status_code == 200, completed.text
    changed = await org.api.patch(f"{base}/lessons/exam", json={"proctoring_result": "failed"} | why)
    assert changed.status_code == 200, changed.text
    course = await org.api.patch(f"{base}/completion", json={"completed": True} | why)
    assert course.status_code == 200, course.text

    entries = await audit_log(org.api)
    lesson_entry, course_entry = of_action(entries, "progress.overridden")
    result = the(entries, "result.changed")
    assert lesson_entry["target"] == result["target"] == f"{base[1:]}/lessons/exam"
    assert course_entry["target"] == base[1:]
    assert lesson_entry["detail"]["fields"] == ["completed", "completed_at", "success", "score"]
    assert course_entry["detail"]["fields"] == ["completed", "completed_at", "success"]
    assert {k: result["detail"][k] for k in ("lesson_id", "previous", "new")} == {
        "lesson_id": "exam",
        "previous": None,
        "new": "failed",
    }
    for entry in (lesson_entry, course_entry, result):
        assert (entry["actor"], entry["actor_kind"], entry["source"]) == (BY, "token", "127.0.0.1")
    assert_nothing_of(entries, REASON)


async def test_the_log_is_read_in_pages_after_a_cursor(org: Org):
    for number in range(5):
        made = await org.api.post("/tokens", json={"name": f"token {number}"})
        assert made.status_code == 201, made.text

    first = (await org.api.get("/audit-log", params={"limit": 2})).json()
    assert [entry["detail"]["name"] for entry in first["entries"]] == ["token 0", "token 1"]
    assert first["next_cursor"] == first["entries"][-1]["id"]
    second = (await org.api.get("/audit-log", params={"limit": 2, "after": first["next_cursor"]})).json()
    assert [entry["detail"]["name"] for entry in second["entries"]] == ["token 2", "token 3"]
    third = (await org.api.get("/audit-log", params={"limit": 2, "after": second["next_cursor"]})).json()
    assert [entry["detail"]["name"] for entry in third["entries"]] == ["token 4"]
    end = (await org.api.get("/audit-log", params={"after": third["next_cursor"]})).json()
    assert end == {"entries": [], "next_cursor": third["next_cursor"]}  # poll again from here

    everything = (await org.api.get("/audit-log")).json()
    assert len(everything["entries"]) == 5  # default limit 100
    ids = [entry["id"] for entry in everything["entries"]]
    assert ids == sorted(ids)
    assert set(everything["entries"][0]) == {
        "id",
        "at",
        "actor",
        "actor_kind",
        "action",
        "target",
        "source",
        "detail",
    }


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"limit": 0}, ["limit", "greater than or equal to 1"]),
        ({"limit": 501}, ["limit", "less than or equal to 500"]),
        ({"after": -1}, ["after", "greater than or equal to 0"]),
        ({"after": "last"}, ["after", "integer"]),
        ({"after": "9" * 30}, ["after", "less than or equal to"]),
    ],
    ids=["limit-0", "limit-501", "after-negative", "after-word", "after-huge"],
)
async def test_a_bad_cursor_or_limit_is_refused_with_words(org: Org, params, words):
    assert_refused(await org.api.get("/audit-log", params=params), 422, *words)


async def test_an_organisation_sees_its_own_entries_only(org: Org, stack, other_org):
    await add_integration(other_org)
    with transaction(stack.sessions) as session:  # the decisions' engineers record this way
        audit.record(session, "someone-else", "rita", "reviewer", "review_task.claimed", "task-1", "10.0.0.9")
    mine = await add_integration(org.api)

    entries = await audit_log(org.api)
    assert [(entry["action"], entry["target"]) for entry in entries] == [
        ("integration.added", f"integrations/{mine['id']}")
    ]
    theirs = await audit_log(other_org)
    assert [entry["action"] for entry in theirs] == ["integration.added"]
    assert theirs[0]["id"] != entries[0]["id"]
    # Their cursor in my log shows mine after it, never theirs.
    after_theirs = (await org.api.get("/audit-log", params={"after": 0})).json()["entries"]
    assert [entry["id"] for entry in after_theirs] == [entries[0]["id"]]
    with stack.sessions() as session:
        assert session.get(AuditEntry, entries[0]["id"]).org_id == org.id
