"""LMS tokens recently found valid, so most calls skip the database lookup."""

from __future__ import annotations

import time
from collections.abc import Callable

from store.catalog import token_digest


class KnownTokens:
    """Valid tokens by their digest (never the token itself), each trusted for `ttl` seconds.

    Only valid tokens are remembered: a new token works at once, a wrong one is looked up every
    time, and a token deleted from the database stops working within `ttl` seconds."""

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._known: dict[str, tuple[str, float]] = {}

    def org_for(self, token: str) -> str | None:
        digest = token_digest(token)
        found = self._known.get(digest)
        if found is None:
            return None
        org_id, until = found
        if self._clock() >= until:
            del self._known[digest]
            return None
        return org_id

    def remember(self, token: str, org_id: str) -> None:
        if self._ttl > 0:
            self._known[token_digest(token)] = (org_id, self._clock() + self._ttl)
