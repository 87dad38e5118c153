"""Shared fixtures: real Temporal servers, started once per test session."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.dev_layout import child_environment
from proctorflow.settings import Settings, get_settings
from proctorflow.temporal import register_search_attributes
from tests.support.keys import TEST_CONVERTER
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

BIN = Path(sys.executable).parent


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(BIN))
    if not found:
        raise RuntimeError(f"{name} is not installed: run `make test`, which installs the dev extra")
    return found


@pytest.fixture
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, one per test: it skips time for every workflow
    it holds, so workflows another test left behind must not share it."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"), data_converter=TEST_CONVERTER
    )
    await register_search_attributes(env.client, SEARCH_ATTRIBUTES)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (the same binary `make dev` runs)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=TEST_CONVERTER,
        dev_server_log_level="error",
    )
    await register_search_attributes(env.client, SEARCH_ATTRIBUTES)
    yield env
    await env.shutdown()


async def start_dev_server(port: int | None = None) -> WorkflowEnvironment:
    """A dev server of a test's own, for tests that stop (and start again) Temporal."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=TEST_CONVERTER,
        dev_server_log_level="error",
        port=port,
    )


@pytest.fixture
def ops_environment(monkeypatch) -> Iterator[callable]:
    """Point the CLI's settings (PROCTORFLOW_* variables) at a given system."""

    def point_at(settings: Settings) -> None:
        for name, value in child_environment(settings).items():
            if name.startswith("PROCTORFLOW_"):
                monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield point_at
    get_settings.cache_clear()
