"""A form sent twice acts once (`web.review.once`): the second sending waits for the first and
gets its outcome; a failure is not remembered, so sending again tries again."""

from __future__ import annotations

import asyncio

import pytest

from proctorflow.errors import Conflict
from web.review.once import Submissions, form_token


class Work:
    def __init__(self, outcome: object = "done", fail: BaseException | None = None) -> None:
        self.calls = 0
        self.outcome = outcome
        self.fail = fail
        self.release = asyncio.Event()

    async def __call__(self) -> object:
        self.calls += 1
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return self.outcome


async def test_the_same_form_sent_twice_at_once_acts_once_and_both_get_its_outcome():
    kept, work = Submissions(), Work("voided")
    first = asyncio.create_task(kept.once("rita", "t1", work))
    second = asyncio.create_task(kept.once("rita", "t1", work))
    await asyncio.sleep(0.01)
    work.release.set()
    assert await asyncio.gather(first, second) == ["voided", "voided"]
    assert work.calls == 1
    assert await kept.once("rita", "t1", work) == "voided" and work.calls == 1  # sent again later


async def test_another_form_another_reviewer_or_no_token_acts_again():
    kept, work = Submissions(), Work()
    work.release.set()
    await kept.once("rita", "t1", work)
    await kept.once("rita", "t2", work)
    await kept.once("ada", "t1", work)  # a token is one reviewer's
    await kept.once("rita", "", work)
    await kept.once("rita", "", work)
    assert work.calls == 5


async def test_a_failure_is_shared_with_who_waits_but_not_remembered():
    kept, failing = Submissions(), Work(fail=Conflict("the workflow service did not answer"))
    first = asyncio.create_task(kept.once("rita", "t1", failing))
    second = asyncio.create_task(kept.once("rita", "t1", failing))
    await asyncio.sleep(0.01)
    failing.release.set()
    for outcome in await asyncio.gather(first, second, return_exceptions=True):
        assert isinstance(outcome, Conflict)
    assert failing.calls == 1

    working = Work("done")
    working.release.set()
    assert await kept.once("rita", "t1", working) == "done"  # tried again


async def test_an_interrupted_first_sending_tells_the_second_to_look_before_sending_again():
    kept, work = Submissions(), Work()
    first = asyncio.create_task(kept.once("rita", "t1", work))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(kept.once("rita", "t1", work))
    await asyncio.sleep(0.01)
    first.cancel()
    with pytest.raises(Conflict, match="reload the page to see what happened"):
        await second


async def test_old_tokens_are_forgotten():
    kept, work = Submissions(keep_seconds=0.0), Work()
    work.release.set()
    await kept.once("rita", "t1", work)
    await kept.once("rita", "t1", work)
    assert work.calls == 2

    bounded = Submissions(most=2)
    for n in range(5):
        await bounded.once("rita", f"t{n}", work)
    assert len(bounded._kept) <= 3


def test_form_tokens_are_unguessable_and_fresh():
    tokens = {form_token() for _ in range(1000)}
    assert len(tokens) == 1000 and all(len(token) >= 20 for token in tokens)
