"""The learner the demo pretends is signed in to the LMS.

Named once (the index's form, or `?learner_id=&name=&email=` on a lesson link) and remembered in
a cookie, as an LMS session would, so the demo's own links carry only the attempt number: a name
or e-mail in a URL would end up in access logs.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass

from fastapi import Query, Request, Response

COOKIE = "proctorflow_demo_learner"
DEFAULT = {"learner_id": "learner-demo", "name": "Demo Learner", "email": "demo.learner@example.org"}


@dataclass(frozen=True)
class Visitor:
    learner_id: str
    name: str
    email: str
    attempt: int

    def remember(self, response: Response) -> None:
        identity = asdict(self)
        identity.pop("attempt")
        token = base64.urlsafe_b64encode(json.dumps(identity).encode()).decode().rstrip("=")
        response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/learn")


def visitor(
    request: Request,
    learner_id: str | None = None,
    name: str | None = None,
    email: str | None = None,
    attempt: int = Query(1, ge=1, le=10000),
) -> Visitor:
    """A learner named in the query wins (missing parts take the defaults); else the remembered one."""
    given = {"learner_id": learner_id, "name": name, "email": email}
    if any(value is not None for value in given.values()):
        identity = {key: value if value is not None else DEFAULT[key] for key, value in given.items()}
    else:
        identity = _remembered(request) or DEFAULT
    return Visitor(attempt=attempt, **identity)


def _remembered(request: Request) -> dict[str, str] | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        identity = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        return None  # a cookie we did not write: start over as the demo learner
    if not isinstance(identity, dict) or set(identity) != set(DEFAULT):
        return None
    return {key: str(identity[key]) for key in DEFAULT}
