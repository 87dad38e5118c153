"""The audit log in the reviewer UI over real HTTP: reviewers' sign-ins (and wrong passwords)
are in it, as is an upload of accommodations as one entry beside each row's own; the page lists
the organisation's entries only, newest first, a page at a time, filtered by action."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape

import httpx
import pytest
from sqlmodel import select

from models.tables import AuditEntry
from store import audit
from store.db import transaction
from tests.review.world import COURSE, PASSWORD, ReviewWorld, csrf_of, once_of

PAGE = "/review/audit-log"
WRONG = "not-the-password-42"


def rows(html: str) -> list[tuple[str, str]]:
    """(entry id, action) of each row, in the page's order."""
    return re.findall(r'<tr data-entry-id="(\d+)" data-action="([^"]+)">', html)


def row_text(html: str, entry_id: str) -> str:
    found = re.search(rf'<tr data-entry-id="{entry_id}".*?</tr>', html, re.S)
    assert found, f"no row for entry {entry_id}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found[0])).split())


def entries_of(world: ReviewWorld, actor: str | None = None) -> list[AuditEntry]:
    with world.stack.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.org_id == world.org)
        if actor is not None:
            query = select(AuditEntry).where(AuditEntry.actor == actor)  # in any organisation
        return list(session.exec(query.order_by(AuditEntry.id)))  # type: ignore[arg-type]


# A loopback address of this module's own: the entries name it, and these sign-ins do not spend
# the per-address limit the package's other tests share on 127.0.0.1.
ADDRESS = "127.0.0.31"


def browser(world: ReviewWorld) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=ADDRESS)
    return httpx.AsyncClient(base_url=world.base_url, transport=transport, timeout=60)


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> int:
    login = await client.get("/review/login")
    data = {"username": username, "password": password, "csrf_token": csrf_of(login.text)}
    return (await client.post("/review/login", data=data)).status_code


@pytest.fixture
async def reviewer(world: ReviewWorld) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(world) as client:
        assert await sign_in(client, world.username) == 303
        yield client


async def test_sign_ins_and_wrong_passwords_are_in_the_log_but_never_the_password(world: ReviewWorld):
    stranger = f"nobody-{world.org}"
    async with browser(world) as client:
        assert await sign_in(client, world.username, WRONG) == 401
        assert await sign_in(client, stranger, WRONG) == 401
        assert await sign_in(client, world.username) == 303
        page = await client.get(PAGE)

    assert page.status_code == 200, page.text
    assert '<a href="/review/audit-log">Audit log</a>' in page.text  # in the header of every page
    shown = rows(page.text)
    assert [action for _, action in shown] == ["reviewer.login", "reviewer.login_failed"]  # newest first
    login, failed = (row_text(page.text, entry_id) for entry_id, _ in shown)
    for text in (login, failed):
        assert world.username in text and "Reviewer" in text and ADDRESS in text
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    assert "wrong password" in failed
    assert WRONG not in page.text and PASSWORD not in page.text
    # A name no account has belongs to no organisation: it is kept nowhere.
    assert entries_of(world, actor=stranger) == []
    kept = entries_of(world)
    assert [(e.action, e.actor, e.actor_kind, e.source) for e in kept] == [
        ("reviewer.login_failed", world.username, "reviewer", ADDRESS),
        ("reviewer.login", world.username, "reviewer", ADDRESS),
    ]


async def test_an_upload_is_one_entry_with_its_counts_beside_each_rows_own(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    accommodations = f"/review/courses/{COURSE}/accommodations"
    form = (await reviewer.get(accommodations)).text
    content = (
        "learner_id,extra_minutes,time_multiplier,lesson_ids,expires_at,note\n"
        "ada,30,,,,Dyslexia: reader allowed\n"
        "alan,,9,,,\n"  # refused: a multiplier of 9
        "grace,15,,,,\n"
    )
    data = {
        "csrf_token": csrf_of(form),
        "reason": "Letters from the office",
        "once": once_of(form, "upload-form"),
    }
    reply = await reviewer.post(
        f"{accommodations}/upload", data=data, files={"file": ("term.csv", content.encode(), "text/csv")}
    )
    assert reply.status_code == 200, reply.text

    changes = [e for e in entries_of(world) if e.action != "reviewer.login"]
    assert [e.action for e in changes] == [
        "accommodation.set",
        "accommodation.set",
        "accommodations.uploaded",
    ]
    uploaded = changes[-1]
    assert uploaded.detail == {"applied": 2, "refused": 1}
    assert uploaded.target == f"courses/{COURSE}/accommodations"
    for entry in changes:
        assert (entry.actor, entry.actor_kind, entry.source) == (world.username, "reviewer", ADDRESS)
    assert [e.target for e in changes[:2]] == [
        f"courses/{COURSE}/learners/ada/accommodation",
        f"courses/{COURSE}/learners/grace/accommodation",
    ]

    page = (await reviewer.get(PAGE, params={"action": "accommodations."})).text
    assert [action for _, action in rows(page)] == ["accommodations.uploaded"]
    text = row_text(page, str(uploaded.id))
    assert "applied 2" in text and "refused 1" in text
    everything = (await reviewer.get(PAGE)).text
    assert (
        "Dyslexia" not in everything
        and "Letters from the office" not in everything
        and "term.csv" not in everything
    )


async def test_the_page_shows_the_organisations_entries_newest_first_in_pages(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    with transaction(world.stack.sessions) as session:
        for number in range(55):
            audit.record(session, world.org, "LMS production", "token", "integration.renamed", f"i-{number}")
        for number in range(3):
            audit.record(session, world.org, "LMS production", "token", "token.created", f"t-{number}")
        audit.record(session, "another-org", "them", "token", "token.created", "theirs")

    first = await reviewer.get(PAGE)
    shown = rows(first.text)
    assert len(shown) == 50
    ids = [int(entry_id) for entry_id, _ in shown]
    assert ids == sorted(ids, reverse=True)
    assert [action for _, action in shown[:3]] == ["token.created"] * 3
    older = re.search(r'<a href="([^"]+)" rel="next">Older entries', first.text)
    assert older, "no link to the older entries"

    second = await reviewer.get(unescape(older[1]))
    rest = rows(second.text)
    assert [action for _, action in rest] == ["integration.renamed"] * 8 + ["reviewer.login"]
    assert int(rest[0][0]) < ids[-1]
    assert 'rel="next"' not in second.text and "Newest entries" in second.text

    tokens = await reviewer.get(PAGE, params={"action": "token."})
    assert [action for _, action in rows(tokens.text)] == ["token.created"] * 3
    assert "theirs" not in tokens.text
    assert '<option value="token." selected>token: all</option>' in tokens.text
    nothing = await reviewer.get(PAGE, params={"action": "settings."})
    assert rows(nothing.text) == [] and "No entries for this action" in nothing.text


async def test_a_bad_cursor_is_a_page_that_says_so(reviewer: httpx.AsyncClient):
    reply = await reviewer.get(PAGE, params={"before": "yesterday"})
    assert reply.status_code == 422
    assert "before" in reply.text


async def test_an_anonymous_visit_is_sent_to_sign_in(world: ReviewWorld):
    async with httpx.AsyncClient(base_url=world.base_url) as anonymous:
        reply = await anonymous.get(PAGE)
    assert reply.status_code == 303 and reply.headers["location"].startswith("/review/login")
