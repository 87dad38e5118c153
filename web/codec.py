"""The codec server for the Temporal UI and CLI: decodes (and encodes) payloads for an
authorised caller, so ops read attempts in Temporal Web while the server keeps them sealed.

Protocol: POST /codec/decode and /codec/encode with {"payloads": [{"metadata": {k: base64},
"data": base64}]}, as Temporal's UI and `temporal --codec-endpoint` send it.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload

from proctorflow.codec import EncryptionCodec
from proctorflow.temporal import payload_keys
from web.auth import Unauthorized
from web.services import Services, services

router = APIRouter(tags=["ops"])


class JsonPayload(BaseModel):
    metadata: dict[str, str] = {}
    data: str = ""


class Payloads(BaseModel):
    payloads: list[JsonPayload]


def authorised(request: Request, svc: Services = Depends(services)) -> None:
    settings = svc.settings
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if settings.codec_token and token and hmac.compare_digest(token, settings.codec_token):
        return
    if settings.codec_trust_ui_origin and request.headers.get("origin") == settings.codec_ui_origin:
        return  # dev mode: the local Temporal UI cannot send a token
    raise Unauthorized("the codec endpoint needs 'Authorization: Bearer <PROCTORFLOW_CODEC_TOKEN>'")


def _codec(request: Request, svc: Services) -> EncryptionCodec:
    codec = getattr(request.app.state, "codec", None)
    if codec is None:
        codec = request.app.state.codec = EncryptionCodec(payload_keys(svc.settings))
    return codec


@router.post("/decode", dependencies=[Depends(authorised)])
async def decode(body: Payloads, request: Request, svc: Services = Depends(services)) -> dict[str, Any]:
    return {"payloads": _to_json(await _codec(request, svc).decode(_from_json(body)))}


@router.post("/encode", dependencies=[Depends(authorised)])
async def encode(body: Payloads, request: Request, svc: Services = Depends(services)) -> dict[str, Any]:
    return {"payloads": _to_json(await _codec(request, svc).encode(_from_json(body)))}


def _from_json(body: Payloads) -> list[Payload]:
    return [
        Payload(
            metadata={k: base64.b64decode(v) for k, v in p.metadata.items()},
            data=base64.b64decode(p.data),
        )
        for p in body.payloads
    ]


def _to_json(payloads: list[Payload]) -> list[dict[str, Any]]:
    return [
        {
            "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
            "data": base64.b64encode(p.data).decode(),
        }
        for p in payloads
    ]
