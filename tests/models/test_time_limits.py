"""Time limits and accommodations (models/time_limits.py), exhaustively: the minutes a learner
has at ProctorFree never pass the vendor's cap, an accommodation applies only to its lessons and
only until it expires, and every refusal says what would be allowed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from models.time_limits import (
    VENDOR_CAP_MINUTES,
    AccommodationTerms,
    accommodation_warnings,
    allowed_minutes,
    applies,
    extend_refusal,
    limit_warnings,
    open_warnings,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
METHODS = ("full", "record_only", "practice")
LIMITS = (None, 10, 60, 200, 210, 300)
TERMS = (
    None,
    AccommodationTerms(extra_minutes=30),
    AccommodationTerms(time_multiplier=1.5),
    AccommodationTerms(time_multiplier=4.0),
    AccommodationTerms(extra_minutes=30, lesson_ids=["other"]),
    AccommodationTerms(time_multiplier=2.0, expires_at=NOW - timedelta(seconds=1)),
    AccommodationTerms(time_multiplier=2.0, expires_at=NOW + timedelta(days=1)),
)


def test_a_60_minute_lesson_with_half_again_is_90_minutes():
    assert allowed_minutes("full", 60, AccommodationTerms(time_multiplier=1.5), "exam", NOW) == 90
    assert allowed_minutes("record_only", 60, AccommodationTerms(extra_minutes=25), "exam", NOW) == 85


@pytest.mark.parametrize(("method", "limit", "terms"), list(itertools.product(METHODS, LIMITS, TERMS)))
def test_the_minutes_never_pass_the_vendors_cap_and_never_shrink(method, limit, terms):
    minutes = allowed_minutes(method, limit, terms, "exam", NOW)
    own = allowed_minutes(method, limit, None, "exam", NOW)
    if limit is None and method != "practice":
        assert minutes is None  # no limit: nothing to extend
        return
    assert minutes is not None and own is not None
    assert own <= minutes <= VENDOR_CAP_MINUTES[method]
    if not applies(terms, "exam", NOW):
        assert minutes == own


@pytest.mark.parametrize("terms", TERMS)
def test_practice_stays_within_its_20_minutes_whatever_the_accommodation(terms):
    assert allowed_minutes("practice", None, terms, "exam", NOW) == 20
    assert allowed_minutes("practice", 15, terms, "exam", NOW) <= 20


def test_an_expired_accommodation_no_longer_applies_and_one_for_other_lessons_never_did():
    expired = AccommodationTerms(time_multiplier=2.0, expires_at=NOW)
    assert not applies(expired, "exam", NOW)
    assert applies(expired, "exam", NOW - timedelta(seconds=1))
    assert allowed_minutes("full", 60, expired, "exam", NOW) == 60
    elsewhere = AccommodationTerms(extra_minutes=30, lesson_ids=["final"])
    assert allowed_minutes("full", 60, elsewhere, "exam", NOW) == 60
    assert allowed_minutes("full", 60, elsewhere, "final", NOW) == 90


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"extra_minutes": 10, "time_multiplier": 1.5},
        {"time_multiplier": 1.0},
        {"time_multiplier": 0},
        {"time_multiplier": 100},
        {"time_multiplier": 4.01},
        {"extra_minutes": 0},
    ],
)
def test_terms_take_one_kind_of_extra_time_within_range(bad):
    with pytest.raises(ValidationError):
        AccommodationTerms(**bad)


def test_settings_warn_of_a_limit_past_the_vendors_cap_and_of_practices_fixed_20_minutes():
    assert limit_warnings("full", 210) == []
    assert limit_warnings("full", None) == []
    [over] = limit_warnings("full", 240)
    assert "over ProctorFree's cap of 210 minutes" in over and "learners get 210" in over
    [practice] = limit_warnings("practice", 20)
    assert "20 minutes whatever a learner's accommodation" in practice
    assert "cap of 20" in limit_warnings("practice", 30)[0]


def test_an_accommodation_warns_when_the_cap_or_a_lesson_without_limit_makes_it_less():
    assert accommodation_warnings("full", 60, 90) == []
    assert "caps full sessions at 210" in accommodation_warnings("full", 200, 210)[0]
    assert "no time limit" in accommodation_warnings("full", None, None)[0]
    assert "caps practice sessions at 20" in accommodation_warnings("practice", None, 20)[0]


@pytest.mark.parametrize(
    ("method", "allowed", "minutes", "refused"),
    [
        ("full", 60, 15, None),
        ("full", 200, 10, None),
        ("full", 200, 11, "at most 10 more minutes can be added to this one's 200"),
        ("full", 210, 1, "already has ProctorFree's cap of 210"),
        ("practice", 20, 5, "already has ProctorFree's cap of 20"),
        ("practice", 15, 6, "at most 5 more"),
        ("record_only", None, 5, "no time limit"),
    ],
)
def test_extend_is_refused_past_the_cap_saying_how_much_is_left(method, allowed, minutes, refused):
    answer = extend_refusal(method, allowed, minutes)
    assert (answer is None) if refused is None else (refused in (answer or ""))


@pytest.mark.parametrize(
    ("method", "limit", "allowed", "accommodated", "warned"),
    [
        ("full", 60, 90, True, False),
        ("full", 180, 210, True, True),  # 180 x 1.5 = 270: ProctorFree's cap cut it
        ("full", 240, 210, False, True),  # the lesson's own limit is over the cap
        ("full", 210, 210, False, False),
        ("practice", None, 20, True, True),  # the accommodation could add nothing
        ("practice", None, 20, False, False),
        ("record_only", None, None, True, False),
    ],
)
def test_open_warns_when_proctorfrees_cap_cut_the_learners_minutes(
    method, limit, allowed, accommodated, warned
):
    warnings = open_warnings(method, limit, allowed, accommodated)
    assert bool(warnings) is warned
    if warned:
        assert f"the learner has {VENDOR_CAP_MINUTES[method]}" in warnings[0]
