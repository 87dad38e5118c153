"""One running stack per test module (the whole system over real HTTP), shared by its tests:
each test keeps to its own course and learner ids, so they never meet.

Every reply the LMS client receives is checked for the integration secrets the tests send:
the API must never hand them back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from store import catalog
from store.db import transaction
from tests.api.helpers import SECRETS
from tests.support.stack import Stack, running_stack


async def no_secret_in_reply(response: httpx.Response) -> None:
    body = (await response.aread()).decode(errors="replace")
    for secret in SECRETS:
        assert secret not in body, f"{response.request.method} {response.request.url} replied with a secret"


@pytest.fixture(scope="module")
async def stack(dev_server, tmp_path_factory) -> AsyncIterator[Stack]:
    async with running_stack(dev_server.client, tmp_path_factory.mktemp("api")) as running:
        running.api.event_hooks["response"].append(no_secret_in_reply)
        yield running


@pytest.fixture
async def anonymous(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API that sends no bearer token (as ProctorFree's webhooks do)."""
    async with httpx.AsyncClient(
        base_url=f"{stack.base_url}/api/v1", timeout=30, event_hooks={"response": [no_secret_in_reply]}
    ) as client:
        yield client


@pytest.fixture
async def other_org(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An LMS client of a second organisation, with a token of its own."""
    org_id, token = f"org-{uuid.uuid4().hex[:8]}", f"other-{uuid.uuid4().hex}"
    with transaction(stack.sessions) as session:
        catalog.ensure_organisation(session, org_id, "Another organisation")
        catalog.grant_token(session, org_id, token, name="test")
    async with httpx.AsyncClient(
        base_url=f"{stack.base_url}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        event_hooks={"response": [no_secret_in_reply]},
    ) as client:
        yield client
