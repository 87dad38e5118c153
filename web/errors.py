"""One error shape for every API reply: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException

from proctorflow.errors import Refused


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def install(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{p['field'] or 'body'}: {p['problem']}" for p in problems)
        return JSONResponse(
            error_body("invalid", f"the request is not valid: {summary}", {"problems": problems}),
            status_code=422,
        )

    @app.exception_handler(OperationalError)
    async def database_unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        # A lock held too long, a lost connection: nothing was written (the transaction rolled
        # back), and the same call later succeeds. The statement is not echoed: it holds data.
        return JSONResponse(
            error_body("unavailable", "the database is busy or unreachable: nothing was changed; try again"),
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> Response:
        # The database refused a value it cannot hold or look up: PostgreSQL a NUL in text (an
        # id in the URL, say: bodies refuse control characters where they are read, `models.text`),
        # a number out of its column's range. The caller's input, not a fault; nothing was written.
        found = str(exc.orig or exc)
        if "NUL" in found or "0x00" in found:
            why = "it holds a NUL character (U+0000), which cannot be stored or looked up"
        elif "out of range" in found:
            why = "a number in it is out of the range that can be stored"
        else:
            why = "a value in it cannot be stored or looked up"
        message = f"the request cannot be answered: {why}; remove it and send it again (nothing was changed)"
        if _is_review_page(request.url.path):
            from web.review.pages import message_page

            return message_page(request, 422, message[:1].upper() + message[1:] + ".")
        return JSONResponse(error_body("invalid", message), status_code=422)

    @app.exception_handler(HTTPException)
    async def http(request: Request, exc: HTTPException) -> Response:
        if _is_review_page(request.url.path):
            return _review_page(request, exc)
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )


def _is_review_page(path: str) -> bool:
    """Under the reviewer UI (its static files aside): refusals no route answered (no such page,
    a form that cannot be parsed) are pages there too, as the routes' own refusals are."""
    return (path == "/review" or path.startswith("/review/")) and not path.startswith("/review/static/")


def _review_page(request: Request, exc: HTTPException) -> Response:
    from web.review.pages import message_page  # the reviewer UI imports this module's siblings

    words = {404: "There is no page at this address.", 405: "This page cannot be used that way."}
    response = message_page(request, exc.status_code, words.get(exc.status_code, str(exc.detail)))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response
