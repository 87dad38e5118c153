"""Keys kept by the web app and the worker, each a key ring whose first key is current.

- Secrets at rest (vendor credentials, event-endpoint signing secrets) are sealed with Fernet
  (AES-128-CBC + HMAC-SHA256) under PROCTORFLOW_SECRET_KEY: "newest,older,…" Fernet keys; the
  first seals, every one opens (`cryptography`'s MultiFernet). `proctorflow rotate-secrets`
  seals every stored secret again under the first key, so an older one can then be dropped.
- Reviewer session cookies are signed (HMAC-SHA256) under PROCTORFLOW_SESSION_KEY: "newest,older"
  keys of at least 32 characters; the first signs, every one verifies, and a cookie signed with
  an older key is signed again with the first on its next request.

Dev mode (no key set) keeps one of each under `.data/`.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from proctorflow.settings import Settings

DEV_KEY_FILE = Path(".data/secret.key")
DEV_SESSION_KEY_FILE = Path(".data/session.key")
SESSION_KEY_MIN_LENGTH = 32
SESSION_KEY_PURPOSE = b"proctorflow reviewer session v2"


def key_ring(spec: str, setting: str = "PROCTORFLOW_SECRET_KEY") -> list[str]:
    """The keys of a comma-separated ring, current first."""
    keys = [key.strip() for key in spec.split(",") if key.strip()]
    if not keys:
        raise ValueError(f"{setting} holds no key")
    return keys


class SecretBox:
    """Seals with the ring's first Fernet key; opens what any of its keys sealed."""

    def __init__(self, keys: str) -> None:
        try:
            fernets = [Fernet(key.encode()) for key in key_ring(keys)]
        except ValueError as exc:
            raise ValueError(
                "PROCTORFLOW_SECRET_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated"
            ) from exc
        self._current = fernets[0]
        self._fernet = MultiFernet(fernets)

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored credentials cannot be decrypted with the configured key") from exc

    def is_current(self, token: str) -> bool:
        """Sealed under the ring's first key."""
        try:
            self._current.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def reseal(self, token: str) -> str:
        """The same secret, sealed again under the ring's first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("a stored secret cannot be decrypted with any key of the ring") from exc


class SessionKeys:
    """The reviewer-cookie key ring: HMAC-SHA256 under the first key; any key verifies."""

    def __init__(self, keys: str) -> None:
        ring = key_ring(keys, "PROCTORFLOW_SESSION_KEY")
        if any(len(key) < SESSION_KEY_MIN_LENGTH for key in ring):
            raise ValueError(
                f"each key of PROCTORFLOW_SESSION_KEY needs {SESSION_KEY_MIN_LENGTH} characters or more"
            )
        # Derived, so a key is never used as it is (nor for anything else by mistake).
        self._keys = [hmac.new(key.encode(), SESSION_KEY_PURPOSE, hashlib.sha256).digest() for key in ring]

    def sign(self, body: bytes) -> bytes:
        return hmac.new(self._keys[0], body, hashlib.sha256).digest()

    def verify(self, body: bytes, mac: bytes) -> int | None:
        """The index of the key that signed `body` (0: the current one), or None if none did."""
        for index, key in enumerate(self._keys):
            if hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()):
                return index
        return None


def load_or_create_key(path: Path) -> str:
    """Dev mode's key: made once under `.data/`, kept out of git, readable by its owner only."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    path.write_text(key)
    path.chmod(0o600)
    return key


def secret_box(settings: Settings) -> SecretBox:
    """The configured key ring, or in dev mode (no key set) one kept under `.data/`."""
    return SecretBox(settings.secret_key or load_or_create_key(DEV_KEY_FILE))


def session_keys(settings: Settings) -> SessionKeys:
    """The configured cookie key ring, or in dev mode (no key set) one kept under `.data/`."""
    return _session_keys(settings.session_key or load_or_create_key(DEV_SESSION_KEY_FILE))


@lru_cache(maxsize=8)
def _session_keys(spec: str) -> SessionKeys:
    return SessionKeys(spec)
