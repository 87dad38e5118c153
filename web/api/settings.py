"""The calling organisation's settings for its review team (models/settings.py): read them, or
replace them whole. A change is audited by the names of the fields it changed, never their
values (they hold e-mail addresses and the notices' wording)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from sqlmodel import Session

from models.settings import SettingsIn, SettingsOut
from store import audit, settings
from web.api.common import api_router, read, write
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/settings", tags=["settings"])


@router.get("", response_model=SettingsOut)
async def get_settings(org_id: str = Depends(lms_org), svc: Services = Depends(services)) -> SettingsOut:
    """The organisation's settings; the defaults until it sets its own."""
    return await read(svc, lambda session: settings.read(session, org_id))


@router.put("", response_model=SettingsOut)
async def put_settings(
    body: SettingsIn, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> SettingsOut:
    """Replace the settings: a field left out takes its default."""

    def change(session: Session) -> SettingsOut:
        before = settings.read(session, org_id)
        after = settings.write(session, org_id, body)
        changed = changed_fields(before, after)
        if changed:
            audit.record_acting(session, org_id, "settings.changed", "settings", {"fields": changed})
        return after

    return await write(svc, change)


def changed_fields(before: SettingsIn, after: SettingsIn) -> list[str]:
    """The names of the fields that differ, a level deep in the nested ones
    (`notifications.reviewer_digest`, `templates.escalation`)."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    names = []
    for name in SettingsIn.model_fields:
        if isinstance(old.get(name), dict) and isinstance(new.get(name), dict):
            names += [f"{name}.{key}" for key in _differing(old[name], new[name])]
        elif old.get(name) != new.get(name):
            names.append(name)
    return names


def _differing(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
