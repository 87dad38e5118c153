"""Payload encryption for Temporal: every payload a client or worker sends is sealed with
AES-256-GCM before it leaves the process, so histories on the server hold no learner data or
decision in clear. The key id travels in the payload's metadata: add a new key in front to
rotate, keep the old ones to read old histories."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
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
        opened = []
        for payload in payloads:
            if payload.metadata.get("encoding", b"") != ENCODING:
                opened.append(payload)  # written before encryption was on: readable as it is
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise ValueError(
                    f"payload sealed with unknown key {key_id!r}: add it to PROCTORFLOW_PAYLOAD_KEYS"
                )
            nonce, ciphertext = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
            opened.append(Payload.FromString(cipher.decrypt(nonce, ciphertext, key_id.encode())))
        return opened
