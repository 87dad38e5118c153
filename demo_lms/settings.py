"""The demo LMS's settings, from the environment (and `.env`), prefixed `PROCTORFLOW_DEMO_LMS_`."""

from __future__ import annotations

import secrets

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DemoLmsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTORFLOW_DEMO_LMS_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8200
    # Where browsers and ProctorFlow's deliveries reach this app; by default its host and port.
    public_url: str | None = None
    # ProctorFlow's public API, and this LMS's organisation token for it.
    api_url: str = "http://127.0.0.1:8000/api/v1"
    token: str = ""
    # The courses the home page lists (the LMS's own catalog), comma-separated.
    courses: str = "course-demo"
    # Signs the learner cookie; a new one each start unless set (learners then pick again).
    cookie_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    # How long to keep trying ProctorFlow at start, when it is still starting too.
    connect_timeout: float = Field(default=60.0, gt=0)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def course_ids(self) -> list[str]:
        return [course.strip() for course in self.courses.split(",") if course.strip()]

    @property
    def return_url(self) -> str:
        """The exam page ProctorFree sends the learner to after "confirm and start"."""
        return f"{self.base_url}/attempts/{{attempt_id}}/quiz"

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/events"
