"""The calling LMS's organisation: its name, and the settings the LMS keeps itself (where
ProctorFree returns its learners after they start a proctored session)."""

from __future__ import annotations

from fastapi import Depends
from sqlmodel import Session

from models.organisation import OrganisationOut, OrganisationPatch
from models.tables import Organisation
from proctorflow.errors import NotFound
from web.api.common import api_router, read, write
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/organisation", tags=["organisation"])


@router.get("", response_model=OrganisationOut)
async def get_organisation(
    org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> OrganisationOut:
    return await read(svc, lambda session: _out(_organisation(session, org_id)))


@router.patch("", response_model=OrganisationOut)
async def patch_organisation(
    body: OrganisationPatch, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> OrganisationOut:
    """Set (or, with null, unset) the LMS return URL; sessions created from now on use it."""

    def change(session: Session) -> OrganisationOut:
        organisation = _organisation(session, org_id)
        organisation.lms_return_url = body.lms_return_url
        session.add(organisation)
        return _out(organisation)

    return await write(svc, change)


def _organisation(session: Session, org_id: str) -> Organisation:
    organisation = session.get(Organisation, org_id)
    if organisation is None:  # its token outlived it: nothing the LMS can fix but a new token
        raise NotFound(f"organisation {org_id} no longer exists")
    return organisation


def _out(organisation: Organisation) -> OrganisationOut:
    return OrganisationOut(
        id=organisation.id, name=organisation.name, lms_return_url=organisation.lms_return_url
    )
