"""The web app's probes: `/livez` answers while the process does; `/healthz` is ready only
while the database answers with this build's schema and Temporal answers. On a real dev server
that is stopped mid-test, and on a database one migration behind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from proctorflow.errors import Refused
from store.db import make_engine
from store.health import require_schema
from store.migrate import alembic_config, upgrade
from tests.conftest import start_dev_server
from tests.support.database import fresh_database_url
from tests.support.keys import TEST_PAYLOAD_KEYS
from tests.support.probes import answer_until
from tests.support.servers import serve_in_thread
from tests.support.settings import loopback_settings
from web.app import create_app
from web.health import REUSE_SECONDS


async def test_healthz_reports_temporal_down_while_the_dev_server_is_stopped_and_livez_stays_up(
    tmp_path: Path,
):
    temporal = await start_dev_server()
    address = temporal.client.service_client.config.target_host
    settings = loopback_settings(fresh_database_url(tmp_path), address, "health", TEST_PAYLOAD_KEYS)
    with serve_in_thread(create_app(settings), settings.http_port) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            ready = await http.get("/healthz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "ok"
            assert ready.json()["checks"]["temporal"] == {"ok": True, "detail": "answers"}
            assert ready.json()["checks"]["database"]["ok"] is True

            await temporal.shutdown()
            down = await answer_until(http, "/healthz", 503)
            assert down.status_code == 503, down.text
            checks = down.json()["checks"]
            assert down.json()["status"] == "unavailable"
            assert checks["temporal"]["ok"] is False
            assert checks["temporal"]["detail"].startswith("Temporal did not answer")
            assert checks["database"]["ok"] is True  # it says which part failed
            assert address.split(":")[1] not in down.text  # anyone may probe: no addresses
            assert (await http.get("/livez")).status_code == 200  # alive: no restart for Temporal's outage

            temporal = await start_dev_server(port=int(address.split(":")[1]))
            back = await answer_until(http, "/healthz", 200)
            assert back.status_code == 200, back.text
    await temporal.shutdown()


async def test_healthz_is_not_ready_while_the_schema_is_not_this_builds(dev_server, tmp_path: Path):
    """A database rolled back (or a build newer than its migration) is found by the probe, not
    by the first request that fails."""
    url = fresh_database_url(tmp_path)
    script = ScriptDirectory.from_config(alembic_config(url))
    (head,) = script.get_heads()
    previous = script.get_revision(head).down_revision
    address = dev_server.client.service_client.config.target_host
    settings = loopback_settings(url, address, "health-schema", TEST_PAYLOAD_KEYS)
    engine = make_engine(url)
    with serve_in_thread(create_app(settings), settings.http_port) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            assert (await http.get("/healthz")).status_code == 200
            set_revision(engine, previous)
            await asyncio.sleep(REUSE_SECONDS)

            behind = await http.get("/healthz")
            assert behind.status_code == 503
            database = behind.json()["checks"]["database"]
            assert database["ok"] is False
            assert database["detail"] == (
                f"the schema is at {previous}, this version needs {head}: run `proctorflow migrate`"
            )
            assert behind.json()["checks"]["temporal"]["ok"] is True

            set_revision(engine, head)
            await asyncio.sleep(REUSE_SECONDS)
            assert (await http.get("/healthz")).status_code == 200

            # A newer release migrated it (a revision this build does not know): this build keeps
            # running on it, so a rollout's old pods stay ready while the new ones start.
            set_revision(engine, "f00dfeedbeef")
            await asyncio.sleep(REUSE_SECONDS)
            ahead = await http.get("/healthz")
            assert ahead.status_code == 200, ahead.text
            assert (
                ahead.json()["checks"]["database"]["detail"]
                == "answers; schema at f00dfeedbeef, a newer release's"
            )
    engine.dispose()


def set_revision(engine, revision: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision})


def test_the_web_app_and_the_worker_refuse_to_start_on_a_schema_behind_this_build(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    script = ScriptDirectory.from_config(alembic_config(url))
    (head,) = script.get_heads()
    previous = script.get_revision(head).down_revision
    upgrade(url, previous)
    engine = make_engine(url)

    with pytest.raises(Refused) as refused:
        require_schema(engine, url)
    assert refused.value.message == (
        f"refusing to start: the schema is at {previous}, "
        f"this version needs {head}: run `proctorflow migrate`"
    )
    upgrade(url)
    require_schema(engine, url)  # at head: starts
    set_revision(engine, "f00dfeedbeef")
    require_schema(engine, url)  # a newer release's schema: starts too (its migrations only add)
    engine.dispose()
