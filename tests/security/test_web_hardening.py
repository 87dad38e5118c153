"""The whole web app shares one body limit and one set of security headers; CORS is on the codec
endpoint only; the codec endpoint refuses unsealed and malformed payloads with a 4xx that says
why, and accepts the static token or a Temporal UI user's OIDC access token verified against the
identity provider's JWKS (`web.hardening`, `web.codec`, `web.oidc`).

The web app runs for real (uvicorn, a migrated database) without a worker: no request here
starts a workflow. The identity provider is a local server publishing a locally made RSA key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from proctorflow.codec import EncryptionCodec, PayloadKeys, new_key_spec
from proctorflow.settings import Settings
from tests.support.database import fresh_database_url
from tests.support.keys import TEST_PAYLOAD_KEYS
from tests.support.servers import free_port, serve_in_thread
from tests.support.settings import loopback_settings
from web.app import create_app
from web.hardening import MAX_BODY_BYTES, Hardening
from web.oidc import AccessTokens, IdentityProviderUnavailable

ISSUER = "https://login.example.test/realms/ops"
AUDIENCE = "temporal-ui"
KID = "idp-key-1"
TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "review" / "templates"


@dataclass
class IdentityProvider:
    key: rsa.RSAPrivateKey
    jwks_url: str

    def token(self, key: rsa.RSAPrivateKey | None = None, kid: str = KID, **claims: object) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ops-user", "iat": now, "exp": now + 300, **claims}
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": kid})


@dataclass
class Web:
    base_url: str
    settings: Settings

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10, **kwargs)  # type: ignore[arg-type]

    def codec_token(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.codec_token}"}


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    published = {
        **json.loads(RSAAlgorithm.to_jwk(key.public_key())),
        "kid": KID,
        "alg": "RS256",
        "use": "sig",
    }

    async def jwks(_: Request) -> JSONResponse:
        return JSONResponse({"keys": [published]})

    with serve_in_thread(Starlette(routes=[Route("/jwks", jwks)]), free_port()) as url:
        yield IdentityProvider(key, f"{url}/jwks")


@pytest.fixture(scope="module")
def web(idp: IdentityProvider, tmp_path_factory) -> Iterator[Web]:
    settings = loopback_settings(
        fresh_database_url(tmp_path_factory.mktemp("hardening")),
        "127.0.0.1:9",
        f"unused-{uuid.uuid4().hex[:8]}",
        TEST_PAYLOAD_KEYS,
        codec_oidc_issuer=ISSUER,
        codec_oidc_audience=AUDIENCE,
        codec_oidc_jwks_url=idp.jwks_url,
    )
    # No route called here reaches Temporal: a stand-in client keeps the app from connecting.
    with serve_in_thread(create_app(settings, temporal=object()), settings.http_port) as base_url:  # type: ignore[arg-type]
        yield Web(base_url, settings)


# --- One set of security headers ----------------------------------------------------------------


def assert_hardened(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    policy = response.headers.get("content-security-policy", "")
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives.get("default-src") == "'self'", where
    assert directives.get("frame-ancestors") == "'none'", where
    assert "unsafe-inline" not in directives.get("script-src", "'self'"), where
    assert response.headers.get("x-frame-options") == "DENY", where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("referrer-policy") == "no-referrer", where


def test_every_response_of_every_part_carries_the_security_headers(web: Web):
    with web.client() as http:
        responses = [
            http.get("/livez"),
            http.get("/api/v1/attempts/a-1"),  # 401
            http.get("/nothing-here"),  # 404
            http.get("/review/login"),
            http.get("/review/tasks", follow_redirects=False),  # 303 to the login page
            http.get("/review/static/review.css"),
            http.post("/codec/decode", json={"payloads": []}),  # 401
            http.post("/api/v1/webhooks/proctorfree", json={}),  # 401: unsigned
            http.options(
                "/codec/decode",
                headers={"Origin": web.settings.codec_ui_origin, "Access-Control-Request-Method": "POST"},
            ),
            http.get("/openapi.json"),
            http.get("/docs"),
        ]
    for response in responses:
        assert_hardened(response)
    assert [r.status_code for r in responses] == [200, 401, 404, 200, 303, 200, 401, 401, 200, 200, 200]


def test_the_reviewer_ui_has_no_inline_script_or_style_and_its_stylesheet_is_served(web: Web):
    with web.client() as http:
        page = http.get("/review/login")
        sheet = http.get("/review/static/review.css")
    assert re.search(r"<style|\sstyle=|<script|\son[a-z]+=|javascript:", page.text, re.I) is None
    assert '<link rel="stylesheet" href="/review/static/review.css">' in page.text
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    assert ".badge" in sheet.text
    for template in sorted(TEMPLATES.glob("*.html")):
        found = re.search(r"<style|\sstyle=|<script|\son[a-z]+=|javascript:", template.read_text(), re.I)
        assert found is None, f"{template.name}: {found and found[0]!r} is refused by the pages' CSP"


def test_the_api_docs_run_their_inline_script_under_a_nonce_of_their_own(web: Web):
    with web.client() as http:
        first, second = http.get("/docs"), http.get("/docs")
    nonce = re.search(r"'nonce-([^']+)'", first.headers["content-security-policy"])
    assert nonce is not None and f'<script nonce="{nonce[1]}">' in first.text
    assert nonce[1] not in second.text, "a fresh nonce per page"
    assert "<script>" not in first.text


async def test_a_server_error_is_answered_in_the_error_shape_with_the_headers():
    async def failing(scope, receive, send):
        raise RuntimeError("boom: grace@example.org")

    transport = httpx.ASGITransport(app=Hardening(failing), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        response = await http.get("/")
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal"
    assert "grace" not in response.text
    assert_hardened(response)


# --- One body limit -----------------------------------------------------------------------------

LIMITED = [
    ("POST", "/codec/decode"),
    ("POST", "/codec/encode"),
    ("POST", "/review/login"),
    ("POST", "/review/tasks/bulk"),
    ("POST", "/api/v1/webhooks/proctorfree"),
    ("PUT", "/api/v1/courses/big"),
]


@pytest.mark.parametrize(("method", "path"), LIMITED)
def test_an_oversized_body_is_refused_on_every_route_declared_or_streamed(web: Web, method, path):
    huge = b'{"payloads": ["' + b"x" * (MAX_BODY_BYTES + 10) + b'"]}'

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(huge), 64 * 1024):
            yield huge[start : start + 64 * 1024]

    headers = {"Content-Type": "application/json", **web.codec_token()}
    with web.client() as http:  # one connection: a refusal leaves it usable
        declared = http.request(method, path, content=huge, headers=headers)
        streamed = http.request(method, path, content=chunks(), headers=headers)
        after = http.get("/livez")
    assert after.status_code == 200

    for response, words in ((declared, f"at most {MAX_BODY_BYTES} bytes"), (streamed, "over")):
        assert response.status_code == 413, (path, response.status_code, response.text[:200])
        error = response.json()["error"]
        assert error["code"] == "too_large" and words in error["message"]
        assert error["details"] == {"max_bytes": MAX_BODY_BYTES}
        assert_hardened(response)


def test_a_body_within_the_limit_reaches_its_route(web: Web):
    body = {"payloads": [{"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": ""}]}
    body["pad"] = "x" * (MAX_BODY_BYTES - 200)  # type: ignore[assignment]
    with web.client() as http:
        response = http.post("/codec/encode", json=body, headers=web.codec_token())
    assert response.status_code == 200, response.text[:200]


# --- CORS on the codec endpoint only ------------------------------------------------------------


def test_cors_is_answered_for_the_temporal_ui_on_the_codec_endpoint_and_nowhere_else(web: Web):
    origin = web.settings.codec_ui_origin
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    with web.client() as http:
        codec = http.options("/codec/decode", headers=preflight)
        api = http.options("/api/v1/attempts/open", headers=preflight)
        review = http.options("/review/login", headers=preflight)
        page = http.get("/review/login", headers={"Origin": origin})
        stranger = http.options("/codec/decode", headers={**preflight, "Origin": "https://evil.example"})

    assert codec.headers["access-control-allow-origin"] == origin
    assert codec.headers["access-control-allow-credentials"] == "true"
    for response in (api, review, page, stranger):
        assert "access-control-allow-origin" not in response.headers, response.request.url


# --- The codec endpoint: sealed payloads only, malformed input answered 4xx ----------------------


def payload(metadata: dict[str, bytes], data: bytes) -> dict:
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in metadata.items()},
        "data": base64.b64encode(data).decode(),
    }


def test_sealed_payloads_are_opened_and_encoded_ones_round_trip(web: Web):
    plain = payload({"encoding": b"json/plain"}, b'{"decision": "pass"}')
    with web.client(headers=web.codec_token()) as http:
        sealed = http.post("/codec/encode", json={"payloads": [plain]})
        opened = http.post("/codec/decode", json=sealed.json())
        empty = http.post("/codec/decode", json={"payloads": []})
    assert sealed.status_code == 200 and "pass" not in sealed.text
    assert opened.status_code == 200 and opened.json()["payloads"] == [plain]
    assert empty.json() == {"payloads": []}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "not base64!"}]},
            "data is not base64",
        ),
        ({"payloads": [{"metadata": {"encoding": "%%%"}, "data": ""}]}, "metadata.encoding is not base64"),
        ({"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "ü"}]}, "data is not base64"),
        ({"payloads": "nope"}, "payloads"),
        ({"payload": []}, "payloads"),
        ([], "body"),
    ],
    ids=["data", "metadata", "non-ascii", "not-a-list", "missing", "not-an-object"],
)
def test_malformed_input_is_answered_422_with_what_is_wrong(web: Web, body, words):
    with web.client(headers=web.codec_token()) as http:
        response = http.post("/codec/decode", json=body)
    assert response.status_code == 422, response.text
    assert words in response.json()["error"]["message"]


def test_a_body_that_is_not_json_is_answered_422(web: Web):
    with web.client(headers={**web.codec_token(), "Content-Type": "application/json"}) as http:
        response = http.post("/codec/decode", content=b"{'payloads': oops")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"


async def test_unsealed_altered_and_foreign_payloads_are_refused_not_passed_through(web: Web):
    keys = PayloadKeys.parse(TEST_PAYLOAD_KEYS)
    (sealed,) = await EncryptionCodec(keys).encode([_plain(b'{"decision": "fail"}')])
    (foreign,) = await EncryptionCodec(PayloadKeys.parse(new_key_spec("other-1"))).encode([_plain(b"1")])
    altered = payload(dict(sealed.metadata), sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    cases = [
        (payload({"encoding": b"json/plain"}, b'{"decision": "pass"}'), "is not sealed"),
        (altered, "does not open with key 'test-1'"),
        (payload(dict(foreign.metadata), foreign.data), "unknown key 'other-1'"),
    ]
    async with httpx.AsyncClient(base_url=web.base_url, headers=web.codec_token()) as http:
        for body, words in cases:
            response = await http.post("/codec/decode", json={"payloads": [body]})
            assert response.status_code == 422, response.text
            error = response.json()["error"]
            assert error["code"] == "undecodable" and words in error["message"]
            assert "decision" not in response.text


def _plain(data: bytes):
    from temporalio.api.common.v1 import Payload

    return Payload(metadata={"encoding": b"json/plain"}, data=data)


# --- Who may call it: the static token, or a Temporal UI user's access token ----------------------


def test_a_temporal_ui_users_access_token_is_accepted(web: Web, idp: IdentityProvider):
    plain = payload({"encoding": b"json/plain"}, b"42")
    with web.client(headers={"Authorization": f"Bearer {idp.token()}"}) as http:
        sealed = http.post("/codec/encode", json={"payloads": [plain]})
        opened = http.post("/codec/decode", json=sealed.json())
    assert sealed.status_code == 200, sealed.text
    assert opened.status_code == 200 and opened.json()["payloads"] == [plain]


def _hs256_with_the_public_key(idp: IdentityProvider) -> str:
    """The algorithm-confusion forgery: HS256 keyed with the provider's public key."""
    public = idp.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300}
    signing = f"{_b64url({'alg': 'HS256', 'kid': KID, 'typ': 'JWT'})}.{_b64url(claims)}"
    signature = hmac.new(public, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _unsigned(idp: IdentityProvider) -> str:
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300}
    return f"{_b64url({'alg': 'none', 'kid': KID, 'typ': 'JWT'})}.{_b64url(claims)}."


def _b64url(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


FORGED = {
    "expired": lambda idp: idp.token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
    "another audience": lambda idp: idp.token(aud="some-other-app"),
    "another issuer": lambda idp: idp.token(iss="https://login.evil.test/"),
    "no expiry": lambda idp: idp.token(exp=None),
    "a key the provider never published": lambda idp: idp.token(
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ),
    "another key under the provider's key id": lambda idp: idp.token(
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048), kid=KID
    ),
    "HS256 with the public key": _hs256_with_the_public_key,
    "alg none": _unsigned,
    "not a JWT": lambda idp: "not-a-jwt",
}


@pytest.mark.parametrize("forged", list(FORGED))
def test_an_access_token_that_does_not_verify_is_refused_with_the_reason(
    web: Web, idp: IdentityProvider, forged
):
    token = FORGED[forged](idp)
    with web.client(headers={"Authorization": f"Bearer {token}"}) as http:
        response = http.post("/codec/decode", json={"payloads": []})
    assert response.status_code == 401, (forged, response.text)
    assert "the access token is not valid" in response.json()["error"]["message"]
    assert_hardened(response)


def test_without_a_configured_identity_provider_only_the_static_token_opens_the_codec(tmp_path, idp):
    settings = loopback_settings(
        fresh_database_url(tmp_path), "127.0.0.1:9", "unused", TEST_PAYLOAD_KEYS, codec_token="static-token"
    )
    with (
        serve_in_thread(create_app(settings, temporal=object()), settings.http_port) as base_url,  # type: ignore[arg-type]
        httpx.Client(base_url=base_url, timeout=10) as http,
    ):
        jwt_refused = http.post(
            "/codec/decode", json={"payloads": []}, headers={"Authorization": f"Bearer {idp.token()}"}
        )
        static = http.post(
            "/codec/decode", json={"payloads": []}, headers={"Authorization": "Bearer static-token"}
        )
        odd = http.post(
            "/codec/decode", json={"payloads": []}, headers={"Authorization": "Bearer tök".encode("latin-1")}
        )
    assert (
        jwt_refused.status_code == 401 and "PROCTORFLOW_CODEC_TOKEN" in jwt_refused.json()["error"]["message"]
    )
    assert static.status_code == 200
    assert odd.status_code == 401, "a token that is not ASCII is refused, not a server error"


def test_an_unreachable_identity_provider_is_answered_503_not_401(idp: IdentityProvider):
    tokens = AccessTokens(ISSUER, AUDIENCE, f"http://127.0.0.1:{free_port()}/jwks")
    with pytest.raises(IdentityProviderUnavailable, match="cannot fetch the identity provider's keys"):
        tokens.verify(idp.token())
