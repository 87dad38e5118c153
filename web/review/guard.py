"""What keeps the reviewer sign-in from being guessed at or used to starve the web app.

- **Rate limits** (the `limits` library): every sign-in attempt counts against its account and
  against its client address (an IPv6 address by its /64), before the password is checked, so
  a burst sent in parallel is cut off at the limit too. Over a limit the answer is 429 with
  Retry-After. The counts live in PROCTORFLOW_REVIEW_LOGIN_LIMIT_STORAGE: the default,
  "async+memory://", is this process's own, right for one web process; several web processes
  must share one (Redis, memcached), or each would allow the limit again. If that storage
  cannot be reached, sign-ins go on unthrottled (logged): the hashing executor still bounds
  what they cost.
- **Password hashing off the API's thread pool**: scrypt runs on an executor of its own with
  a thread or two and a bounded queue (over it: 503 with Retry-After), so a flood of sign-ins
  cannot occupy the threads the API's database calls run on (asyncio's default executor).

The client address is the connection's, or the one a trusted proxy forwards (uvicorn's
`--forwarded-allow-ips` / FORWARDED_ALLOW_IPS): behind a load balancer, trust it there, or every
reviewer shares the balancer's address.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from proctorflow.settings import Settings

T = TypeVar("T")
log = logging.getLogger("proctorflow.review")

# Half the CPUs, at least one and at most four: sign-ins never take every core.
HASHING_THREADS = max(1, min(4, (os.cpu_count() or 2) // 2))
HASHING_QUEUE = 64  # sign-ins waiting for (or on) a hashing thread; more are refused at once
BUSY_RETRY_AFTER = 5

_hashing = ThreadPoolExecutor(HASHING_THREADS, thread_name_prefix="proctorflow-password-hashing")
_places = threading.BoundedSemaphore(HASHING_QUEUE)


class HashingBusy(Exception):
    """Too many sign-ins wait for a hashing thread already."""


async def off_the_api_pool(work: Callable[[], T]) -> T:
    """Run `work` (which hashes a password) on the hashing executor."""
    if not _places.acquire(blocking=False):
        raise HashingBusy
    try:
        return await asyncio.get_running_loop().run_in_executor(_hashing, work)
    finally:
        _places.release()


class LoginLimits:
    """The web app's sign-in rate limits (one per app, made on its event loop at first use)."""

    def __init__(self, settings: Settings) -> None:
        self._per_account = parse_many(settings.review_login_limit_per_account)
        self._per_address = parse_many(settings.review_login_limit_per_address)
        self._limiter = MovingWindowRateLimiter(storage_from_string(settings.review_login_limit_storage))

    async def spend(self, username: str, address: str) -> int | None:
        """Count one attempt; the seconds to wait when a limit is spent already, else None."""
        checks: list[tuple[RateLimitItem, str, str]] = [
            *[(limit, "address", address) for limit in self._per_address],
            *[(limit, "account", _account_key(username)) for limit in self._per_account],
        ]
        try:
            for limit, kind, who in checks:
                if not await self._limiter.hit(limit, "review-login", kind, who):
                    stats = await self._limiter.get_window_stats(limit, "review-login", kind, who)
                    return max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:  # the shared storage is down: do not lock every reviewer out
            log.exception("sign-in rate limits unavailable (PROCTORFLOW_REVIEW_LOGIN_LIMIT_STORAGE)")
        return None


def login_limits(request: Request, settings: Settings) -> LoginLimits:
    state = request.app.state
    limits = getattr(state, "review_login_limits", None)
    if limits is None:
        limits = state.review_login_limits = LoginLimits(settings)
    return limits


def client_address(request: Request) -> str:
    """Who is asking, for the per-address limit: an IPv6 client by its /64 (one host's share)."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _account_key(username: str) -> str:
    """Usernames as fixed-length keys (any text may be typed into the form)."""
    return hashlib.sha256(username.encode()).hexdigest()[:32]
