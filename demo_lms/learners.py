"""The demo learners a visitor can be, and the signed cookie that remembers which one.

The cookie holds the learner's id only, signed with HMAC-SHA256, so it cannot be edited into
another learner; names and e-mails stay on the server (and go to ProctorFlow only in the body
of `POST /attempts/open`, never in a URL).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

COOKIE = "demo_lms_learner"


@dataclass(frozen=True)
class DemoLearner:
    id: str
    name: str
    email: str

    def as_api_learner(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "email": self.email}


LEARNERS: tuple[DemoLearner, ...] = (
    DemoLearner("learner-ada", "Ada Lovelace", "ada.lovelace@example.org"),
    DemoLearner("learner-grace", "Grace Hopper", "grace.hopper@example.org"),
    DemoLearner("learner-alan", "Alan Turing", "alan.turing@example.org"),
)


def find(learner_id: str) -> DemoLearner | None:
    return next((learner for learner in LEARNERS if learner.id == learner_id), None)


class CookieSigner:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def sign(self, learner: DemoLearner) -> str:
        value = base64.urlsafe_b64encode(learner.id.encode()).decode().rstrip("=")
        return f"{value}.{self._mac(value)}"

    def learner_in(self, cookie: str | None) -> DemoLearner | None:
        """The learner a cookie this app signed names; None for a missing, edited or stale one."""
        if not cookie or "." not in cookie:
            return None
        value, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(value)):
            return None
        try:
            learner_id = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return find(learner_id)

    def _mac(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
