"""The running system the reviewer-UI tests share (one per package), and an organisation of its
own per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.review.world import ReviewWorld, signed_in_client
from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="package")
async def stack(dev_server, tmp_path_factory) -> AsyncIterator[Stack]:
    async with running_stack(dev_server.client, tmp_path_factory.mktemp("review-pages")) as running:
        yield running


@pytest.fixture
def world(stack: Stack) -> ReviewWorld:
    """An organisation of its own per test, with its reviewer, on the shared stack."""
    return ReviewWorld(stack).seed()


@pytest.fixture
async def reviewer(world: ReviewWorld) -> AsyncIterator[httpx.AsyncClient]:
    client = await signed_in_client(world)
    yield client
    await client.aclose()
