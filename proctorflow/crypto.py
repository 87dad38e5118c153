"""Vendor credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256), key from settings."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from proctorflow.settings import Settings

DEV_KEY_FILE = Path(".data/secret.key")


class SecretBox:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored credentials cannot be decrypted with the configured key") from exc


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
    """The configured key, or in dev mode (no key set) one kept under `.data/`."""
    return SecretBox(settings.secret_key or load_or_create_key(DEV_KEY_FILE))
