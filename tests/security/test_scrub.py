"""Vendor error text is scrubbed before it is stored, raised or shown: e-mail addresses, keys,
tokens and secrets go, words and the ids ops need stay (`proctorflow.scrub`)."""

from __future__ import annotations

import time

import pytest

from activities.vendor import _for_temporal
from proctorflow.scrub import EMAIL, MAX_INPUT_CHARS, SECRET, scrub
from proctorfree.interface import CredentialsRejected, RequestRejected, VendorUnavailable

CAUGHT = [
    # E-mail addresses, plain, URL-encoded, with tags and subdomains.
    ("learner grace.hopper@example.org is not allowed", f"learner {EMAIL} is not allowed"),
    ("GRACE@EXAMPLE.ORG", EMAIL),
    ("to: grace+pf@mail.example.co.uk.", f"to: {EMAIL}."),
    ("email=grace%40example.org&x=1", f"email={EMAIL}&x=1"),
    ("<grace_hopper-1@sub.example.io>", f"<{EMAIL}>"),
    ("a@b.org, c@d.net", f"{EMAIL}, {EMAIL}"),
    # Fields named like a secret, in query strings, JSON, headers and prose.
    ("api_key=abc123&api_secret=xyz", f"api_key={SECRET}&api_secret={SECRET}"),
    ('{"error": "bad", "password": "hunter2"}', f'{{"error": "bad", "password": "{SECRET}"}}'),
    ("{'apiKey': 'k-1'}", f"{{'apiKey': '{SECRET}'}}"),
    ("X-Api-Token: s3cr3t", f"X-Api-Token: {SECRET}"),
    ("client_secret = topsecret", f"client_secret = {SECRET}"),
    ("access_token=ya29.a0Af", f"access_token={SECRET}"),
    ("passwd:abc pwd=def", f"passwd:{SECRET} pwd={SECRET}"),
    ("signature=t=1,v1=abc", f"signature={SECRET},v1=abc"),
    ("credentials: user:pass", f"credentials: {SECRET}"),
    ("Authorization: abc", f"Authorization: {SECRET}"),
    ("session_key=1;next=2", f"session_key={SECRET};next=2"),
    # Authorization schemes.
    ("Basic dXNlcjpwdw==", f"Basic {SECRET}"),
    ("sent Bearer abcdef123456 with it", f"sent Bearer {SECRET} with it"),
    ("Authorization: Bearer abcdef123456", f"Authorization: {SECRET} {SECRET}"),
    ("bearer YWxhZGRpbjpvcGVuc2VzYW1l", f"bearer {SECRET}"),
    # An identifier-like word after "key", "token", "secret"...
    ("API key pf-live-42 revoked", f"API key {SECRET} revoked"),
    ("the key id k_93 is unknown", f"the key id {SECRET} is unknown"),
    ("token abc.def rejected", f"token {SECRET} rejected"),
    ("secret 'x9y8z7w6'", f"secret '{SECRET}'"),
    # JSON Web Tokens and long random-looking runs.
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln here", f"jwt {SECRET} here"),
    ("session 3f2a9c1e-8d7b-4c3e-9a1f-2b3c4d5e6f70 unknown", f"session {SECRET} unknown"),
    ("sk_live_51H8abcdEFGHijkl0123 refused", f"{SECRET} refused"),
    ("digest 9f86d081884c7d659a2feaa0c55ad015", f"digest {SECRET}"),
    ("base64 c2VjcmV0LWtleS0xMjM0NTY3OA==", f"base64 {SECRET}"),
    ("GET /api/v1/sessions/3f2a9c1e8d7b4c3e9a1f2b3c4d5e6f70/close", f"GET /api/v1/sessions/{SECRET}/close"),
]

KEPT = [
    "No session pf_missing",
    "The API key is invalid or has been revoked.",
    "the token expired at noon",
    "a basic validation failed",
    "Bearer of bad news",
    "CredentialsRejected: well-known-words-joined",
    "ProctorFree answered 503 on GET /api/v1/sessions/pf_1: upstream down",
    "version 1.2.3 at 10:00",
    "user@localhost",
    "rate limit: 10 per minute",
    "secret in header",
    "monkey business",
    "author: Jane",
    "the keys were rotated",
    "",
]


@pytest.mark.parametrize(("text", "expected"), CAUGHT, ids=[c[0][:40] for c in CAUGHT])
def test_what_looks_like_an_email_key_token_or_secret_is_replaced(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_words_and_short_ids_are_left_alone(text):
    assert scrub(text) == text


@pytest.mark.parametrize("text", [c[0] for c in CAUGHT] + KEPT)
def test_scrubbing_twice_changes_nothing_more(text):
    assert scrub(scrub(text)) == scrub(text)


def test_the_text_is_cut_to_the_limit_and_never_inside_a_marker():
    assert scrub("x" * 290 + " grace@example.org and more", limit=300) == "x" * 290 + f" {EMAIL}"
    straddling = scrub("x" * 295 + " grace@example.org and more", limit=300)
    assert straddling == "x" * 295, "a marker the limit would cut in two is dropped whole"
    assert scrub("  padded  ", limit=300) == "padded"
    assert scrub("abc def", limit=3) == "abc"


def test_a_secret_past_the_limit_does_not_leak_a_fragment_before_it():
    secret = "9f86d081884c7d659a2feaa0c55ad015"
    cut = scrub("y" * 290 + " " + secret, limit=300)
    assert secret[:9] not in cut


def test_anything_not_text_is_turned_into_text_first():
    assert scrub(RequestRejected("mail grace@example.org")) == f"mail {EMAIL}"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 10_000,
        "a@" * 5_000,
        "key " * 2_500,
        "x" * 9_999 + "@",
        "-" * 10_000,
        "api_key" * 1_500,
        '"key": ' * 1_400,
        "Bearer " * 1_400,
        "eyJ" * 3_000,
        "a." * 5_000,
        "%40" * 3_000,
    ],
    ids=lambda text: f"{text[:8]!r}x{len(text)}",
)
def test_hostile_input_is_scrubbed_in_linear_time(hostile):
    began = time.perf_counter()
    result = scrub(hostile)
    assert time.perf_counter() - began < 0.5
    assert len(result) <= 300


def test_input_past_the_cap_is_not_scanned():
    assert scrub("z" * MAX_INPUT_CHARS + " grace@example.org", limit=10_000) == "z" * MAX_INPUT_CHARS


# --- Where vendor text goes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        RequestRejected("ProctorFree rejected POST /api/v1/sessions (400): grace@example.org is taken"),
        VendorUnavailable("ProctorFree answered 502 on GET /x: upstream key=abc123 said no"),
        CredentialsRejected(
            "ProctorFree refused the API credentials (401): token pf-9 for grace@example.org"
        ),
    ],
    ids=["rejected", "unavailable", "credentials"],
)
def test_the_failure_temporal_keeps_holds_the_vendor_text_scrubbed(error):
    failure = _for_temporal(error)
    for clear in ("grace@example.org", "abc123", "pf-9"):
        assert clear not in failure.message
