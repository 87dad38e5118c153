"""How the learner demo answers: Jinja2 pages, and refusals as message pages (never the API's JSON,
never a 5xx for something the learner or the link got wrong)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from temporalio.service import RPCError

from proctorflow.errors import Conflict, Invalid, NotFound, Refused
from web.learn.words import describe

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["describe"] = describe

TITLES: dict[type[Refused], str] = {
    NotFound: "Not found",
    Conflict: "Not possible",
    Invalid: "Please check the details",
}


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def message(request: Request, status_code: int, title: str, text: str) -> HTMLResponse:
    return page(request, "message.html", {"title": title, "message": text}, status_code)


# The learner form's labels, for the fields a learner can get wrong.
FIELD_LABELS = {
    "learner_id": "learner id",
    "id": "learner id",
    "email": "e-mail",
    "attempt": "attempt number",
}


def problems_in(errors: list[dict[str, Any]]) -> str:
    """What to fix, by field; never the value that was sent (it may be an e-mail address)."""
    fields = []
    for error in errors:
        field = str(error["loc"][-1]) if error["loc"] else "request"
        fields.append(f"the {FIELD_LABELS.get(field, field)}: {error['msg'].rstrip('.')}")
    return "; ".join(fields)


class PageRoute(APIRoute):
    """Every route of the demo renders its refusals as a message page with their 4xx status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_as_page(request: Request) -> Response:
            try:
                return await handle(request)
            except Refused as refused:
                title = TITLES.get(type(refused), "This cannot be done")
                return message(request, refused.status, title, refused.message)
            except (RequestValidationError, ValidationError) as invalid:
                text = f"Please correct {problems_in(list(invalid.errors()))}."
                return message(request, 422, "Please check the details", text)
            except RPCError:
                text = "The proctoring service is busy or restarting. Reload this page in a moment."
                return message(request, 503, "Please try again shortly", text)

        return handle_as_page
