"""ProctorFree integrations: "Add Integration" with the API credentials ProctorFree issued.

Credentials are verified with ProctorFree before anything is stored, stored sealed, and never
returned: replies carry the name, the "is active" flag and the timestamps only.
"""

from __future__ import annotations

from fastapi import Depends
from sqlmodel import Session

from models.api import IntegrationIn, IntegrationList, IntegrationOut, IntegrationPatch
from models.tables import Integration
from proctorflow.errors import Invalid, Refused
from proctorfree.interface import CredentialsRejected, VendorCredentials, VendorError
from store import audit, catalog, scoped
from web.api.common import Unavailable, api_router, read, write
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/integrations", tags=["integrations"])


class CredentialsRefused(Refused):
    status = 422
    code = "credentials_rejected"


@router.post("", status_code=201, response_model=IntegrationOut)
async def add_integration(
    body: IntegrationIn, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> IntegrationOut:
    """Verify the credentials with ProctorFree, then store them encrypted."""
    await verify_with_vendor(svc, body.api_key, body.api_secret)

    def store(session: Session) -> IntegrationOut:
        integration = catalog.add_integration(
            session, org_id, body.name, body.api_key, body.api_secret, body.is_active, svc.box
        )
        detail = {"name": integration.name, "is_active": integration.is_active}
        audit.record_acting(session, org_id, "integration.added", _target(integration), detail)
        return integration_out(integration)

    return await write(svc, store)


@router.get("", response_model=IntegrationList)
async def list_integrations(
    org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> IntegrationList:
    integrations = await read(svc, lambda session: catalog.list_integrations(session, org_id))
    return IntegrationList(items=[integration_out(i) for i in integrations])


@router.get("/{integration_id}", response_model=IntegrationOut)
async def get_integration(
    integration_id: str, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> IntegrationOut:
    integration = await read(svc, lambda session: scoped.integration(session, org_id, integration_id))
    return integration_out(integration)


@router.patch("/{integration_id}", response_model=IntegrationOut)
async def update_integration(
    integration_id: str,
    patch: IntegrationPatch,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> IntegrationOut:
    """Rename, (de)activate, or rotate credentials; rotated credentials are verified first."""
    if not patch.model_fields_set:
        raise Invalid("nothing to change: send name, is_active, api_key or api_secret")
    current = await read(svc, lambda session: scoped.integration(session, org_id, integration_id))
    if patch.api_key is not None or patch.api_secret is not None:
        # Rotating one half: the other half is the stored one.
        api_key = patch.api_key or svc.box.open(current.api_key_encrypted)
        api_secret = patch.api_secret or svc.box.open(current.api_secret_encrypted)
        await verify_with_vendor(svc, api_key, api_secret)

    def store(session: Session) -> IntegrationOut:
        stored = scoped.integration(session, org_id, integration_id)
        name, active = stored.name, stored.is_active
        integration = catalog.update_integration(session, org_id, integration_id, patch, svc.box)
        _audit_update(session, org_id, integration, name, active, patch)
        return integration_out(integration)

    return await write(svc, store)


def _audit_update(
    session: Session, org_id: str, integration: Integration, name: str, active: bool, patch: IntegrationPatch
) -> None:
    """An entry for each kind of change the patch made; credentials by which half, never a value."""
    by, target = audit.who(session), _target(integration)
    if integration.name != name:
        audit.record_as(
            session, by, org_id, "integration.renamed", target, {"from": name, "to": integration.name}
        )
    rotated = [half for half in ("api_key", "api_secret") if getattr(patch, half) is not None]
    if rotated:
        audit.record_as(session, by, org_id, "integration.credentials_rotated", target, {"rotated": rotated})
    if integration.is_active != active:
        action = "integration.activated" if integration.is_active else "integration.deactivated"
        audit.record_as(session, by, org_id, action, target)


def _target(integration: Integration) -> str:
    return audit.path("integrations", integration.id)


async def verify_with_vendor(svc: Services, api_key: str, api_secret: str) -> None:
    credentials = VendorCredentials(api_key=api_key, api_secret=api_secret)
    try:
        await svc.vendor.verify_credentials(credentials)
    except CredentialsRejected:
        raise CredentialsRefused(
            "ProctorFree refused these API credentials: check the api_key and api_secret your "
            "ProctorFree Account Manager issued; nothing was saved"
        ) from None
    except VendorError as error:
        # Not the caller's input: ProctorFree could not say yes or no right now.
        raise Unavailable(
            f"could not verify the credentials with ProctorFree ({type(error).__name__}); "
            "nothing was saved: try again shortly"
        ) from None


def integration_out(integration: Integration) -> IntegrationOut:
    return IntegrationOut(
        id=integration.id,
        name=integration.name,
        is_active=integration.is_active,
        created_at=integration.created_at,
        updated_at=integration.updated_at,
    )
