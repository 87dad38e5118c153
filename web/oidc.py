"""OIDC access tokens of Temporal UI users, for the codec endpoint: the UI passes its signed-in
user's access token (`passAccessToken`), and it is verified here against the identity
provider's published keys (JWKS): signature, issuer, audience and expiry.

Only asymmetric algorithms are accepted, so a token "signed" with `none` or with a shared
secret (the public key used as an HMAC key) is refused. Keys are fetched from the JWKS URL and
kept for five minutes; a token naming a key not seen yet fetches them again (key rotation)."""

from __future__ import annotations

from typing import Any

import jwt
from jwt import PyJWKClient, PyJWKClientConnectionError, PyJWKClientError

from proctorflow.errors import Refused
from web.auth import Unauthorized

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
JWKS_CACHE_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 5
LEEWAY_SECONDS = 30  # clock skew between the identity provider and this host


class IdentityProviderUnavailable(Refused):
    status = 503
    code = "unavailable"


class AccessTokens:
    """Verifies access tokens of one issuer for one audience."""

    def __init__(self, issuer: str, audience: str, jwks_url: str) -> None:
        self.issuer, self.audience, self.jwks_url = issuer, audience, jwks_url
        self._keys = PyJWKClient(jwks_url, lifespan=JWKS_CACHE_SECONDS, timeout=JWKS_TIMEOUT_SECONDS)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; `Unauthorized` with the reason when it is not valid. Blocking
        (it may fetch the JWKS): call it from a thread."""
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            return jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except PyJWKClientConnectionError:
            raise IdentityProviderUnavailable(
                f"cannot fetch the identity provider's keys from {self.jwks_url}: try again shortly"
            ) from None
        except (PyJWKClientError, jwt.InvalidTokenError) as invalid:
            raise Unauthorized(f"the access token is not valid: {invalid}") from None
