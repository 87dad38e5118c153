"""One running stack per test module of the learner demo, and a plain HTTP client for its pages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="module")
async def stack(dev_server, tmp_path_factory) -> AsyncIterator[Stack]:
    async with running_stack(dev_server.client, tmp_path_factory.mktemp("learn")) as running:
        yield running


@pytest.fixture(scope="module")
async def browser_like(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client that, like a browser without JavaScript, follows nothing by itself."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        yield client
