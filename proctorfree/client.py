"""The ProctorFree HTTP client: the only place that knows ProctorFree's wire format.

The format is modelled (ProctorFree's API is not public): HTTP Basic auth with api_key and
api_secret, JSON bodies under /api/v1. When the real endpoints arrive from ProctorFree's
onboarding documents, this file is the one to change.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from proctorflow.scrub import scrub
from proctorfree.interface import (
    CredentialsRejected,
    MalformedResponse,
    NewSession,
    RateLimited,
    RequestRejected,
    SessionUnknown,
    UnsafeLink,
    VendorCredentials,
    VendorSession,
    VendorUnavailable,
)
from proctorfree.urls import UnsafeUrl, check_vendor_url

DEFAULT_RETRY_AFTER_SECONDS = 1.0
MAX_VENDOR_MESSAGE_CHARS = 300


class ProctorFreeClient:
    """Implements `ProctorFreeBackend` over HTTP. Reuse one instance; close it with `aclose()`."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._origin = base_url  # links on it are trusted as well as https ones (proctorfree.urls)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "ProctorFlow"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ProctorFreeClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def verify_credentials(self, credentials: VendorCredentials) -> None:
        await self._call("GET", "/api/v1/account", credentials)

    async def create_session(self, credentials: VendorCredentials, new: NewSession) -> VendorSession:
        body = {
            "external_id": new.external_id,
            "exam_name": new.exam_name,
            "learner": {"name": new.learner_name, "email": new.learner_email},
            "method": new.method,
        }
        if new.return_url is not None:  # left out: ProctorFree shows its own "session started" page
            body["return_url"] = new.return_url
        if new.time_limit_minutes is not None:  # left out: ProctorFree's cap for the method
            body["time_limit_minutes"] = new.time_limit_minutes
        if new.accommodation_note is not None:
            body["accommodation_note"] = new.accommodation_note
        data = await self._call("POST", "/api/v1/sessions", credentials, json=body)
        return _to_vendor_session(data, self._origin)

    async def get_session(self, credentials: VendorCredentials, session_id: str) -> VendorSession:
        data = await self._call("GET", _session_path(session_id), credentials, session_id=session_id)
        return _to_vendor_session(data, self._origin)

    async def close_session(self, credentials: VendorCredentials, session_id: str) -> VendorSession:
        data = await self._call(
            "POST", _session_path(session_id) + "/close", credentials, session_id=session_id
        )
        return _to_vendor_session(data, self._origin)

    async def set_time_limit(
        self, credentials: VendorCredentials, session_id: str, time_limit_minutes: int
    ) -> VendorSession:
        data = await self._call(
            "PATCH",
            _session_path(session_id),
            credentials,
            json={"time_limit_minutes": time_limit_minutes},
            session_id=session_id,
        )
        return _to_vendor_session(data, self._origin)

    async def _call(
        self,
        method: str,
        path: str,
        credentials: VendorCredentials,
        json: dict[str, Any] | None = None,
        session_id: str | None = None,  # the session the call is about: a 404 means it is unknown
    ) -> Any:
        """Send one request and return its JSON body, or raise the matching VendorError."""
        what = f"{method} {path}"
        auth = httpx.BasicAuth(credentials.api_key, credentials.api_secret.get_secret_value())
        # Messages name the call, never the request: httpx errors carry the Authorization header.
        try:
            response = await self._http.request(method, path, json=json, auth=auth)
        except httpx.TimeoutException as exc:
            raise VendorUnavailable(f"ProctorFree timed out on {what}") from exc
        except httpx.DecodingError as exc:
            raise MalformedResponse(f"ProctorFree sent an undecodable body on {what}") from exc
        except httpx.HTTPError as exc:
            raise VendorUnavailable(f"ProctorFree unreachable on {what} ({type(exc).__name__})") from exc
        _raise_for_status(response, what, _secret_forms(credentials), session_id)
        try:
            return response.json()
        except ValueError:
            raise MalformedResponse(f"ProctorFree answered {what} with a non-JSON body") from None


def _session_path(session_id: str) -> str:
    # Quote the id so a stray "/" or "?" cannot point the call at another endpoint.
    return "/api/v1/sessions/" + quote(session_id, safe="")


def _to_vendor_session(data: Any, trusted_origin: str) -> VendorSession:
    """Map the wire JSON onto the interface model (today the fields coincide one to one). Its
    links are shown to learners and reviewers: one that is not https (nor on ProctorFree's
    configured origin, the emulator's in dev) is refused, not retried (`proctorfree.urls`)."""
    try:
        session = VendorSession.model_validate(data)
    except ValidationError as exc:
        raise MalformedResponse(
            f"ProctorFree session body does not validate ({exc.error_count()} errors)"
        ) from None
    for field in ("setup_url", "review_url"):
        try:
            check_vendor_url(getattr(session, field), trusted_origin)
        except UnsafeUrl as unsafe:
            raise UnsafeLink(f"ProctorFree sent a {field} we will not show: {unsafe.reason}") from None
    return session


def _secret_forms(credentials: VendorCredentials) -> list[str]:
    """The secret as sent: in clear, and inside the Basic auth token."""
    secret = credentials.api_secret.get_secret_value()
    token = base64.b64encode(f"{credentials.api_key}:{secret}".encode()).decode()
    return [form for form in (token, secret) if form]


def _raise_for_status(
    response: httpx.Response, what: str, secrets: list[str], session_id: str | None = None
) -> None:
    status = response.status_code
    if response.is_success:
        return
    message = _vendor_message(response, secrets)
    if status in (401, 403):
        raise CredentialsRejected(f"ProctorFree refused the API credentials ({status}): {message}")
    if status == 429:
        raise RateLimited(
            f"ProctorFree rate-limited {what}: {message}",
            retry_after=_retry_after(response),
        )
    if status >= 500:
        raise VendorUnavailable(f"ProctorFree answered {status} on {what}: {message}")
    if status == 404 and session_id is not None:
        raise SessionUnknown(f"ProctorFree does not know the session of {what} (404): {message}", session_id)
    # Other 4xx (and unexpected 1xx/3xx, which mean a misconfigured base URL): not retryable.
    raise RequestRejected(f"ProctorFree rejected {what} ({status}): {message}")


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER_SECONDS)))
    except ValueError:  # an HTTP-date or garbage: fall back rather than fail the retry
        return DEFAULT_RETRY_AFTER_SECONDS


def _vendor_message(response: httpx.Response, secrets: list[str]) -> str:
    """The vendor's own error text, trimmed: our secret taken out should it ever echo it, and
    anything else that looks like an e-mail address, a key or a token (`proctorflow.scrub`)."""
    try:
        body = response.json()
        text = body.get("message") or body.get("error") or response.text
    except (ValueError, AttributeError):
        text = response.text
    text = str(text).strip()
    for secret in secrets:
        text = text.replace(secret, "***")
    return scrub(text, MAX_VENDOR_MESSAGE_CHARS) or response.reason_phrase
