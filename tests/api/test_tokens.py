"""The organisation's LMS API tokens over real HTTP: make one (shown once), list them, delete
one (refused within the token cache time), and what a delete refuses."""

from __future__ import annotations

import asyncio

import httpx

from tests.api.helpers import assert_refused
from tests.support.stack import Stack


def as_lms(stack: Stack, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"{stack.base_url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


async def listed(api: httpx.AsyncClient) -> list[dict]:
    response = await api.get("/tokens")
    assert response.status_code == 200, response.text
    return response.json()


async def make_token(api: httpx.AsyncClient, name: str = "LMS production") -> dict:
    response = await api.post("/tokens", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_new_token_works_at_once_and_is_never_shown_again(stack):
    made = await make_token(stack.api, "  LMS staging  ")
    assert set(made) == {"id", "name", "token"} and made["name"] == "LMS staging"
    assert made["token"].startswith("pf_") and len(made["token"]) >= 40

    async with as_lms(stack, made["token"]) as lms:
        assert (await lms.get("/integrations")).status_code == 200
        mine = [t for t in await listed(lms) if t["id"] == made["id"]]
        body = (await lms.get("/tokens")).text
    assert made["token"] not in body and made["token"][8:] not in body
    assert mine == [
        {
            "id": made["id"],
            "name": "LMS staging",
            "prefix": made["token"][:8],
            "created_at": mine[0]["created_at"],
            "last_used_at": mine[0]["last_used_at"],
            "bootstrap": False,
        }
    ]
    assert any(t["bootstrap"] and t["prefix"] for t in await listed(stack.api)), "PROCTORFLOW_LMS_TOKEN"


async def test_a_deleted_token_is_refused_within_the_token_cache_time(stack):
    made = await make_token(stack.api)
    async with as_lms(stack, made["token"]) as lms:
        assert (await lms.get("/integrations")).status_code == 200  # remembered as valid now
        deleted = await stack.api.delete(f"/tokens/{made['id']}")
        assert deleted.status_code == 204, deleted.text
        await asyncio.sleep(stack.settings.token_cache_seconds)
        assert_refused(await lms.get("/integrations"), 401, "not valid")
    assert made["id"] not in [t["id"] for t in await listed(stack.api)]
    assert_refused(await stack.api.delete(f"/tokens/{made['id']}"), 404, "does not exist")


async def test_a_token_may_delete_itself_but_not_the_organisations_last_one(stack, other_org):
    [theirs] = await listed(other_org)
    refused = assert_refused(await other_org.delete(f"/tokens/{theirs['id']}"), 409, "last token")
    assert "POST /tokens" in refused["message"]
    assert (await other_org.get("/integrations")).status_code == 200, "still valid"

    made = await make_token(other_org, "replacement")
    assert (await other_org.delete(f"/tokens/{theirs['id']}")).status_code == 204
    await asyncio.sleep(stack.settings.token_cache_seconds)
    assert_refused(await other_org.get("/integrations"), 401)
    async with as_lms(stack, made["token"]) as lms:
        assert [t["id"] for t in await listed(lms)] == [made["id"]]


async def test_another_organisations_token_is_not_found(stack, other_org):
    [theirs] = await listed(other_org)
    assert theirs["id"] not in [t["id"] for t in await listed(stack.api)]
    assert_refused(await stack.api.delete(f"/tokens/{theirs['id']}"), 404, "does not exist")
    assert (await other_org.get("/integrations")).status_code == 200


async def test_the_bootstrap_token_is_replaced_by_its_setting_not_deleted(stack):
    await make_token(stack.api, "so that it is not the last")
    [bootstrap] = [t for t in await listed(stack.api) if t["bootstrap"]]
    assert bootstrap["name"] == "PROCTORFLOW_LMS_TOKEN"
    assert_refused(await stack.api.delete(f"/tokens/{bootstrap['id']}"), 409, "PROCTORFLOW_LMS_TOKEN")


async def test_the_last_use_is_noted_once_not_on_every_call(stack):
    made = await make_token(stack.api)
    async with as_lms(stack, made["token"]) as lms:
        assert (await lms.get("/integrations")).status_code == 200
        first = None
        for _ in range(50):
            [mine] = [t for t in await listed(lms) if t["id"] == made["id"]]
            if (first := mine["last_used_at"]) is not None:
                break
            await asyncio.sleep(0.1)
        assert first is not None, "noted shortly after the first call"
        for _ in range(5):
            assert (await lms.get("/integrations")).status_code == 200
        await asyncio.sleep(max(stack.settings.token_cache_seconds, 0.5))
        [mine] = [t for t in await listed(lms) if t["id"] == made["id"]]
    assert mine["last_used_at"] == first, "not written again within the minute"


async def test_a_token_without_a_name_is_refused_saying_what_to_send(stack):
    for body in ({}, {"name": "   "}, {"name": "x" * 201}, {"name": "LMS", "token": "my-own"}):
        assert_refused(
            await stack.api.post("/tokens", json=body), 422, "name" if "token" not in body else "token"
        )
