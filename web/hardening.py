"""What every response of the web app shares, whatever route answers it: one body-size limit,
one set of security headers, the one error shape for what no route got to answer, and CORS only
where a browser on another origin must call (the codec endpoint, for the Temporal UI).

`Hardening` is the outermost middleware: it refuses an oversized body with 413 before any route
sees it (from its Content-Length, or as it streams in without one), and adds the headers to
every response, the refusals and the CORS preflights included. A route may set its own
Content-Security-Policy (the API docs do, with a nonce); the others are always these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.errors import error_body

MAX_BODY_BYTES = 1024 * 1024  # an LMS catalog of a thousand lessons fits many times over
LIMIT = f"ProctorFlow accepts at most {MAX_BODY_BYTES} bytes per request (send one course per PUT)"

# Pages load scripts, styles, images and fonts from this origin only, post forms to it only,
# and are framed by no one. The reviewer UI has no inline script or style (web/review/static).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
_OVERRIDABLE = {b"content-security-policy"}


class Hardening:
    """The body limit and the security headers, for every HTTP request of the app it wraps."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_hardened(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": _with_security_headers(message.get("headers", []))}
            await send(message)

        refusal = _declared_size_refusal(scope, self.max_body_bytes)
        if refusal is not None:
            await _answer(send_hardened, *refusal)
            return
        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            message = f"the request body is over {self.max_body_bytes} bytes; {LIMIT}"
            await _answer(send_hardened, 413, "too_large", message, {"max_bytes": self.max_body_bytes})
            return
        try:
            await self.app(scope, _replaying(body, receive), send_hardened)
        except Exception:
            # Starlette's outermost handler would answer a bare "Internal Server Error": answer in
            # the error shape, with the headers, and let it log the exception as it does.
            if not started:
                await _answer(send_hardened, 500, "internal", "ProctorFlow failed to answer: try again")
            raise


class PathCORS:
    """CORS for the paths under one prefix only (credentials allowed): elsewhere a browser on
    another origin is answered as any client, without Access-Control headers."""

    def __init__(self, app: ASGIApp, prefix: str, **cors: Any) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.cors = CORSMiddleware(app, **cors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _under(_app_path(scope), self.prefix):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _app_path(scope: Scope) -> str:
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _with_security_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    kept = list(headers)
    present = {name.lower() for name, _ in kept}
    for name, value in SECURITY_HEADERS.items():
        key = name.encode()
        if key in present and key in _OVERRIDABLE:
            continue  # the route's own policy (the API docs' nonce)
        kept = [(n, v) for n, v in kept if n.lower() != key]
        kept.append((key, value.encode()))
    return kept


def _declared_size_refusal(scope: Scope, limit: int) -> tuple[int, str, str, dict[str, Any]] | None:
    declared = [value for name, value in scope.get("headers", []) if name.lower() == b"content-length"]
    if not declared:
        return None
    text = declared[0].decode("latin-1").strip()
    if not text.isdigit():
        return 400, "bad_request", f"Content-Length must be a number of bytes, not {text[:40]!r}", {}
    if int(text) > limit:
        return 413, "too_large", f"the request body is {int(text)} bytes; {LIMIT}", {"max_bytes": limit}
    return None


async def _read_body(receive: Receive, limit: int) -> list[Message] | None:
    """The request's messages up to the end of its body (or the client's disconnect), or None
    once the body runs over `limit`. Bodies are small (at most `limit`), so reading one before
    the route does costs nothing, and every route gets the same refusal."""
    messages: list[Message] = []
    received = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages  # the client went away: the route sees it as it would have
        received += len(message.get("body", b""))
        if received > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _answer(
    send: Send, status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> None:
    body = json.dumps(error_body(code, message, details)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
