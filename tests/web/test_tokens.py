"""The cache of valid LMS tokens: what it remembers, for how long, and what it never keeps."""

from __future__ import annotations

from web.tokens import KnownTokens


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_valid_token_is_remembered_until_its_time_runs_out():
    clock = Clock()
    tokens = KnownTokens(ttl=60, clock=clock)
    tokens.remember("lms-token", "org-1")

    clock.now += 59.9
    assert tokens.org_for("lms-token") == "org-1"
    clock.now += 0.1
    assert tokens.org_for("lms-token") is None, "looked up again after 60 s"


def test_unknown_tokens_are_not_found_and_a_zero_ttl_remembers_nothing():
    tokens = KnownTokens(ttl=60)
    assert tokens.org_for("never-seen") is None
    off = KnownTokens(ttl=0)
    off.remember("lms-token", "org-1")
    assert off.org_for("lms-token") is None


def test_the_token_itself_is_never_kept():
    tokens = KnownTokens(ttl=60)
    tokens.remember("secret-lms-token", "org-1")
    assert "secret-lms-token" not in repr(vars(tokens))
