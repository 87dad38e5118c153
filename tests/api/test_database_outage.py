"""What the API answers when the database does not: a 503 with Retry-After that says nothing
was changed, never a 500 with the statement in it; the same call succeeds once it is back."""

from __future__ import annotations

import httpx
import pytest

from store import db
from tests.support.database import DatabaseOutage, fresh_database_url
from tests.support.keys import TEST_PAYLOAD_KEYS
from tests.support.servers import serve_in_thread
from tests.support.settings import loopback_settings
from web.app import create_app

COURSE = {"title": "Outage", "lessons": [{"id": "l1", "title": "One", "type": "quiz", "required": True}]}


@pytest.fixture
def settings(dev_server, tmp_path, monkeypatch):
    monkeypatch.setattr(db, "LOCK_WAIT_MS", 300)  # wait out a lock for 0.3 s, not 10 s
    return loopback_settings(
        fresh_database_url(tmp_path),
        dev_server.client.service_client.config.target_host,
        "outage",
        TEST_PAYLOAD_KEYS,
    )


async def test_a_write_the_database_cannot_take_is_a_503_that_says_nothing_changed(settings):
    headers = {"Authorization": f"Bearer {settings.lms_token}"}
    with serve_in_thread(create_app(settings), settings.http_port) as base_url:
        async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", headers=headers) as api:
            with DatabaseOutage(settings.database_url).locked():
                refused = await api.put("/courses/c-outage", json=COURSE)
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "5"
            error = refused.json()["error"]
            assert error["code"] == "unavailable" and "nothing was changed" in error["message"]
            assert "INSERT" not in refused.text and "UPDATE" not in refused.text

            accepted = await api.put("/courses/c-outage", json=COURSE)
            assert accepted.status_code == 200, accepted.text
