"""Settings from the environment (and `.env`), all prefixed `PROCTORFLOW_`."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Dev mode's stand-ins. The web app and the worker refuse them outside dev mode, as they refuse an
# unset secret (`proctorflow.production`); tests pass their own.
DEV_LMS_TOKEN = "dev-lms-token"
DEV_WEBHOOK_SECRET = "dev-webhook-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTORFLOW_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///.data/proctorflow.db"
    # Unset in dev mode: `proctorflow dev` starts a Temporal dev server itself.
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    # Temporal Cloud (or any TLS frontend): an API key, or a client certificate and key (paths).
    temporal_api_key: str | None = None
    temporal_tls_cert: str | None = None
    temporal_tls_key: str | None = None
    # A self-hosted frontend with mTLS: the CA that signed its certificate (a path; unset: the
    # system's roots), and the name its certificate carries when it is not the address's host.
    temporal_tls_ca: str | None = None
    temporal_tls_server_name: str | None = None
    task_queue: str = "proctorflow-attempts"

    # Set by `proctorflow dev` for the processes it starts, which then accept the dev defaults
    # below. Never set it anywhere else: without it the web app and the worker start only with
    # real secrets.
    dev_mode: bool = False

    # The default organisation's bootstrap token; a new value replaces the previous one.
    lms_token: str = DEV_LMS_TOKEN
    # Fernet keys for secrets at rest (vendor credentials, event-endpoint secrets), "newest,older",
    # the first seals, every one opens (see `proctorflow rotate-secrets`); dev mode generates one
    # under `.data/`.
    secret_key: str | None = None
    # Keys signing reviewer session cookies, "newest,older" (32+ characters each), the first signs,
    # every one verifies; dev mode generates one under `.data/`.
    session_key: str | None = None
    # Reviewer sign-in attempts allowed per account and per client address (`limits` notation,
    # e.g. "10/minute;60/hour"), counted in this storage: "async+memory://" is one process's own;
    # several web processes share one, e.g. "async+redis://host:6379" (pip install
    # "limits[async-redis]") or "async+memcached://host:11211".
    review_login_limit_per_account: str = "10/minute;60/hour"
    review_login_limit_per_address: str = "60/minute;600/hour"
    review_login_limit_storage: str = "async+memory://"
    # AES-256-GCM keys for Temporal payloads, "id:base64key[,older-id:base64key]", first current;
    # dev mode generates a key ring under `.data/`.
    payload_keys: str | None = None
    # The key of the `LearnerId` search attribute's pseudonyms (HMAC-SHA256 of the learner id).
    # Unset: derived from each payload key (the current one for new attempts), so pseudonyms
    # change when the payload key is rotated; set it (16+ characters) to keep them for good.
    learner_pseudonym_key: str | None = Field(default=None, min_length=16)
    # The codec endpoint (/codec) for the Temporal UI: callers send this bearer token, or an
    # OIDC access token of a Temporal UI user, verified against the issuer's JWKS when the three
    # codec_oidc_* settings are set. Dev mode also trusts the local Temporal UI's origin, which
    # cannot send one.
    codec_token: str | None = None
    codec_ui_origin: str = "http://127.0.0.1:8233"
    codec_trust_ui_origin: bool = False
    codec_oidc_issuer: str | None = None
    codec_oidc_audience: str | None = None
    codec_oidc_jwks_url: str | None = None
    # An LMS token found valid is trusted this long without asking the database again (most
    # calls skip a query); a token deleted from the database stops working within this time.
    token_cache_seconds: float = Field(default=60.0, ge=0)
    webhook_secret: str = DEV_WEBHOOK_SECRET
    webhook_tolerance: int = 300

    proctorfree_url: str = "http://127.0.0.1:8100"
    proctorfree_timeout: float = 10.0
    public_url: str = "http://127.0.0.1:8000"

    # The worker serves Prometheus metrics here when set (the SDK's and ProctorFlow's).
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # The worker serves its probes here when set: GET /livez and GET /healthz (cli/worker_health.py).
    health_port: int | None = None
    health_host: str = "127.0.0.1"
    # What one worker process takes on at once. A worker that takes more workflow tasks than its
    # CPUs finish within Temporal's 10-second task timeout loses them all and replays them again
    # (seen as WORKFLOW_TASK_TIMED_OUT storms on 2 cores): scale out with more workers instead.
    worker_workflow_tasks: int = Field(default=8, ge=2)
    worker_activities: int = Field(default=50, ge=1)
    # Workflows kept in memory between their steps; the rest are replayed from history when they
    # wake (bounds the worker's memory however many attempts wait for review). Attempts wait
    # hours between a few bursts of steps, so a cache holds the ones in their burst: an evicted
    # one replays its ~40 events (milliseconds) when the reviewer decides.
    worker_cached_workflows: int = Field(default=250, ge=0)
    http_port: int = 8000
    emulator_port: int = 8100
    demo_lms_port: int = 8200  # `proctorflow dev` runs the demo LMS (demo_lms/) there

    # Events to the LMS: each try of a delivery waits this long for the endpoint's answer; a
    # failed one is tried again after the first retry interval, doubling up to the longest, for
    # three days. Deliveries run on their own task queue with their own slots, so a slow or dead
    # endpoint never takes a slot an attempt needs.
    event_delivery_timeout: float = Field(default=10.0, gt=0)
    event_first_retry: float = Field(default=5.0, gt=0)
    event_max_retry: float = Field(default=3600.0, gt=0)
    worker_event_deliveries: int = Field(default=20, ge=1)

    # E-mail notices (proctorflow/mail.py): where to send them, e.g.
    # "smtp://user:pass@host:587?starttls=true" or "smtps://user:pass@host:465", and the From
    # address (the organisation's sender name is its display name). Either unset (or a URL it
    # cannot use): notices are queued and kept pending, none is sent, and the worker says why at
    # start. A try waits this long for each of the server's answers; a failed one is tried again
    # after the first retry interval, doubling up to the longest, for a day.
    smtp_url: str | None = Field(default=None, repr=False)
    smtp_sender: str | None = None
    smtp_timeout: float = Field(default=30.0, gt=0)
    notice_first_retry: float = Field(default=10.0, gt=0)
    notice_max_retry: float = Field(default=3600.0, gt=0)

    @field_validator("review_login_limit_per_account", "review_login_limit_per_address")
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        from limits import parse_many

        parse_many(value)  # refused at start, not at the first sign-in
        return value

    @property
    def event_task_queue(self) -> str:
        return f"{self.task_queue}-events"

    # The attempt's clocks, in seconds.
    audit_poll_interval: int = Field(default=3600, ge=1)
    audit_deadline: int = Field(default=28 * 3600, ge=1)
    # Webhooks bring FINISH; polling the session, from every 5 minutes backing off to hourly,
    # is the safety net when they are lost.
    session_poll_interval: int = Field(default=300, ge=1)
    session_poll_max_interval: int = Field(default=3600, ge=1)
    finish_window: int = Field(default=24 * 3600, ge=60)
    exam_result_window: int = Field(default=24 * 3600, ge=60)


@lru_cache
def get_settings() -> Settings:
    return Settings()
