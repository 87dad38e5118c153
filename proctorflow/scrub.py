"""Scrub text that came from outside (a vendor's error body) before it is stored, raised or
shown: anything that looks like an e-mail address, a key, a token or a secret is replaced by a
marker, and the text is cut to a length. Pure and deterministic; `tests/security/test_scrub.py`
lists what it catches and what it leaves alone.

What looks like one:
- an e-mail address, also URL-encoded (`grace%40example.org`);
- a JSON Web Token (`eyJ….eyJ….…`);
- the credentials after `Bearer` or `Basic`;
- the value of a field named like a secret (`api_key=…`, `"password": "…"`, `X-Api-Token: …`);
- the word after "key", "token", "secret", "password"… when it reads like an identifier (it
  holds a digit or one of `_-./+=`: `API key pf-live-42 revoked`);
- any run of 16 or more letters, digits and `_-+/=` holding both a letter and a digit (hex
  digests, UUIDs, random keys); in a path (`/api/v1/sessions/…`), any such segment.
Words are left alone: "the key was revoked", "CredentialsRejected", "well-known-words-joined".
"""

from __future__ import annotations

import re

EMAIL = "[e-mail]"
SECRET = "[redacted]"
# Longer input is cut to this before it is scrubbed (every pattern below is linear in it).
MAX_INPUT_CHARS = 4000

_WORDS = r"(?:key|secret|token|password|passwd|pwd|passphrase|signature|credentials?|auth(?:orization)?)"
_TOKEN_CHARS = r"A-Za-z0-9._~+/=\-"

# Each starts only where a run of its characters starts (the look-behinds): no quadratic scans.
_EMAIL = re.compile(r"(?<![A-Za-z0-9._+\-])[A-Za-z0-9._+\-]++(?:@|%40)[A-Za-z0-9\-]++(?:\.[A-Za-z0-9\-]++)*+")
_JWT = re.compile(r"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]*+\.[A-Za-z0-9_\-]++\.[A-Za-z0-9_\-]*+")
_SCHEME = re.compile(
    rf"(?i)\b(?P<name>bearer|basic)(?P<sep>\s+)(?P<quote>)(?P<value>[{_TOKEN_CHARS}]{{6,}}+)"
)
# A field named like a secret, then its value: `api_key=v`, `"api-secret": "v"`, `Token: v`.
_FIELD = re.compile(
    rf"""(?ix)
    (?<![A-Za-z0-9_\-])
    (?P<name>["']?[A-Za-z0-9_\-]*{_WORDS}s?["']?)
    (?P<sep>\s*[:=]\s*)
    (?P<quote>["']?)
    (?P<value>[^\s"',;&}}\]]++)
    """
)
# "key pf-live-42", "token abc_def": an identifier-like word after one of the words.
_AFTER_WORD = re.compile(
    rf"""(?ix)
    \b(?P<name>{_WORDS})
    (?P<sep>\s+(?:id\s+)?)
    (?P<quote>["']?)
    (?P<value>(?=[{_TOKEN_CHARS}]*[0-9_\-./+=])[{_TOKEN_CHARS}]{{4,}}+)
    """
)
_LONG_RUN = re.compile(r"(?<![A-Za-z0-9_+/=\-])[A-Za-z0-9_+/=\-]{16,}+")


def scrub(text: str, limit: int = 300) -> str:
    """`text` with e-mail addresses, keys, tokens and secrets replaced, at most `limit` long."""
    text = str(text)[:MAX_INPUT_CHARS]
    text = _EMAIL.sub(_email, text)
    text = _JWT.sub(SECRET, text)
    text = _SCHEME.sub(_credentials, text)
    text = _FIELD.sub(_keep_name, text)
    text = _AFTER_WORD.sub(_keep_name, text)
    text = _LONG_RUN.sub(_token_or_words, text)
    return _cut(text.strip(), limit)


def _email(found: re.Match[str]) -> str:
    """An address has a dot in its domain and a top-level domain of letters: `a@b.org`."""
    domain = re.split(r"@|%40", found[0], maxsplit=1)[1]
    top = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return EMAIL if len(top) >= 2 and top.isalpha() else found[0]


def _credentials(found: re.Match[str]) -> str:
    """`Bearer x`/`Basic x` when x reads like credentials, not like a word ("basic checks")."""
    value = found["value"]
    internal_capitals = sum(c.isupper() for c in value[1:])
    looks_encoded = any(c.isdigit() or c in "._~+/=-" for c in value) or internal_capitals >= 2
    return _keep_name(found) if looks_encoded else found[0]


def _keep_name(found: re.Match[str]) -> str:
    if found["value"].startswith(("[redacted", "[e-mail")):
        return found[0]
    return f"{found['name']}{found['sep']}{found['quote']}{SECRET}"


def _token_or_words(found: re.Match[str]) -> str:
    """A long run with a letter and a digit is a token; `well-known-words-joined` is not. A
    path (`/api/v1/sessions/…`) is judged segment by segment."""
    run = found[0]
    if run.startswith("/"):
        return "/".join(_token_or_word(segment) for segment in run.split("/"))
    return _token_or_word(run)


def _token_or_word(run: str) -> str:
    if len(run) >= 16 and any(c.isdigit() for c in run) and any(c.isalpha() for c in run):
        return SECRET
    return run


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, never ending inside a marker."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    opened = cut.rfind("[")
    if opened != -1 and "]" not in cut[opened:] and text.startswith((SECRET, EMAIL), opened):
        cut = cut[:opened]
    return cut.rstrip()
