"""The review deadline end to end on the time-skipping server, with the real database and the
real store: the organisation's 8-hour deadline, in force when the attempt opened, escalates the
ready task at its hour; the task shows high priority, the LMS is told `review_task.escalated`,
and the escalation contact's e-mail is queued, once."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.settings import SettingsIn
from models.tables import Notice, OutboundEvent
from store import settings
from store.db import transaction
from tests.support.harness import running_harness
from tests.workflows.test_source_rules import exam


async def test_an_overdue_task_is_escalated_told_and_its_contact_emailed_once(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam()], {"exam": ("record_only", True)})
        with transaction(h.sessions) as session:
            settings.write(
                session, h.org, SettingsIn(review_sla_hours=8, escalation_email="lead@example.org")
            )
        handle = await h.open("exam")
        await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        task = await h.task_when(handle, lambda t: t.due_at is not None)
        assert task.due_at - task.ready_at == timedelta(hours=8)

        await time_skipping.sleep(timedelta(hours=7, minutes=50))
        assert h.task(handle).priority == "normal"
        await time_skipping.sleep(timedelta(minutes=20))
        escalated = await h.task_when(handle, lambda t: t.priority == "high")
        assert escalated.escalated_at is not None

    with h.sessions() as session:
        notices = session.exec(
            select(Notice).where(Notice.org_id == h.org, Notice.kind == "escalation")
        ).all()
        told = session.exec(
            select(OutboundEvent).where(
                OutboundEvent.org_id == h.org, OutboundEvent.type == "review_task.escalated"
            )
        ).all()
    assert [n.to_address for n in notices] == ["lead@example.org"]
    assert len(told) == 1 and told[0].data["why"] == "overdue" and told[0].data["priority"] == "high"
