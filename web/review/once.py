"""One submission per form: a double click, a second press of the button before the page has
changed, or the browser's "send again" after a reload never acts twice.

The pages have no script (their Content-Security-Policy allows none inline, and they work without
JavaScript), so buttons cannot disable themselves: the server remembers instead. Each form that
acts carries a random token of its own (`once`, made when the page is rendered). The first
submission with a token does the work; another with the same token, from the same reviewer,
waits for it if it is still running and gets the same outcome, without doing the work again.

Tokens are kept for ten minutes in the web process's memory. With several web processes behind
a load balancer, a second press may reach another process (a browser sends it on a second
connection while the first waits): keep each reviewer on one process (session affinity) there,
or the second may act too. A failure that changed nothing (the workflow service away) is
forgotten, so sending the form again tries again.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request

from proctorflow.errors import Conflict

T = TypeVar("T")

KEEP_SECONDS = 600
MOST_KEPT = 5000
FIELD = "once"


def form_token() -> str:
    """A token for one rendered form."""
    return secrets.token_urlsafe(16)


class Submissions:
    def __init__(self, keep_seconds: float = KEEP_SECONDS, most: int = MOST_KEPT) -> None:
        self._keep = keep_seconds
        self._most = most
        self._kept: OrderedDict[tuple[str, str], tuple[float, asyncio.Future[Any]]] = OrderedDict()

    async def once(self, who: str, token: str, work: Callable[[], Awaitable[T]]) -> T:
        """`work`'s outcome: done now, or the outcome of the first submission of `token`."""
        self._forget_old()
        if not token:
            return await work()  # a form of ours always has a token; a script's post acts as sent
        key = (who, token)
        kept = self._kept.get(key)
        if kept is not None:
            return await _outcome_of(kept[1])
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._kept[key] = (time.monotonic(), future)
        try:
            outcome = await work()
        except asyncio.CancelledError:
            self._kept.pop(key, None)
            future.cancel()
            raise
        except Exception as error:
            self._kept.pop(key, None)  # nothing to repeat: sending again tries again
            future.set_exception(error)
            future.exception()  # retrieved here: a failure nobody else waited for is not logged
            raise
        future.set_result(outcome)
        return outcome

    def _forget_old(self) -> None:
        oldest = time.monotonic() - self._keep
        while self._kept:
            key, (at, future) = next(iter(self._kept.items()))
            if (at > oldest and len(self._kept) <= self._most) or not future.done():
                break
            del self._kept[key]


async def _outcome_of(future: asyncio.Future[T]) -> T:
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if future.cancelled():
            raise Conflict(
                "this form was sent twice and the first sending was interrupted: "
                "reload the page to see what happened before sending it again"
            ) from None
        raise


def submissions(request: Request) -> Submissions:
    """The web app's record of recent submissions (one per app)."""
    state = request.app.state
    kept = getattr(state, "review_submissions", None)
    if kept is None:
        kept = state.review_submissions = Submissions()
    return kept
