"""Hostile input to every route the web app serves, and every route of the demo LMS: whatever
arrives, the answer is never a 5xx, and every refusal (4xx) comes in its part's shape: the
JSON error shape ({"error": {"code", "message"}}) under /api and /codec, a page under /review.

The routes come from the app itself (`app.routes`), so a route added tomorrow is probed
tomorrow, with what its declaration says it takes: every path parameter, query parameter, JSON
body field (from its schema) and form field gets, one at a time, NUL and other control
characters, a lone surrogate, invalid UTF-8, very long strings, huge and non-finite numbers and
ids that look like path traversal; every body-taking route gets oversized, malformed, deeply
nested and wrongly typed bodies under the wrong content types. Each probe is sent by a caller
allowed in (the LMS's token, the codec token, a signed-in reviewer with the form's CSRF token,
a signed webhook), so it reaches the code behind the front door. `tests/reliability/
test_hostile_input.py` adds property-based fuzzing of the API's OpenAPI schemas.

Runs on SQLite, and on PostgreSQL when PROCTORFLOW_TEST_POSTGRES is set (PostgreSQL refuses a
NUL in text: a value that got through to it was a 500).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter
from starlette.routing import Mount

from proctorfree.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.api.helpers import add_integration, exam_lesson, open_attempt, proctored_course, put_course, unique
from tests.review.world import COURSE, EXAM, ReviewWorld, csrf_of, signed_in_client
from tests.support.stack import Stack, running_stack
from web.app import create_app

# --- What is sent ---------------------------------------------------------------------------------

# Path segments, already percent-encoded as they travel.
HOSTILE_IDS = {
    "NUL": "probe%00id",
    "escape": "probe%1B%5B31mid",
    "DEL": "probe%7Fid",
    "C1": "probe%C2%85id",
    "surrogate (CESU-8)": "probe%ED%A0%80id",
    "invalid UTF-8": "probe%FFid",
    "encoded traversal": "..%2F..%2F..%2Fetc%2Fpasswd",
    "dot-dot": "%2E%2E",
    "backslash traversal": "..%5C..%5Cwindows",
    "very long": "i" * 5000,
    "SQL": "x%27%20OR%20%271%27%3D%271",
    "markup": "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "percent": "%25",
    "spaces": "%20%20",
}
# Query values and form fields, already percent-encoded.
HOSTILE_VALUES = {
    **{name: value for name, value in HOSTILE_IDS.items() if name not in ("dot-dot", "percent")},
    "very long": "v" * 20000,
    "huge number": "9" * 400,
    "negative": "-1",
    "exponent": "1e999",
    "NaN": "NaN",
    "empty": "",
}
# One string of a JSON body at a time.
HOSTILE_STRINGS = {
    "NUL": "probe\x00name",
    "control characters": "probe\x1b[31m\x07\x08name",
    "DEL and C1": "probe\x7f\x85name",
    "lone surrogate": "probe\ud800name",
    "very long": "s" * 100_000,
    "traversal": "../../../etc/passwd",
    "empty": "",
}
# One number of a JSON body at a time, as it appears in the JSON text.
HOSTILE_NUMBERS = {
    "huge integer": "9" * 400,
    "integer past Python's 4300-digit limit": "9" * 5000,
    "float overflowing to infinity": "1e400",
    "NaN": "NaN",
    "Infinity": "-Infinity",
    "64-bit overflow": str(2**63),
    "negative": "-1",
    "fraction": "0.5",
}
OVERSIZED = 2 * 1024 * 1024
RAW = "\u2063raw\u2063"  # stands for a number written into the JSON text as it is


@dataclass(frozen=True)
class Probe:
    what: str
    method: str
    url: str
    content: bytes | None = None
    content_type: str | None = None


@dataclass
class Endpoint:
    """One method of one route, as the app declares it."""

    method: str
    path: str
    path_params: list[str] = field(default_factory=list)
    query_params: list[str] = field(default_factory=list)
    json_schema: dict | None = None
    form_fields: dict[str, bool] = field(default_factory=dict)  # name: takes a list
    mount: bool = False

    @property
    def takes_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


def endpoints_of(app: FastAPI) -> list[Endpoint]:
    """Every route the app serves (routers included lazily too), one entry per method."""
    found: list[Endpoint] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path or ""
        if isinstance(route, Mount):
            found.append(Endpoint("GET", path, mount=True))
            continue
        for method in sorted((context.methods or {"GET"}) - {"HEAD"}):
            endpoint = Endpoint(method, path)
            if isinstance(route, APIRoute):
                dependant = route.dependant
                endpoint.path_params = [param.name for param in dependant.path_params]
                endpoint.query_params = [param.alias for param in dependant.query_params]
                endpoint.json_schema = _json_schema(route)
                if endpoint.json_schema is None:
                    endpoint.form_fields = {
                        param.alias: "list" in str(param.field_info.annotation)
                        for param in dependant.body_params
                    }
            found.append(endpoint)
    return found


def _json_schema(route: APIRoute) -> dict | None:
    extra = (route.openapi_extra or {}).get("requestBody", {}).get("content", {}).get("application/json")
    if extra:
        return extra["schema"]
    params = route.dependant.body_params
    if not params or type(params[0].field_info).__name__ != "Body":
        return None
    annotation = (
        route.body_field.field_info.annotation if route.body_field else params[0].field_info.annotation
    )
    return TypeAdapter(annotation).json_schema()


# --- Bodies from schemas ----------------------------------------------------------------------------


def _resolve(schema: dict, defs: dict) -> dict:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def benign(schema: dict, defs: dict) -> Any:
    """A plausible value for the schema: what a probe leaves standing beside its hostile field."""
    schema = _resolve(schema, defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, defs).get("type") != "null"] or schema[key]
            return benign(options[0], defs)
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        if not properties and schema.get("additionalProperties"):
            return {
                "key": benign(schema["additionalProperties"], defs)
                if isinstance(schema["additionalProperties"], dict)
                else "probe"
            }
        return {name: benign(sub, defs) for name, sub in properties.items()}
    if kind == "array":
        return [benign(schema.get("items", {}), defs)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    return {
        "email": "probe@example.org",
        "date-time": "2026-01-01T00:00:00Z",
        "uri": "https://lms.example.org/{attempt_id}",
    }.get(schema.get("format", ""), "probe")


def leaves(schema: dict, defs: dict, at: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """(path, kind) of every string and number the body's schema holds."""
    schema = _resolve(schema, defs)
    if "const" in schema:
        return
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, defs).get("type") != "null"]
            if options:
                yield from leaves(options[0], defs, at)
            return
    kind = schema.get("type")
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            yield from leaves(sub, defs, (*at, name))
    elif kind == "array":
        yield from leaves(schema.get("items", {}), defs, (*at, 0))
    elif kind in ("integer", "number"):
        yield at, "number"
    elif kind in ("string", None) and "enum" not in schema:
        yield at, "string"


def with_value(body: Any, at: tuple, value: Any) -> Any:
    copy = json.loads(json.dumps(body))
    if not at:
        return value
    target = copy
    for step in at[:-1]:
        target = target[step]
    target[at[-1]] = value
    return copy


def json_text(body: Any, raw: str | None = None) -> bytes:
    """The body as JSON text (ASCII: a lone surrogate travels as its \\ud800 escape), with a
    number written in as it is where the body holds RAW."""
    text = json.dumps(body)
    if raw is not None:
        text = text.replace(json.dumps(RAW), raw)
    return text.encode()


# --- Probes ---------------------------------------------------------------------------------------


def fill(path: str, ids: dict[str, str], hostile: tuple[str, str] | None = None) -> str:
    def segment(name: str) -> str:
        if hostile and hostile[0] == name:
            return hostile[1]
        return quote(ids.get(name, "probe"), safe="")

    for name in [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]:
        path = path.replace("{" + name + "}", segment(name))
    return path


def probes(endpoint: Endpoint, ids: dict[str, str], form_defaults: dict[str, str]) -> Iterator[Probe]:
    method = endpoint.method
    url = fill(endpoint.path, ids)
    if endpoint.mount:
        for name, hostile in HOSTILE_IDS.items():
            yield Probe(f"file {name}", method, f"{endpoint.path}/{hostile}")
        yield Probe("file traversal", method, f"{endpoint.path}/../../auth.py")
        return
    body, content_type = _benign_body(endpoint, form_defaults)

    for param in endpoint.path_params:
        for name, hostile in HOSTILE_IDS.items():
            yield Probe(
                f"path {param}: {name}",
                method,
                fill(endpoint.path, ids, (param, hostile)),
                body,
                content_type,
            )
    for param in endpoint.query_params:
        for name, hostile in HOSTILE_VALUES.items():
            yield Probe(f"query {param}: {name}", method, f"{url}?{param}={hostile}", body, content_type)
        yield Probe(f"query {param}: repeated", method, f"{url}?{param}=1&{param}=2", body, content_type)
    if not endpoint.takes_body:
        return

    yield Probe("oversized JSON", method, url, b'{"p": "' + b"x" * OVERSIZED + b'"}', "application/json")
    yield Probe("oversized form", method, url, b"p=" + b"x" * OVERSIZED, "application/x-www-form-urlencoded")
    yield Probe(
        "oversized multipart", method, url, _multipart("x" * OVERSIZED), "multipart/form-data; boundary=b"
    )
    yield Probe("malformed JSON", method, url, b'{"title": "x", ', "application/json")
    yield Probe("invalid UTF-8", method, url, b'{"title": "\xff\xfe"}', "application/json")
    yield Probe("UTF-16 JSON", method, url, json.dumps({"a": "b"}).encode("utf-16"), "application/json")
    yield Probe("deep nesting", method, url, b"[" * 100_000 + b"]" * 100_000, "application/json")
    yield Probe(
        "deep nesting, object", method, url, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"
    )
    for name, text in {"array": b"[]", "null": b"null", "string": b'"x"', "number": b"1e400"}.items():
        yield Probe(f"JSON {name} for the body", method, url, text, "application/json")
    for content_type_probe in ("text/plain", "application/xml", "application/octet-stream", None):
        yield Probe(
            f"content type {content_type_probe}", method, url, body or b'{"a": 1}', content_type_probe
        )
    yield Probe("form for JSON", method, url, b"title=x&lessons=y", "application/x-www-form-urlencoded")
    yield Probe(
        "broken multipart",
        method,
        url,
        b"--b\r\nContent-Disposition: form-data\r\n\r\nx",
        "multipart/form-data; boundary=b",
    )
    yield Probe("multipart without boundary", method, url, b"x", "multipart/form-data")

    if endpoint.json_schema is not None:
        schema = endpoint.json_schema
        defs = schema.get("$defs", {})
        start = benign(schema, defs)
        for at, kind in leaves(schema, defs):
            where = ".".join(map(str, at)) or "body"
            if kind == "string":
                for name, value in HOSTILE_STRINGS.items():
                    yield Probe(
                        f"JSON {where}: {name}",
                        method,
                        url,
                        json_text(with_value(start, at, value)),
                        "application/json",
                    )
                yield Probe(
                    f"JSON {where}: a number",
                    method,
                    url,
                    json_text(with_value(start, at, 12)),
                    "application/json",
                )
            else:
                for name, number in HOSTILE_NUMBERS.items():
                    text = json_text(with_value(start, at, RAW), raw=number)
                    yield Probe(f"JSON {where}: {name}", method, url, text, "application/json")
                yield Probe(
                    f"JSON {where}: a string",
                    method,
                    url,
                    json_text(with_value(start, at, "12")),
                    "application/json",
                )
    for name in endpoint.form_fields:
        for hostile_name, hostile in HOSTILE_VALUES.items():
            fields = {**_form_values(endpoint, form_defaults), name: None}
            content = (_urlencoded(fields) + f"&{name}={hostile}").encode()
            yield Probe(
                f"form {name}: {hostile_name}", method, url, content, "application/x-www-form-urlencoded"
            )


def _benign_body(endpoint: Endpoint, form_defaults: dict[str, str]) -> tuple[bytes | None, str | None]:
    if not endpoint.takes_body:
        return None, None
    if endpoint.json_schema is not None:
        schema = endpoint.json_schema
        return json_text(benign(schema, schema.get("$defs", {}))), "application/json"
    return _urlencoded(_form_values(endpoint, form_defaults)).encode(), "application/x-www-form-urlencoded"


def _form_values(endpoint: Endpoint, form_defaults: dict[str, str]) -> dict[str, str | None]:
    values: dict[str, str | None] = {name: form_defaults.get(name, "probe") for name in endpoint.form_fields}
    if "csrf_token" in form_defaults and not endpoint.path.endswith("/logout"):
        values.setdefault("csrf_token", form_defaults["csrf_token"])  # a token every form takes
    return values


def _urlencoded(fields: dict[str, str | None]) -> str:
    return urlencode([(name, value) for name, value in fields.items() if value is not None])


def _multipart(value: str) -> bytes:
    return f'--b\r\nContent-Disposition: form-data; name="p"\r\n\r\n{value}\r\n--b--\r\n'.encode()


# --- What comes back ------------------------------------------------------------------------------


def problem_with(family: str, response: httpx.Response) -> str | None:
    """Why this answer is wrong, or None: never a 5xx; refusals in the family's shape."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if status < 400:
        return None
    kind = response.headers.get("content-type", "")
    if family == "json":
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            return f"{status} not in the JSON error shape ({kind})"
        if not (error.get("code") and error.get("message")):
            return f"{status} without a code or message"
    elif family == "page" and status == 413 and kind.startswith("application/json"):
        # The body limit answers before any route, for the whole app (`web.hardening`), in the
        # JSON error shape: no form of the reviewer UI comes near it.
        return problem_with("json", response)
    elif family == "page" and not kind.startswith("text/html"):
        return f"{status} is not a page ({kind})"
    return None


@dataclass
class Caller:
    """Who sends the probes of one part of the app, and what shape its refusals take."""

    family: str  # "json", "page" or "any"
    client: httpx.AsyncClient
    ids: dict[str, str] = field(default_factory=dict)
    form_defaults: dict[str, str] = field(default_factory=dict)
    sign_body: Callable[[bytes], dict[str, str]] | None = None


@dataclass
class Findings:
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    by_route: dict[str, int] = field(default_factory=dict)


async def send_all(caller: Caller, endpoints: list[Endpoint], findings: Findings) -> None:
    for endpoint in endpoints:
        label = f"{endpoint.method} {endpoint.path}"
        for probe in probes(endpoint, caller.ids, caller.form_defaults):
            headers = {"Content-Type": probe.content_type} if probe.content_type else {}
            if caller.sign_body is not None:
                headers |= caller.sign_body(probe.content or b"")
            try:
                response = await caller.client.request(
                    probe.method, httpx.URL(probe.url), content=probe.content, headers=headers
                )
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as error:
                findings.sent += 1
                if probe.what.startswith("oversized"):
                    # Refused from its Content-Length before it is read: the server answers 413
                    # and closes the connection, which the client may see before the answer.
                    continue
                findings.failures.append(f"{label} [{probe.what}]: no answer ({type(error).__name__})")
                continue
            except httpx.HTTPError as error:
                findings.failures.append(f"{label} [{probe.what}]: no answer ({type(error).__name__})")
                continue
            findings.sent += 1
            findings.by_route[label] = findings.by_route.get(label, 0) + 1
            family = "any" if caller.family == "any" else family_of(endpoint.path)
            problem = problem_with(family, response)
            if problem:
                findings.failures.append(
                    f"{label} [{probe.what}] {probe.url[:120]}: {problem}: {response.text[:300]!r}"
                )


def report(findings: Findings) -> str:
    return f"{len(findings.failures)} of {findings.sent} probes failed:\n" + "\n".join(findings.failures[:40])


# --- The running system ---------------------------------------------------------------------------


@dataclass
class Hostile:
    stack: Stack
    app: FastAPI
    world: ReviewWorld
    reviewer: httpx.AsyncClient
    api_ids: dict[str, str]
    review_ids: dict[str, str]


@pytest.fixture(scope="module")
async def stack(dev_server, tmp_path_factory) -> AsyncIterator[Stack]:
    generous = {
        "review_login_limit_per_account": "100000/minute",
        "review_login_limit_per_address": "100000/minute",
    }
    async with running_stack(
        dev_server.client, tmp_path_factory.mktemp("hostile-routes"), **generous
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def hostile(stack: Stack) -> AsyncIterator[Hostile]:
    # Real objects behind the benign ids, so a probe of one field reaches the code that reads
    # and writes them: the LMS's course, lesson, learner, attempt and integration; the
    # reviewer's task and learner.
    course_id, _ = await proctored_course(stack.api)
    learner_id = unique("learner")
    attempt_id = (await open_attempt(stack.api, course_id, learner_id))["attempt_id"]
    await put_course(stack.api, unique("course"), [exam_lesson()])
    integration = await add_integration(stack.api)
    api_ids = {
        "course_id": course_id,
        "lesson_id": "exam",
        "learner_id": learner_id,
        "attempt_id": attempt_id,
        "integration_id": integration["id"],
    }
    world = ReviewWorld(stack).seed()
    taken = await world.learner_finishes("Probe Learner")  # its task is not ready: nothing is decided
    task = await world.wait_for_task(taken.attempt_id, "not_ready")
    review_ids = {"task_id": task.id, "course_id": COURSE, "learner_id": taken.learner_id, "lesson_id": EXAM}
    reviewer = await signed_in_client(world)
    yield Hostile(stack, create_app(stack.settings), world, reviewer, api_ids, review_ids)
    await reviewer.aclose()


def family_of(path: str) -> str:
    if path.startswith(("/api/", "/codec")):
        return "json"
    if path.startswith("/review") and not path.startswith("/review/static"):
        return "page"
    return "any"


def signed_webhook(secret: str) -> Callable[[bytes], dict[str, str]]:
    def headers(body: bytes) -> dict[str, str]:
        now = int(time.time())
        return {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign(secret, now, body)}

    return headers


# --- The tests ------------------------------------------------------------------------------------


def test_every_route_of_the_app_is_probed(stack: Stack):
    endpoints = endpoints_of(create_app(stack.settings))
    paths = {endpoint.path for endpoint in endpoints}
    assert len(endpoints) >= 40, paths
    for part in (
        "/api/v1/",
        "/codec/",
        "/review/",
        "/api/v1/webhooks/proctorfree",
        "/healthz",
        "/openapi.json",
    ):
        assert any(path.startswith(part) for path in paths), part
    with_forms = [e for e in endpoints if e.form_fields]
    with_json = [e for e in endpoints if e.json_schema]
    assert len(with_forms) >= 4 and len(with_json) >= 15, (with_forms, with_json)
    for endpoint in with_forms + with_json:
        assert any(True for _ in probes(endpoint, {}, {})), endpoint


async def test_the_lms_api_refuses_hostile_input_in_its_error_shape_never_a_server_error(hostile: Hostile):
    stack = hostile.stack
    endpoints = [
        e for e in endpoints_of(hostile.app) if e.path.startswith("/api/") and "webhooks" not in e.path
    ]
    findings = Findings()
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.token}"}, timeout=60
    ) as lms:
        await send_all(Caller("json", lms, hostile.api_ids), endpoints, findings)
    print(f"\nLMS API: {findings.sent} probes over {len(findings.by_route)} endpoints")
    assert len(findings.by_route) == len([e for e in endpoints if any(True for _ in probes(e, {}, {}))])
    assert not findings.failures, report(findings)


async def test_the_signed_webhook_refuses_hostile_input_in_its_error_shape(hostile: Hostile):
    stack = hostile.stack
    endpoints = [e for e in endpoints_of(hostile.app) if e.path.startswith("/api/v1/webhooks/")]
    assert endpoints
    findings = Findings()
    signer = signed_webhook(stack.settings.webhook_secret)
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as proctorfree:
        await send_all(Caller("json", proctorfree, sign_body=signer), endpoints, findings)
        # Unsigned, with hostile signature headers.
        for name, value in {"huge": "9" * 400, "negative": "-5", "float": "1.5e9", "spaces": "1 2"}.items():
            response = await proctorfree.post(
                "/api/v1/webhooks/proctorfree",
                content=b"{}",
                headers={TIMESTAMP_HEADER: value, SIGNATURE_HEADER: "v1=00"},
            )
            findings.sent += 1
            if problem_with("json", response) or response.status_code != 401:
                findings.failures.append(f"timestamp {name}: {response.status_code} {response.text[:200]}")
    assert not findings.failures, report(findings)


async def test_the_codec_endpoint_refuses_hostile_input_in_its_error_shape(hostile: Hostile):
    stack = hostile.stack
    endpoints = [e for e in endpoints_of(hostile.app) if e.path.startswith("/codec")]
    assert len(endpoints) >= 2
    findings = Findings()
    async with httpx.AsyncClient(
        base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.settings.codec_token}"}, timeout=60
    ) as ops:
        await send_all(Caller("json", ops), endpoints, findings)
    assert not findings.failures, report(findings)


async def test_the_reviewer_ui_refuses_hostile_input_with_a_page_never_a_server_error(hostile: Hostile):
    endpoints = [e for e in endpoints_of(hostile.app) if e.path.startswith("/review")]
    assert len(endpoints) >= 8
    tasks_page = await hostile.reviewer.get("/review/tasks")
    assert tasks_page.status_code == 200, tasks_page.text
    form_defaults = {
        "csrf_token": csrf_of(tasks_page.text),
        "decision": "pass",
        "new_result": "passed",
        "reviewed": "",
        "confirmed": "",
        "reevaluate": "",
        "task_ids": hostile.review_ids["task_id"],
        "current_password": "not-the-password",  # a probe never changes the reviewer's password
        "username": "probe",
        "password": "probe",
    }
    findings = Findings()
    signed_in = Caller("page", hostile.reviewer, hostile.review_ids, form_defaults)
    await send_all(signed_in, [e for e in endpoints if not e.path.endswith("/login")], findings)
    async with httpx.AsyncClient(base_url=hostile.stack.base_url, timeout=60) as visitor:
        login = await visitor.get("/review/login")
        anonymous = Caller("page", visitor, hostile.review_ids, {"csrf_token": csrf_of(login.text)})
        await send_all(anonymous, endpoints, findings)
    still_signed_in = await hostile.reviewer.get("/review/tasks")
    assert still_signed_in.status_code == 200, "no probe signed the reviewer out or changed the password"
    print(f"\nreviewer UI: {findings.sent} probes over {len(findings.by_route)} endpoints")
    assert not findings.failures, report(findings)


async def test_the_rest_of_the_app_never_answers_hostile_input_with_a_server_error(hostile: Hostile):
    endpoints = [
        e for e in endpoints_of(hostile.app) if not e.path.startswith(("/api/", "/codec", "/review"))
    ]
    assert {"/healthz", "/openapi.json"} <= {e.path for e in endpoints}
    findings = Findings()
    async with httpx.AsyncClient(base_url=hostile.stack.base_url, timeout=60) as anyone:
        await send_all(Caller("any", anyone), endpoints, findings)
        for path in (
            "/no-such-page",
            "/api/v1/no-such-resource",
            "/review/no-such-page",
            "/%00",
            "/..%2F..%2Fetc",
        ):
            for method in ("GET", "POST", "DELETE"):
                response = await anyone.request(method, httpx.URL(path))
                findings.sent += 1
                problem = problem_with(family_of(path), response)
                if problem:
                    findings.failures.append(f"{method} {path}: {problem}: {response.text[:200]!r}")
    assert not findings.failures, report(findings)


async def test_the_demo_lms_never_answers_hostile_input_with_a_server_error(stack: Stack):
    try:
        from tests.demo_lms.support import serving_demo_lms
    except ImportError:
        pytest.skip("demo_lms/ is not in this tree")
    course_id, _ = await proctored_course(stack.api)
    async with serving_demo_lms(stack, courses=course_id) as demo:
        endpoints = endpoints_of(demo.app)
        assert len(endpoints) >= 8, [e.path for e in endpoints]
        ids = {"course_id": course_id, "lesson_id": "exam", "attempt_id": "probe"}
        findings = Findings()
        async with demo.learner() as browser:
            await send_all(
                Caller("any", browser, ids, {"learner_id": "learner-ada", "next": "/"}), endpoints, findings
            )
        async with httpx.AsyncClient(base_url=demo.base_url, timeout=60) as visitor:
            await send_all(Caller("any", visitor, ids), endpoints, findings)
    print(f"\ndemo LMS: {findings.sent} probes over {len(findings.by_route)} endpoints")
    assert not findings.failures, report(findings)
