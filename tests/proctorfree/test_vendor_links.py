"""The links ProctorFree's session replies carry (setup_url, review_url) are checked where the
reply is read: an unsafe one is a vendor error that says why, and the attempt parks on it
(not retried) instead of showing it to a learner or a reviewer."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from temporalio.exceptions import ApplicationError

from activities import errors
from activities.vendor import _for_temporal
from proctorfree.client import ProctorFreeClient
from proctorfree.interface import NewSession, RequestRejected, UnsafeLink, VendorCredentials
from tests.support.servers import free_port, serve_in_thread

CREDENTIALS = VendorCredentials(api_key="k", api_secret="s")
NEW = NewSession(
    external_id="attempt-1",
    exam_name="Final",
    learner_name="Ada",
    learner_email="a@example.org",
    method="full",
)
LINKS: dict[str, str] = {}  # what the vendor below answers with, set by each test


def vendor() -> FastAPI:
    app = FastAPI()

    def session(request: Request, session_id: str) -> dict:
        base = str(request.base_url).rstrip("/")
        return {
            "session_id": session_id,
            "external_id": "attempt-1",
            "method": "full",
            "status": "created",
            "setup_url": LINKS.get("setup_url", f"{base}/s/{session_id}/setup"),
            "review_url": LINKS.get("review_url", f"{base}/review/{session_id}"),
            "audit_status": "pending",
        }

    @app.post("/api/v1/sessions")
    async def create(request: Request) -> dict:
        return session(request, "pf_1")

    @app.get("/api/v1/sessions/{session_id}")
    async def read(request: Request, session_id: str) -> dict:
        return session(request, session_id)

    @app.post("/api/v1/sessions/{session_id}/close")
    async def close(request: Request, session_id: str) -> dict:
        return session(request, session_id)

    return app


@pytest.fixture(scope="module")
def vendor_url():
    with serve_in_thread(vendor(), free_port()) as base_url:
        yield base_url


@pytest.fixture(autouse=True)
def links():
    LINKS.clear()
    yield LINKS
    LINKS.clear()


async def test_links_on_the_configured_origin_or_https_are_taken(vendor_url, links):
    async with ProctorFreeClient(vendor_url) as pf:
        session = await pf.create_session(CREDENTIALS, NEW)
        assert session.setup_url == f"{vendor_url}/s/pf_1/setup"  # plain http, but ProctorFree's origin
        links["review_url"] = "https://review.proctorfree.example/r/pf_1"
        assert (await pf.get_session(CREDENTIALS, "pf_1")).review_url == links["review_url"]


@pytest.mark.parametrize(
    ("field", "link", "reason"),
    [
        ("setup_url", "javascript:alert(document.cookie)", "its scheme is javascript:, not https:"),
        ("review_url", "data:text/html,<script>alert(1)</script>", "its scheme is data:"),
        ("setup_url", "http://phish.example/s/pf_1/setup", "plain http"),
        ("review_url", "https://proctorfree.example@phish.example/", "user name or password"),
        ("setup_url", "java\nscript:alert(1)", "U+000A"),
        ("review_url", "/review/pf_1", "no scheme"),
    ],
)
async def test_an_unsafe_link_is_a_vendor_error_saying_which_and_why(vendor_url, links, field, link, reason):
    links[field] = link
    async with ProctorFreeClient(vendor_url) as pf:
        for call in (
            lambda: pf.create_session(CREDENTIALS, NEW),
            lambda: pf.get_session(CREDENTIALS, "pf_1"),
            lambda: pf.close_session(CREDENTIALS, "pf_1"),
        ):
            with pytest.raises(UnsafeLink) as refused:
                await call()
            assert f"ProctorFree sent a {field} we will not show" in str(refused.value)
            assert reason in str(refused.value)


def test_an_unsafe_link_parks_the_attempt_with_the_reason_instead_of_being_retried():
    failure = _for_temporal(UnsafeLink("ProctorFree sent a setup_url we will not show: its scheme is data:"))
    assert isinstance(failure, ApplicationError)
    assert failure.type == errors.REQUEST_REJECTED and errors.REQUEST_REJECTED in errors.PARKING
    assert failure.non_retryable
    assert failure.message == "ProctorFree sent a setup_url we will not show: its scheme is data:"
    assert issubclass(UnsafeLink, RequestRejected)  # any caller that handles refusals handles it
