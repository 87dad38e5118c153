"""An organisation's settings (models/settings.py): the defaults until it sets its own."""

from __future__ import annotations

from sqlmodel import Session

from models.settings import SettingsIn, SettingsOut
from models.tables import OrgSettings, utcnow


def read(session: Session, org_id: str) -> SettingsOut:
    stored = session.get(OrgSettings, org_id)
    if stored is None:
        return SettingsOut()
    return SettingsOut(
        review_sla_hours=stored.review_sla_hours,
        claim_timeout_minutes=stored.claim_timeout_minutes,
        second_review_for_flagged=stored.second_review_for_flagged,
        escalation_email=stored.escalation_email,
        notifications=stored.notifications or {},
        sender_name=stored.sender_name,
        locale=stored.locale,
        templates=stored.templates or {},
        retention_days=stored.retention_days,
        updated_at=stored.updated_at,
    )


def write(session: Session, org_id: str, body: SettingsIn) -> SettingsOut:
    stored = session.get(OrgSettings, org_id) or OrgSettings(org_id=org_id)
    values = body.model_dump(mode="json")
    for name, value in values.items():
        setattr(stored, name, value)
    stored.updated_at = utcnow()
    session.add(stored)
    session.flush()
    return read(session, org_id)
