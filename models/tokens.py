"""Request and reply bodies of the LMS API tokens (`/api/v1/tokens`). A token itself is in one
reply only, the one that makes it; lists show its first few characters to recognise it by."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(
        min_length=1, max_length=200, description="what the token is for, e.g. 'LMS production'"
    )


class TokenCreated(BaseModel):
    """The new token, shown only here: keep it now, it cannot be read again."""

    id: str
    name: str
    token: str


class TokenOut(BaseModel):
    """Never carries the token."""

    id: str
    name: str
    prefix: str = Field(description="the token's first characters ('' for tokens made before they were kept)")
    created_at: datetime
    last_used_at: datetime | None = Field(description="at most about a minute behind; null: never used")
    bootstrap: bool = Field(
        description="PROCTORFLOW_LMS_TOKEN: replaced by setting a new one, not deleted through the API"
    )
