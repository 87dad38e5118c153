"""The codec server for the Temporal UI and CLI: decodes (and encodes) payloads for an
authorised caller, so ops read attempts in Temporal Web while the server keeps them sealed.

Protocol: POST /codec/decode and /codec/encode with {"payloads": [{"metadata": {k: base64},
"data": base64}]}, as Temporal's UI and `temporal --codec-endpoint` send it.

Callers: `Authorization: Bearer <PROCTORFLOW_CODEC_TOKEN>`, or a Temporal UI user's OIDC access
token verified against the identity provider's JWKS (PROCTORFLOW_CODEC_OIDC_ISSUER, _AUDIENCE,
_JWKS_URL); dev mode also trusts the local Temporal UI's origin. Decoding refuses a payload that
is not sealed with ProctorFlow's key ring (`proctorflow.codec`); malformed input is answered 422
with what is wrong, never 500. CORS for the UI's origin is set on these paths only (`web.app`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload

from proctorflow.codec import EncryptionCodec, PayloadRefused
from proctorflow.errors import Invalid, Refused
from proctorflow.settings import Settings
from proctorflow.temporal import payload_keys
from web.auth import Unauthorized
from web.oidc import AccessTokens
from web.services import Services, services

router = APIRouter(tags=["ops"])


class Undecodable(Refused):
    status = 422
    code = "undecodable"


class JsonPayload(BaseModel):
    metadata: dict[str, str] = {}
    data: str = ""


class Payloads(BaseModel):
    payloads: list[JsonPayload]


async def authorised(request: Request, svc: Services = Depends(services)) -> None:
    settings = svc.settings
    header = request.headers.get("authorization", "")
    token = header[len("bearer ") :].strip() if header[:7].lower() == "bearer " else ""
    if token:
        if settings.codec_token and hmac.compare_digest(token.encode(), settings.codec_token.encode()):
            return
        tokens = _access_tokens(request, settings)
        if tokens is not None:
            await asyncio.to_thread(tokens.verify, token)
            return
        raise Unauthorized("the bearer token is not PROCTORFLOW_CODEC_TOKEN")
    if settings.codec_trust_ui_origin and request.headers.get("origin") == settings.codec_ui_origin:
        return  # dev mode: the local Temporal UI cannot send a token
    raise Unauthorized(
        "the codec endpoint needs 'Authorization: Bearer <PROCTORFLOW_CODEC_TOKEN>'"
        + (" or a Temporal UI user's access token" if _oidc_configured(settings) else "")
    )


def _oidc_configured(settings: Settings) -> bool:
    return bool(settings.codec_oidc_issuer and settings.codec_oidc_audience and settings.codec_oidc_jwks_url)


def _access_tokens(request: Request, settings: Settings) -> AccessTokens | None:
    """The verifier of the configured identity provider's tokens (kept with its cached keys),
    or None when no provider is configured."""
    if not _oidc_configured(settings):
        return None
    tokens = getattr(request.app.state, "codec_access_tokens", None)
    if tokens is None:
        tokens = request.app.state.codec_access_tokens = AccessTokens(
            settings.codec_oidc_issuer or "",
            settings.codec_oidc_audience or "",
            settings.codec_oidc_jwks_url or "",
        )
    return tokens


def _codec(request: Request, svc: Services) -> EncryptionCodec:
    codec = getattr(request.app.state, "codec", None)
    if codec is None:
        codec = request.app.state.codec = EncryptionCodec(payload_keys(svc.settings))
    return codec


@router.post("/decode", dependencies=[Depends(authorised)])
async def decode(body: Payloads, request: Request, svc: Services = Depends(services)) -> dict[str, Any]:
    try:
        opened = await _codec(request, svc).decode(_from_json(body))
    except PayloadRefused as refused:
        raise Undecodable(str(refused)) from None
    return {"payloads": _to_json(opened)}


@router.post("/encode", dependencies=[Depends(authorised)])
async def encode(body: Payloads, request: Request, svc: Services = Depends(services)) -> dict[str, Any]:
    return {"payloads": _to_json(await _codec(request, svc).encode(_from_json(body)))}


def _from_json(body: Payloads) -> list[Payload]:
    return [
        Payload(
            metadata={k: _b64(v, f"payloads[{i}].metadata.{k}") for k, v in p.metadata.items()},
            data=_b64(p.data, f"payloads[{i}].data"),
        )
        for i, p in enumerate(body.payloads)
    ]


def _b64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(
            f"{where[:120]} is not base64: payloads carry base64 metadata values and data"
        ) from None


def _to_json(payloads: list[Payload]) -> list[dict[str, Any]]:
    return [
        {
            "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
            "data": base64.b64encode(p.data).decode(),
        }
        for p in payloads
    ]
