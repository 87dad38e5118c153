"""The API's interactive docs (/docs, Swagger UI; /redoc), under a Content-Security-Policy of
their own: FastAPI's pages load their scripts and styles from a CDN and start with an inline
script, which the app-wide policy (`web.hardening`) refuses. Here the inline script carries a
nonce fresh for each page, and only these two pages may load from the CDN."""

from __future__ import annotations

import secrets

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

CDN = "https://cdn.jsdelivr.net"


def docs_policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}' {CDN}",
            # Swagger UI and ReDoc style their widgets from script: styles only, never scripts.
            f"style-src 'self' 'unsafe-inline' {CDN} https://fonts.googleapis.com",
            "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
            "font-src 'self' data: https://fonts.gstatic.com",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc (create the app with `docs_url=None, redoc_url=None`)."""

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=_openapi_url(app, request), title=f"{app.title} - Swagger UI")
        return _with_nonce(page)

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        page = get_redoc_html(openapi_url=_openapi_url(app, request), title=f"{app.title} - ReDoc")
        return _with_nonce(page)


def _openapi_url(app: FastAPI, request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/") + (app.openapi_url or "/openapi.json")


def _with_nonce(page: HTMLResponse) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_policy(nonce)})
