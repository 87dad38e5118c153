"""Payload encryption for Temporal: every payload a client or worker sends is sealed with
AES-256-GCM before it leaves the process, so histories on the server hold no learner data or
decision in clear. The key id travels in the payload's metadata: add a new key in front to
rotate, keep the old ones to read old histories.

Decoding refuses what is not sealed: a payload anyone with access to the Temporal server could
have written (a signal or update sent without the key) is never taken for ProctorFlow's own.
Nothing Temporal itself must read passes through here: the SDKs never hand search attributes to
a payload codec (they stay plain JSON, `workflows/search_attributes.py`), and the Temporal UI
parses memo and headers without it (ProctorFlow sets neither)."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class PayloadKeys:
    """Key ring: `current` seals; every key opens what it sealed."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError(f"current key {current!r} is not in the key ring")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"payload key {key_id!r} must be 32 bytes (AES-256)")
        self.keys, self.current = keys, current

    @classmethod
    def parse(cls, spec: str) -> PayloadKeys:
        """`id1:base64key,id2:base64key`, the first one current."""
        pairs = [item.split(":", 1) for item in spec.split(",") if item.strip()]
        if not pairs or any(len(pair) != 2 for pair in pairs):
            raise ValueError(
                "PROCTORFLOW_PAYLOAD_KEYS must look like 'key-id:base64key[,older-id:base64key]'"
            )
        keys = {key_id.strip(): base64.b64decode(key.strip()) for key_id, key in pairs}
        return cls(keys, pairs[0][0].strip())

    def spec(self) -> str:
        order = [self.current, *(k for k in self.keys if k != self.current)]
        return ",".join(f"{k}:{base64.b64encode(self.keys[k]).decode()}" for k in order)


def new_key_spec(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


def load_or_create_keys(path: Path) -> PayloadKeys:
    """Dev mode's key ring, kept under `.data/` and readable by its owner only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_key_spec("dev-1"))
        path.chmod(0o600)
    return PayloadKeys.parse(path.read_text().strip())


class PayloadRefused(ValueError):
    """A payload this codec will not open: not sealed, sealed with a key not in the ring, or
    altered since it was sealed. The message says which, never what the payload holds."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: PayloadKeys) -> None:
        self._keys = keys
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self._keys.current
        cipher = self._ciphers[key_id]
        sealed = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            data = nonce + cipher.encrypt(nonce, payload.SerializeToString(), key_id.encode())
            sealed.append(Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=data))
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(index, payload) for index, payload in enumerate(payloads)]

    def _open(self, index: int, payload: Payload) -> Payload:
        encoding = payload.metadata.get("encoding", b"")
        if encoding != ENCODING:
            raise PayloadRefused(
                f"payload {index} is not sealed (encoding {_shown(encoding)}): ProctorFlow opens only "
                f"payloads encrypted with its key ring ({ENCODING.decode()}), never one written without it"
            )
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadRefused(
                f"payload {index} is sealed with unknown key {key_id[:64]!r}: add it to "
                "PROCTORFLOW_PAYLOAD_KEYS"
            )
        nonce, ciphertext = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, ciphertext, key_id.encode()))
        except (InvalidTag, ValueError, DecodeError):
            raise PayloadRefused(
                f"payload {index} does not open with key {key_id[:64]!r}: it was altered, or sealed with "
                "another key under that id"
            ) from None


def _shown(raw: bytes) -> str:
    """Metadata as text for a message: decoded leniently, cut short."""
    return raw.decode("utf-8", errors="replace")[:64]
