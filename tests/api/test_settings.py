"""The organisation's settings (`GET`/`PUT /api/v1/settings`): the defaults, a round trip, each
bad field refused with what to fix and nothing saved, each organisation's settings its own, and
a change audited by the names of the fields it changed (never the addresses or the wording)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.api.helpers import assert_refused
from tests.api.organisations import Org, assert_nothing_of, audit_log, of_action, organisation

DEFAULTS = {
    "review_sla_hours": None,
    "claim_timeout_minutes": 60,
    "second_review_for_flagged": False,
    "escalation_email": None,
    "notifications": {
        "learner_submitted": False,
        "learner_decided": False,
        "reviewer_digest": False,
        "digest_recipients": [],
    },
    "sender_name": "ProctorFlow",
    "locale": "en",
    "templates": {},
    "retention_days": None,
}
ESCALATION = "head.of.exams@widgets.example"
DIGEST = "reviewers@widgets.example"
SUBJECT = "Your proctored exam: {lesson_title}"
WORDING = "Dear learner, your attempt at {lesson_title} was reviewed."
CHOSEN = {
    "review_sla_hours": 48,
    "claim_timeout_minutes": 30,
    "second_review_for_flagged": True,
    "escalation_email": ESCALATION,
    "notifications": {
        "learner_submitted": True,
        "learner_decided": True,
        "reviewer_digest": True,
        "digest_recipients": [DIGEST],
    },
    "sender_name": "Widgets Academy",
    "locale": "fr",
    "templates": {"learner_decided": {"subject": SUBJECT, "body": WORDING}},
    "retention_days": 365,
}


@pytest.fixture
async def org(stack) -> AsyncIterator[Org]:
    async with organisation(stack) as mine:
        yield mine


async def settings_of(org: Org) -> dict:
    reply = await org.api.get("/settings")
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_an_organisation_starts_with_the_defaults(org: Org):
    found = await settings_of(org)
    assert found.pop("updated_at") is None
    assert found == DEFAULTS


async def test_settings_put_are_answered_and_read_back(org: Org):
    reply = await org.api.put("/settings", json=CHOSEN)
    assert reply.status_code == 200, reply.text
    answered = reply.json()
    assert answered.pop("updated_at") is not None
    assert answered == CHOSEN
    read = await settings_of(org)
    read.pop("updated_at")
    assert read == CHOSEN

    # A PUT replaces them whole: what it leaves out goes back to its default.
    reply = await org.api.put("/settings", json={"locale": "de"})
    assert reply.status_code == 200, reply.text
    assert {name: value for name, value in reply.json().items() if name != "updated_at"} == DEFAULTS | {
        "locale": "de"
    }


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"escalation_email": "head of exams"}, ["escalation_email", "email"]),
        ({"review_sla_hours": 0}, ["review_sla_hours", "greater than or equal to 1"]),
        ({"review_sla_hours": 721}, ["review_sla_hours", "less than or equal to 720"]),
        ({"claim_timeout_minutes": 4}, ["claim_timeout_minutes", "greater than or equal to 5"]),
        ({"second_review_for_flagged": "perhaps"}, ["second_review_for_flagged", "boolean"]),
        ({"notifications": {"digest_recipients": ["reviewers"]}}, ["digest_recipients", "email"]),
        ({"notifications": {"sms": True}}, ["notifications.sms", "extra"]),
        ({"sender_name": ""}, ["sender_name", "at least 1 character"]),
        ({"locale": "xx"}, ["locale", "'en'"]),
        (
            {"templates": {"birthday": {"subject": "s", "body": "b"}}},
            ["templates.birthday", "learner_decided"],
        ),
        ({"templates": {"escalation": {"subject": "", "body": "b"}}}, ["templates.escalation.subject"]),
        ({"retention_days": 0}, ["retention_days", "greater than or equal to 1"]),
        ({"colour": "blue"}, ["colour", "extra"]),
    ],
    ids=[
        "email",
        "sla-0",
        "sla-721",
        "claim-timeout",
        "second-review",
        "digest-recipient",
        "unknown-notice",
        "sender-name",
        "locale",
        "template-kind",
        "template-subject",
        "retention",
        "unknown-field",
    ],
)
async def test_each_bad_field_is_refused_with_what_to_fix_and_nothing_is_saved(org: Org, body, words):
    reply = await org.api.put("/settings", json=body)
    assert_refused(reply, 422, *words)
    assert (await settings_of(org))["updated_at"] is None
    assert await audit_log(org.api) == []


async def test_an_organisation_never_sees_or_changes_another_ones_settings(org: Org, other_org):
    mine = await org.api.put("/settings", json=CHOSEN)
    assert mine.status_code == 200, mine.text

    theirs = (await other_org.get("/settings")).json()
    assert theirs.pop("updated_at") is None and theirs == DEFAULTS
    changed = await other_org.put("/settings", json={"review_sla_hours": 2, "locale": "es"})
    assert changed.status_code == 200, changed.text

    assert await settings_of(org) == mine.json()
    assert of_action(await audit_log(other_org), "settings.changed")[0]["detail"]["fields"] == [
        "review_sla_hours",
        "locale",
    ]
    assert len(of_action(await audit_log(org.api), "settings.changed")) == 1


async def test_a_change_is_audited_by_the_names_of_its_fields_never_their_values(org: Org):
    assert (await org.api.put("/settings", json=CHOSEN)).status_code == 200
    again = await org.api.put("/settings", json=CHOSEN)  # the same again: nothing changed
    assert again.status_code == 200
    changed = CHOSEN | {"escalation_email": "deputy@widgets.example", "locale": "en"}
    assert (await org.api.put("/settings", json=changed)).status_code == 200

    entries = await audit_log(org.api)
    first, second = of_action(entries, "settings.changed")
    assert len(entries) == 2
    for entry in (first, second):
        assert (entry["actor"], entry["actor_kind"], entry["target"]) == (org.token_name, "token", "settings")
        assert entry["source"] == "127.0.0.1"
        assert entry["detail"]["via_token"]["name"] == org.token_name
    assert first["detail"]["fields"] == [
        "review_sla_hours",
        "claim_timeout_minutes",
        "second_review_for_flagged",
        "escalation_email",
        "notifications.digest_recipients",
        "notifications.learner_decided",
        "notifications.learner_submitted",
        "notifications.reviewer_digest",
        "sender_name",
        "locale",
        "templates.learner_decided",
        "retention_days",
    ]
    assert second["detail"]["fields"] == ["escalation_email", "locale"]
    assert_nothing_of(entries, ESCALATION, DIGEST, "deputy@widgets.example", SUBJECT, WORDING, org.token)
