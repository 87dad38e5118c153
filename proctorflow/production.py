"""Production is the default: the parts that serve or work (the web app, the worker) start only
with real secrets. `proctorflow dev` generates its own under `.data/` and hands them to the
processes it starts, marked `PROCTORFLOW_DEV_MODE`; nothing else generates a key.

`secret_problems` names each secret that is missing, still holds a dev default or cannot be
used, and says how to make a good one. It never repeats a secret's value."""

from __future__ import annotations

import binascii

from cryptography.fernet import Fernet

from proctorflow.codec import PayloadKeys
from proctorflow.settings import DEV_LMS_TOKEN, DEV_WEBHOOK_SECRET, Settings

DEV_KEY_ID_PREFIX = "dev-"  # dev mode's payload key ring is "dev-1:…" (proctorflow.codec)

RANDOM_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
FERNET_KEY = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
PAYLOAD_KEY = "python -c 'import os, base64; print(\"prod-1:\" + base64.b64encode(os.urandom(32)).decode())'"

WHAT = {
    "lms_token": (
        "the default organisation's LMS API token (more per organisation: POST /api/v1/tokens); "
        f"make one with `{RANDOM_TOKEN}`"
    ),
    "secret_key": f"the Fernet key that seals vendor credentials at rest; make one with `{FERNET_KEY}`",
    "webhook_secret": "the secret ProctorFree signs its webhooks with: the one ProctorFree issued you",
    "payload_keys": (
        "the AES-256 key ring that seals Temporal payloads, 'key-id:base64key[,older-id:base64key]', "
        f"the same for every web app, worker and ops command; make one with `{PAYLOAD_KEY}`"
    ),
    "session_key": (
        "the Fernet key (or ring, newest first) that signs reviewers' session cookies, its own key; "
        f"make one with `{FERNET_KEY}`"
    ),
    "codec_token": (
        f"the bearer token callers of /codec (the Temporal UI, ops) send; make one with `{RANDOM_TOKEN}`"
    ),
}
DEV_DEFAULTS = {"lms_token": DEV_LMS_TOKEN, "webhook_secret": DEV_WEBHOOK_SECRET}
# What dev mode's children must still be given explicitly (their parent generated them).
DEV_MODE_NEEDS = ("secret_key", "session_key", "payload_keys")


def variable(name: str) -> str:
    return f"PROCTORFLOW_{name.upper()}"


def secret_problems(settings: Settings) -> list[str]:
    """One line per secret that stops a web app or worker from starting, in a fixed order;
    empty when all are good. In dev mode (`proctorflow dev`'s children) dev defaults are fine,
    but the keys must still be given: nothing generates them outside the dev parent."""
    names = DEV_MODE_NEEDS if settings.dev_mode else tuple(WHAT)
    problems = []
    for name in names:
        problem = _problem(settings, name)
        if problem:
            problems.append(f"{variable(name)} {problem}: {WHAT[name]}")
    return problems


def _problem(settings: Settings, name: str) -> str | None:
    value = getattr(settings, name)
    if not value or not value.strip():
        return "is not set"
    if not settings.dev_mode and value == DEV_DEFAULTS.get(name):
        return f"holds the dev default {value!r}"
    if name in ("secret_key", "session_key"):
        return _fernet_problem(value)
    if name == "payload_keys":
        return _key_ring_problem(value, settings.dev_mode)
    return None


def _fernet_problem(value: str) -> str | None:
    """A Fernet key, or a ring of them ("newest,older"), each 32 bytes in url-safe base64."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, binascii.Error):
            which = "" if len(keys) == 1 else f" (key {position} of {len(keys)})"
            return f"is not a Fernet key{which}: 32 bytes in url-safe base64"
    return None


def _key_ring_problem(value: str, dev_mode: bool) -> str | None:
    try:
        ring = PayloadKeys.parse(value)
    except (ValueError, binascii.Error) as error:
        # The parser's messages name key ids and lengths, never key material.
        return f"cannot be used ({error})"
    dev_ids = sorted(key_id for key_id in ring.keys if key_id.startswith(DEV_KEY_ID_PREFIX))
    if dev_ids and not dev_mode:
        return f"holds dev mode's key ring (key id {', '.join(map(repr, dev_ids))})"
    return None
