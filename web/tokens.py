"""LMS tokens recently found valid, so most calls skip the database lookup."""

from __future__ import annotations

import time
from collections.abc import Callable

from store.tokens import TOUCH_EVERY, token_digest


class KnownTokens:
    """Valid tokens by their digest (never the token itself), each trusted for `ttl` seconds.

    Only valid tokens are remembered: a new token works at once, a wrong one is looked up every
    time, and a token deleted from the database stops working within `ttl` seconds (at once in
    the process that deleted it, which forgets it).

    It also paces the notes of a token's last use: one per token per `touch_every` seconds from
    this process, not a database write per call."""

    def __init__(
        self,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        touch_every: float = TOUCH_EVERY.total_seconds(),
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._touch_every = touch_every
        self._known: dict[str, tuple[str, float]] = {}
        self._touched: dict[str, float] = {}

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

    def forget(self, digest: str) -> None:
        """A token deleted here: refused from the next call on."""
        self._known.pop(digest, None)
        self._touched.pop(digest, None)

    def touch_due(self, token: str) -> str | None:
        """The token's digest when its last use is due to be written (then not again for
        `touch_every` seconds); None otherwise."""
        digest, now = token_digest(token), self._clock()
        last = self._touched.get(digest)
        if last is not None and now - last < self._touch_every:
            return None
        self._touched[digest] = now
        return digest
