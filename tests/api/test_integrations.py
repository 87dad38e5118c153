"""POST/GET/PATCH /integrations: "Add Integration" with the API credentials ProctorFree issued."""

from __future__ import annotations

from tests.api.helpers import API_KEY, API_SECRET, ROTATED_SECRET, add_integration, assert_refused


async def test_adding_an_integration_verifies_the_credentials_and_never_returns_them(stack):
    before = (await stack.emulator.get("/emulator/stats")).json()["api_calls"].get("GET /api/v1/account", 0)

    created = await add_integration(stack.api, name="MyCompany ProctorFree")

    after = (await stack.emulator.get("/emulator/stats")).json()["api_calls"]["GET /api/v1/account"]
    assert after == before + 1  # asked ProctorFree before storing
    assert created["name"] == "MyCompany ProctorFree"
    assert set(created) == {"id", "name", "is_active", "created_at", "updated_at"}
    listed = (await stack.api.get("/integrations")).json()["items"]
    assert created["id"] in [i["id"] for i in listed]
    assert all("api_key" not in i and "api_secret" not in i for i in listed)
    assert API_KEY not in str(listed)


async def test_an_integration_is_active_by_default_and_may_be_saved_inactive(stack):
    assert (await add_integration(stack.api))["is_active"] is True
    assert (await add_integration(stack.api, is_active=False))["is_active"] is False


async def test_credentials_proctorfree_refuses_are_not_saved(stack):
    count = len((await stack.api.get("/integrations")).json()["items"])

    response = await stack.api.post(
        "/integrations", json={"name": "Typo", "api_key": "invalid-key", "api_secret": API_SECRET}
    )

    error = assert_refused(response, 422, "ProctorFree refused", "nothing was saved")
    assert error["code"] == "credentials_rejected"
    assert len((await stack.api.get("/integrations")).json()["items"]) == count


async def test_a_proctorfree_outage_while_verifying_answers_503_and_saves_nothing(stack):
    count = len((await stack.api.get("/integrations")).json()["items"])
    await stack.emulator.put("/emulator/faults", json={"fail_next": 1, "fault": "5xx"})

    response = await stack.api.post(
        "/integrations", json={"name": "Outage", "api_key": API_KEY, "api_secret": API_SECRET}
    )

    assert_refused(response, 503, "could not verify", "try again")
    assert len((await stack.api.get("/integrations")).json()["items"]) == count


async def test_an_integration_is_renamed_and_deactivated(stack):
    created = await add_integration(stack.api)

    response = await stack.api.patch(
        f"/integrations/{created['id']}", json={"name": "Renamed ProctorFree", "is_active": False}
    )

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Renamed ProctorFree"
    assert response.json()["is_active"] is False
    assert (await stack.api.get(f"/integrations/{created['id']}")).json()["is_active"] is False


async def test_rotated_credentials_are_verified_before_they_replace_the_old_ones(stack):
    created = await add_integration(stack.api)

    refused = await stack.api.patch(f"/integrations/{created['id']}", json={"api_key": "revoked-key"})
    assert_refused(refused, 422, "ProctorFree refused")

    rotated = await stack.api.patch(
        f"/integrations/{created['id']}", json={"api_key": "pf-key-2", "api_secret": ROTATED_SECRET}
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["updated_at"] > created["updated_at"]


async def test_an_integration_body_with_missing_or_unknown_fields_is_refused(stack):
    assert_refused(
        await stack.api.post("/integrations", json={"name": "No keys"}), 422, "api_key", "api_secret"
    )
    assert_refused(
        await stack.api.post(
            "/integrations", json={"name": "x", "api_key": "k", "api_secret": "s", "colour": "red"}
        ),
        422,
        "colour",
    )
    # The refusal names the field, never echoes the secret (every reply is checked for it).
    assert_refused(
        await stack.api.post(
            "/integrations", json={"name": "", "api_key": API_KEY, "api_secret": API_SECRET}
        ),
        422,
        "name",
    )
    assert_refused(
        await stack.api.post("/integrations", json={"name": "n", "api_key": API_KEY, "api_secret": ["x"]}),
        422,
        "api_secret",
    )
    assert_refused(
        await stack.api.post(
            "/integrations", content=b'{"name": ', headers={"Content-Type": "application/json"}
        ),
        422,
        "JSON",
    )


async def test_an_empty_patch_says_what_can_change(stack):
    created = await add_integration(stack.api)
    assert_refused(await stack.api.patch(f"/integrations/{created['id']}", json={}), 422, "nothing to change")


async def test_an_unknown_integration_answers_404(stack):
    assert_refused(await stack.api.get("/integrations/no-such-id"), 404, "no-such-id")
    assert_refused(await stack.api.patch("/integrations/no-such-id", json={"name": "x"}), 404, "no-such-id")
