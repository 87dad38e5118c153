"""One running stack and one demo LMS per test module: each test keeps to its own course ids
(attempt workflow ids derive from them, and every test shares one Temporal dev server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.demo_lms.support import DemoLms, serving_demo_lms
from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="module")
async def stack(dev_server, tmp_path_factory) -> AsyncIterator[Stack]:
    async with running_stack(dev_server.client, tmp_path_factory.mktemp("demo-lms")) as running:
        yield running


@pytest.fixture(scope="module")
async def demo(stack: Stack) -> AsyncIterator[DemoLms]:
    async with serving_demo_lms(stack) as serving:
        yield serving
