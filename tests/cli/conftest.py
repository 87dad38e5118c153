"""The CLI's tests: a fresh working folder and database, set as an operator sets them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from proctorflow.settings import get_settings

TOKEN = "cli-test-token"


@pytest.fixture
def database(tmp_path: Path, monkeypatch) -> Iterator[str]:
    """A fresh folder as the working directory and a SQLite database in it, set the way an
    operator sets them: through PROCTORFLOW_* variables."""
    for name in [name for name in os.environ if name.startswith("PROCTORFLOW_")]:
        monkeypatch.delenv(name)
    url = f"sqlite:///{tmp_path / 'proctorflow.db'}"
    monkeypatch.setenv("PROCTORFLOW_DATABASE_URL", url)
    monkeypatch.setenv("PROCTORFLOW_LMS_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
