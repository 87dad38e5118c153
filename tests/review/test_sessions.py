"""Reviewer sessions over real HTTP: kept server-side (logout, a password change and
`proctorflow revoke-sessions` end them for good, a copied cookie included), sign-ins
rate-limited per account and per client address, and password hashing kept off the API's
thread pool so a flood of sign-ins leaves the LMS API answering.

Each test that counts sign-ins per address sends them from a loopback address of its own
(127.0.0.x), so the per-address limit of one never meets another's."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx
from cryptography.fernet import Fernet
from sqlmodel import select

import cli
from models.tables import ReviewerSession
from store import reviewers
from tests.review.world import PASSWORD, ReviewWorld, csrf_of
from tests.support.servers import free_port, serve_in_thread
from tests.support.stack import Stack
from web.app import create_app
from web.review import auth

NEW_PASSWORD = "a much longer passphrase"


@asynccontextmanager
async def browser(world: ReviewWorld, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client (cookies, no redirects followed) connecting from `address`."""
    transport = httpx.AsyncHTTPTransport(local_address=address, limits=httpx.Limits(max_connections=200))
    async with httpx.AsyncClient(base_url=world.base_url, transport=transport, timeout=120) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    login = await client.get("/review/login")
    return await client.post(
        "/review/login", data={"username": username, "password": password, "csrf_token": csrf_of(login.text)}
    )


async def signed_in(world: ReviewWorld, client: httpx.AsyncClient, password: str = PASSWORD) -> None:
    reply = await sign_in(client, world.username, password)
    assert reply.status_code == 303, reply.text
    assert (await client.get("/review/tasks")).status_code == 200


def token_of(client: httpx.AsyncClient) -> str:
    body = client.cookies[auth.COOKIE].split(".")[0]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["sid"]


def sessions_of(world: ReviewWorld) -> list[ReviewerSession]:
    with world.stack.sessions() as db:
        reviewer = reviewers.by_username(db, world.username)
        return list(db.exec(select(ReviewerSession).where(ReviewerSession.reviewer_id == reviewer.id)))


async def is_signed_out(client: httpx.AsyncClient) -> bool:
    reply = await client.get("/review/tasks")
    return reply.status_code == 303 and reply.headers["location"].startswith("/review/login")


# --- Server-side sessions ---------------------------------------------------------------------


async def test_a_copied_cookie_stops_working_when_its_session_signs_out(world: ReviewWorld):
    async with browser(world) as reviewer, browser(world) as thief:
        await signed_in(world, reviewer)
        thief.cookies.set(auth.COOKIE, reviewer.cookies[auth.COOKIE], path="/review")
        assert (await thief.get("/review/tasks")).status_code == 200  # a copy works... until logout

        token = token_of(reviewer)
        [row] = sessions_of(world)
        assert row.id == hashlib.sha256(token.encode()).hexdigest()  # only the token's hash is kept
        assert row.revoked_at is None and row.expires_at > row.created_at

        page = await reviewer.get("/review/tasks")
        reply = await reviewer.post("/review/logout", data={"csrf_token": csrf_of(page.text)})
        assert reply.status_code == 303

        assert await is_signed_out(thief)
        [row] = sessions_of(world)
        assert row.revoked_at is not None
        assert "Your session has ended" in (await thief.get("/review/login")).text


async def test_a_password_change_signs_out_every_other_session(world: ReviewWorld):
    async with browser(world) as laptop, browser(world) as phone:
        await signed_in(world, laptop)
        await signed_in(world, phone)

        form = csrf_of((await laptop.get("/review/password")).text)
        wrong = await laptop.post(
            "/review/password",
            data={
                "current_password": "not my password",
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
                "csrf_token": form,
            },
        )
        assert wrong.status_code == 403 and "nothing was changed" in wrong.text
        assert (await phone.get("/review/tasks")).status_code == 200

        changed = await laptop.post(
            "/review/password",
            data={
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
                "csrf_token": form,
            },
        )
        assert changed.status_code == 303, changed.text
        page = await laptop.get("/review/tasks")
        assert page.status_code == 200  # this browser goes on, with a new session
        assert "Your password is changed; 1 other session of yours was signed out." in page.text
        assert await is_signed_out(phone)

    assert [row.revoked_at is None for row in sessions_of(world)].count(True) == 1
    async with browser(world) as again:
        assert (await sign_in(again, world.username, PASSWORD)).status_code == 401
        assert (await sign_in(again, world.username, NEW_PASSWORD)).status_code == 303


async def test_revoke_sessions_signs_a_reviewer_out_everywhere(world: ReviewWorld, ops_environment, capsys):
    async with browser(world) as desk, browser(world) as home:
        await signed_in(world, desk)
        await signed_in(world, home)
        ops_environment(world.stack.settings)

        assert cli.main(["revoke-sessions", "--reviewer", world.username]) == 0
        assert f"reviewer {world.username}: 2 open sessions revoked" in capsys.readouterr().out
        assert await is_signed_out(desk) and await is_signed_out(home)

        assert cli.main(["revoke-sessions", "--reviewer", "nobody-by-this-name"]) == 2
        assert "there is no reviewer 'nobody-by-this-name'" in capsys.readouterr().err

        await signed_in(world, desk)  # signing in again works
        reset = ["set-reviewer-password", "--username", world.username, "--password", NEW_PASSWORD]
        assert cli.main(reset) == 0
        assert "password set; 1 open session signed out" in capsys.readouterr().out
        assert await is_signed_out(desk)
        await signed_in(world, desk, NEW_PASSWORD)


# --- Rate limits ------------------------------------------------------------------------------


async def test_sixty_parallel_wrong_passwords_get_429_after_the_account_limit(world: ReviewWorld):
    per_account = world.stack.settings.review_login_limit_per_account  # "10/minute;60/hour"
    allowed = int(per_account.split("/")[0])
    async with browser(world, "127.0.0.2") as attacker:
        csrf = csrf_of((await attacker.get("/review/login")).text)
        guesses = [
            attacker.post(
                "/review/login",
                data={"username": world.username, "password": f"guess-{n}", "csrf_token": csrf},
            )
            for n in range(60)
        ]
        replies = await asyncio.gather(*guesses)

    statuses = sorted(reply.status_code for reply in replies)
    print(f"\n60 parallel wrong passwords: {statuses.count(401)} x 401, {statuses.count(429)} x 429")
    assert statuses.count(401) == allowed and statuses.count(429) == 60 - allowed
    for reply in replies:
        if reply.status_code == 429:
            assert 1 <= int(reply.headers["Retry-After"]) <= 60
            assert "Too many sign-in attempts: wait" in reply.text

    # The account is spent for the window, whoever asks and even with its right password.
    async with browser(world, "127.0.0.3") as reviewer:
        refused = await sign_in(reviewer, world.username, PASSWORD)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


async def test_a_flood_of_sign_ins_is_cut_off_per_address_and_leaves_the_api_answering(
    world: ReviewWorld, stack: Stack, monkeypatch
):
    course = f"latency-{uuid.uuid4().hex[:8]}"
    body = {"title": "Latency", "lessons": [{"id": "l1", "title": "L1", "type": "video", "required": True}]}
    assert (await stack.api.put(f"/courses/{course}", json=body)).status_code == 200
    per_address = int(stack.settings.review_login_limit_per_address.split("/")[0])  # 60 a minute
    flood = per_address + 20

    async def api_latencies(until: asyncio.Event | None, count: int = 20) -> list[float]:
        """GET /courses/{id} one after another (a database read on the API's thread pool)."""
        took = []
        while (until is None and len(took) < count) or (until is not None and not until.is_set()):
            started = time.perf_counter()
            reply = await stack.api.get(f"/courses/{course}")
            took.append(time.perf_counter() - started)
            assert reply.status_code == 200  # every API call is answered while the flood lasts
            await asyncio.sleep(0.02)
        return took

    async def flooded(address: str) -> tuple[list[int], list[float], float]:
        """`flood` sign-ins at once from one address, each for another (unknown) account."""
        async with browser(world, address) as bot:
            csrf = csrf_of((await bot.get("/review/login")).text)
            done = asyncio.Event()

            async def one(n: int) -> int:
                username = f"bot-{uuid.uuid4().hex[:8]}-{n}"
                data = {"username": username, "password": "hunter22", "csrf_token": csrf}
                return (await bot.post("/review/login", data=data)).status_code

            async def all_of_them() -> list[int]:
                try:
                    return list(await asyncio.gather(*(one(n) for n in range(flood))))
                finally:
                    done.set()

            started = time.perf_counter()
            statuses, latencies = await asyncio.gather(all_of_them(), api_latencies(done))
            return statuses, latencies, time.perf_counter() - started

    idle = await api_latencies(None)
    statuses, during, lasted = await flooded("127.0.0.4")
    assert statuses.count(401) == per_address and statuses.count(429) == flood - per_address

    # For comparison only: the same flood with hashing on asyncio's default executor, the pool
    # the API's database calls use (as before this change).
    async def on_the_api_pool(work):
        return await asyncio.to_thread(work)

    monkeypatch.setattr(auth, "off_the_api_pool", on_the_api_pool)
    shared_statuses, shared, shared_lasted = await flooded("127.0.0.5")
    monkeypatch.undo()
    assert shared_statuses.count(401) == per_address

    def figures(latencies: list[float]) -> str:
        ms = sorted(1000 * t for t in latencies)
        p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
        return f"p50 {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms (n={len(ms)})"

    print(
        f"\nAPI GET /courses/{{id}} latency (load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs):"
        f"\n  idle: {figures(idle)}"
        f"\n  {flood} sign-ins at once, hashing on its own executor: {figures(during)}"
        f"; the flood took {lasted:.1f} s"
        f"\n  the same flood, hashing on the API's thread pool (before): {figures(shared)}"
        f"; the flood took {shared_lasted:.1f} s"
    )


# --- The cookie key ring ----------------------------------------------------------------------


async def test_a_cookie_signed_with_an_older_key_of_the_ring_is_accepted_and_signed_again(
    world: ReviewWorld, stack: Stack
):
    old, new = stack.settings.session_key, Fernet.generate_key().decode()

    @contextmanager
    def web_app(session_key: str) -> Iterator[str]:
        port = free_port()
        settings = stack.settings.model_copy(
            update={"session_key": session_key, "http_port": port, "public_url": f"http://127.0.0.1:{port}"}
        )
        with serve_in_thread(create_app(settings), port) as url:
            yield url

    async def tasks_page(url: str, cookie: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=url, headers={"Cookie": f"{auth.COOKIE}={cookie}"}) as client:
            return await client.get("/review/tasks")

    async with browser(world) as reviewer:
        await signed_in(world, reviewer)
        signed_with_old = reviewer.cookies[auth.COOKIE]

    with web_app(f"{new},{old}") as rotated:  # the new key first, the old one still in the ring
        accepted = await tasks_page(rotated, signed_with_old)
        assert accepted.status_code == 200
        signed_with_new = accepted.cookies[auth.COOKIE]  # signed again with the first key
        assert signed_with_new != signed_with_old
    with web_app(new) as dropped:  # the old key dropped from the ring
        assert (await tasks_page(dropped, signed_with_new)).status_code == 200
        refused = await tasks_page(dropped, signed_with_old)
        assert refused.status_code == 303 and refused.headers["location"].startswith("/review/login")
