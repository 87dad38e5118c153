"""The CSV exports as streamed HTTP responses, for the LMS API and the reviewer UI alike.

The rows come from `store.exports` a batch at a time; each batch is written with the csv module
and sent before the next is read, so an export of any size takes the memory of one batch. The
reading and writing run in a worker thread (`iterate_in_threadpool`), off the event loop. A
failure halfway (the database lost) breaks the transfer off rather than ending it early: the
client sees an incomplete download, never a short file that looks whole.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.concurrency import iterate_in_threadpool
from starlette.responses import StreamingResponse

from proctorflow.errors import Invalid
from store import scoped
from store.exports import (
    ATTEMPT_COLUMNS,
    DECISION_COLUMNS,
    ExportFilter,
    Row,
    attempt_batches,
    decision_batches,
)
from web.services import Services

Kind = Literal["attempts", "decisions"]
EXPORTS = {"attempts": (ATTEMPT_COLUMNS, attempt_batches), "decisions": (DECISION_COLUMNS, decision_batches)}
# OWASP's CSV injection advice: a cell a spreadsheet would read as a formula starts with a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def export_filter(
    svc: Services, org_id: str, course_id: str | None, start: str | None, end: str | None
) -> ExportFilter:
    """The filter the parameters ask for; 422 for a bad date or range, 404 for a course the
    organisation does not have (another organisation's reads as unknown)."""
    wanted = ExportFilter(org_id, course_id or None, moment("from", start), moment("to", end))
    if wanted.start and wanted.end and wanted.start > wanted.end:
        raise Invalid(
            f"from ({wanted.start.isoformat()}) is after to ({wanted.end.isoformat()}): "
            "from is the first moment included, to the first one left out"
        )
    if wanted.course_id is not None:
        await asyncio.to_thread(_known_course, svc, wanted)
    return wanted


def _known_course(svc: Services, wanted: ExportFilter) -> None:
    with svc.sessions() as session:
        scoped.course(session, wanted.org_id, wanted.course_id or "")


def moment(name: str, text: str | None) -> datetime | None:
    """An ISO date (midnight UTC) or date and time (UTC when it names no offset)."""
    if text is None or not text.strip():
        return None
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(
            f"{name} must be an ISO date (2024-05-01) or date and time (2024-05-01T09:30:00Z, UTC unless "
            f"it gives an offset; write + as %2B in a URL), not {text.strip()[:40]!r}"
        ) from None
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


def csv_response(svc: Services, kind: Kind, wanted: ExportFilter) -> StreamingResponse:
    columns, batches = EXPORTS[kind]
    chunks = csv_chunks(columns, batches(svc.sessions, wanted))
    return StreamingResponse(
        iterate_in_threadpool(chunks),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename(kind, wanted)}"',
            "Cache-Control": "no-store",  # learners' results
        },
    )


def csv_chunks(columns: Sequence[str], batches: Iterable[list[Row]]) -> Iterator[bytes]:
    """The header line, then one chunk per batch of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield _drain(buffer)
    for batch in batches:
        writer.writerows([cell(value) for value in row] for row in batch)
        yield _drain(buffer)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, int | float):
        return str(value)  # ours, never a formula
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def filename(kind: Kind, wanted: ExportFilter) -> str:
    course = re.sub(r"[^A-Za-z0-9._-]+", "_", wanted.course_id)[:80] if wanted.course_id else "all-courses"
    since = f"-from-{wanted.start:%Y%m%d}" if wanted.start else ""
    until = f"-to-{wanted.end:%Y%m%d}" if wanted.end else ""
    return f"{kind}-{course}{since}{until}.csv"


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()
