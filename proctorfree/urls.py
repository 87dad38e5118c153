"""Links ProctorFree hands us to show people: the learner's `setup_url`, the reviewer's
`review_url`. They become an `href` in the reviewer UI and the LMS's lesson page, and a
redirect target, so a vendor reply (or anyone in its path) must not be able to put a
`javascript:` or `data:` link, a plain-http page or a look-alike `https://proctorfree@evil`
in front of them.

A link is accepted when it is `https://host/...`, or when it is on the origin ProctorFlow is
configured to call ProctorFree at (`PROCTORFLOW_PROCTORFREE_URL`): the emulator in dev and
tests, `http://127.0.0.1:8100`.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

MAX_URL_CHARS = 2048
# Browsers drop tabs and line breaks inside a URL ("java\tscript:" is javascript:) and read a
# backslash as a slash; a vendor's link is plain ASCII (hosts in punycode, paths percent-encoded),
# so anything but printable ASCII, and a backslash, is refused outright: no look-alike hosts.
FORBIDDEN = re.compile(r"[^\x21-\x7e]|\\")
DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeUrl(ValueError):
    """The link is not one to show a learner or a reviewer; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, the port filled in; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else DEFAULT_PORTS[scheme]


def check_vendor_url(url: object, trusted_origin: str) -> str:
    """Return `url` when it is safe to show as a link; raise UnsafeUrl saying why not.

    `trusted_origin` is the base URL ProctorFlow calls ProctorFree at: links on its origin are
    accepted whatever their scheme (the emulator serves plain http on loopback)."""
    if not isinstance(url, str) or not url:
        raise UnsafeUrl("it is empty or not a string")
    if len(url) > MAX_URL_CHARS:
        raise UnsafeUrl(f"it is longer than {MAX_URL_CHARS} characters")
    bad = FORBIDDEN.search(url)
    if bad:
        raise UnsafeUrl(f"it contains {_describe(bad.group())} at position {bad.start()}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing the port is the check: "host:99999" raises)
    except ValueError as error:
        raise UnsafeUrl(f"it is not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise UnsafeUrl("it is not absolute: it has no scheme (https:)")
    if scheme not in DEFAULT_PORTS:
        raise UnsafeUrl(f"its scheme is {scheme}:, not https:")
    if not parts.hostname:
        raise UnsafeUrl("it names no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("it carries a user name or password before its host (user@host)")
    if scheme == "https" or _same_origin(parts, trusted_origin):
        return url
    trusted = origin(trusted_origin)
    also = f" or on ProctorFree's configured origin {_show(trusted)}" if trusted else ""
    raise UnsafeUrl(f"it is plain http: on {_show(origin(url))}; links must be https:{also}")


def _same_origin(parts: SplitResult, trusted_origin: str) -> bool:
    trusted = origin(trusted_origin)
    return trusted is not None and origin(parts.geturl()) == trusted


def _show(found: tuple[str, str, int] | None) -> str:
    if found is None:
        return "(none)"
    scheme, host, port = found
    return f"{scheme}://{host}:{port}"


def _describe(character: str) -> str:
    if character == " ":
        return "a space"
    if character == "\\":
        return "a backslash"
    if character.isprintable():
        return f"the character {character!r} (U+{ord(character):04X}), which is not ASCII"
    return f"the control character U+{ord(character):04X}"
