"""Every secret the database keeps sealed (`proctorflow.crypto.SecretBox`), and sealing them all
again under the key ring's first key, so an older key can be dropped from the ring."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from models.tables import EventEndpoint, Integration
from proctorflow.crypto import SecretBox

# (table, primary key, sealed columns)
SEALED = (
    (Integration, "id", ("api_key_encrypted", "api_secret_encrypted")),
    (EventEndpoint, "org_id", ("secret_sealed", "previous_secret_sealed")),
)


@dataclass
class Resealed:
    values: int = 0  # sealed again under the first key
    were_older: int = 0  # of them, sealed under an older key before


def reseal_all(session: Session, box: SecretBox) -> Resealed:
    """Seal every stored secret again under the ring's first key, in the caller's transaction.
    Refused (ValueError, naming the row, never a value) if a secret opens with no key of the
    ring: then nothing is changed."""
    done = Resealed()
    for table, key, columns in SEALED:
        for row in session.exec(select(table).with_for_update()).all():
            for column in columns:
                sealed = getattr(row, column)
                if sealed is None:
                    continue
                try:
                    current = box.is_current(sealed)
                    setattr(row, column, box.reseal(sealed))
                except ValueError:
                    where = f"{table.__tablename__} {getattr(row, key)!r}, column {column}"
                    raise ValueError(
                        f"{where} opens with no key of PROCTORFLOW_SECRET_KEY: add the key it was "
                        "sealed with to the ring (nothing was changed)"
                    ) from None
                done.values += 1
                done.were_older += not current
            session.add(row)
    session.flush()
    return done
