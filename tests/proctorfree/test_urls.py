"""Vendor links: https anywhere, or anything on ProctorFree's configured origin; every other
shape of link is refused with the reason."""

from __future__ import annotations

import pytest

from proctorfree.urls import MAX_URL_CHARS, UnsafeUrl, check_vendor_url, origin

PROD = "https://api.proctorfree.example"
DEV = "http://127.0.0.1:8100"


@pytest.mark.parametrize(
    ("url", "configured"),
    [
        ("https://app.proctorfree.example/s/pf_1/setup", PROD),
        ("https://app.proctorfree.example/s/pf_1/setup", DEV),  # https is fine from any host
        ("HTTPS://APP.PROCTORFREE.EXAMPLE/review/pf_1", PROD),
        ("https://app.proctorfree.example:8443/review/pf_1?lang=en#top", PROD),
        ("https://[2001:db8::1]/review/pf_1", PROD),
        ("https://xn--proctorfree-9z7d.example/s/pf_1/setup", PROD),  # an IDN host, in punycode
        ("https://app.proctorfree.example/s/pf%20one/setup", PROD),
        ("http://127.0.0.1:8100/s/pf_1/setup", DEV),  # the emulator, in dev and tests
        ("http://127.0.0.1:8100/review/pf_1", DEV + "/"),
        ("HTTP://127.0.0.1:8100/review/pf_1", DEV),
        ("http://emulator/review/pf_1", "http://emulator:80/api"),  # default port spelled out
        ("http://emulator:80/review/pf_1", "http://emulator"),
        ("https://127.0.0.1:8100/review/pf_1", DEV),
    ],
)
def test_accepted(url, configured):
    assert check_vendor_url(url, configured) == url


@pytest.mark.parametrize(
    ("url", "configured", "reason"),
    [
        # Not a link to a page at all.
        ("javascript:alert(document.cookie)", PROD, "scheme is javascript:"),
        ("JavaScript:alert(1)", DEV, "scheme is javascript:"),
        ("data:text/html;base64,PHNjcmlwdD4=", PROD, "scheme is data:"),
        ("vbscript:msgbox(1)", PROD, "scheme is vbscript:"),
        ("file:///etc/passwd", PROD, "scheme is file:"),
        ("ftp://files.example/x", PROD, "scheme is ftp:"),
        ("mailto:a@example.org", PROD, "scheme is mailto:"),
        # Relative or hostless: would resolve against our own pages.
        ("/review/pf_1", PROD, "no scheme"),
        ("//evil.example/review", PROD, "no scheme"),
        ("review/pf_1", PROD, "no scheme"),
        ("https:evil.example/x", PROD, "no host"),
        ("https:///evil.example", PROD, "no host"),
        ("https://", PROD, "no host"),
        # Browsers drop tabs and line breaks, read backslashes as slashes.
        ("java\tscript:alert(1)", PROD, "U+0009"),
        ("java\nscript:alert(1)", PROD, "U+000A"),
        ("https://app.proctorfree.example/\x00", PROD, "U+0000"),
        (" https://app.proctorfree.example/", PROD, "a space"),
        ("https://app.proctorfree.example/a b", PROD, "a space"),
        ("https:\\\\evil.example\\x", PROD, "a backslash"),
        ("https://app.proctorfree.example\x7f/", PROD, "U+007F"),
        ("https://app.proctorfree.example/\x85", PROD, "U+0085"),
        # Look-alikes.
        ("https://proctorfree.example@evil.example/review", PROD, "user name or password"),
        ("https://user:pass@app.proctorfree.example/", PROD, "user name or password"),
        ("https://аpp.proctorfree.example/", PROD, "not ASCII"),  # a Cyrillic а
        # Plain http off the configured origin.
        ("http://app.proctorfree.example/s/pf_1/setup", PROD, "plain http"),
        ("http://127.0.0.1:8101/s/pf_1/setup", DEV, "plain http"),
        ("http://localhost:8100/s/pf_1/setup", DEV, "plain http"),
        ("http://127.0.0.1/s/pf_1/setup", DEV, "plain http"),
        ("http://127.0.0.1:8100/s/pf_1/setup", PROD, "plain http"),
        ("http://127.0.0.1:8100/s/pf_1/setup", "not a url", "plain http"),
        # Malformed.
        ("https://app.proctorfree.example:99999/", PROD, "not a valid URL"),
        ("https://app.proctorfree.example:port/", PROD, "not a valid URL"),
        ("https://[::1/", PROD, "not a valid URL"),
        ("", PROD, "empty"),
        (None, PROD, "empty or not a string"),
        (42, PROD, "empty or not a string"),
        ("https://app.proctorfree.example/" + "a" * MAX_URL_CHARS, PROD, "longer than"),
    ],
)
def test_refused_with_the_reason(url, configured, reason):
    with pytest.raises(UnsafeUrl) as refused:
        check_vendor_url(url, configured)
    assert reason in refused.value.reason


def test_a_plain_http_refusal_names_the_configured_origin():
    with pytest.raises(UnsafeUrl) as refused:
        check_vendor_url("http://evil.example/x", DEV)
    assert refused.value.reason == (
        "it is plain http: on http://evil.example:80; links must be https: "
        "or on ProctorFree's configured origin http://127.0.0.1:8100"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8100/api", ("http", "127.0.0.1", 8100)),
        ("HTTPS://Example.ORG", ("https", "example.org", 443)),
        ("http://example.org/", ("http", "example.org", 80)),
        ("ftp://example.org/", None),
        ("example.org", None),
        ("http://example.org:bad/", None),
    ],
)
def test_origin(url, expected):
    assert origin(url) == expected
