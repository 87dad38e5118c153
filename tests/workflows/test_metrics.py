"""Ops watch the worker in Prometheus: the SDK's metrics and ProctorFlow's own counters."""

from __future__ import annotations

import asyncio

import httpx
from temporalio.client import Client

from models.api import LessonIn
from models.payloads import DecisionRequest
from proctorflow.metrics import prometheus_runtime
from tests.support.harness import running_harness
from tests.support.keys import TEST_CONVERTER
from tests.support.servers import free_port
from workflows.attempt import AttemptWorkflow

QUICK = dict(session_poll_interval=1, session_poll_max_interval=1, audit_poll_interval=1)


async def test_the_worker_serves_sdk_metrics_and_counts_polls_decisions_completions_and_errors(
    dev_server, tmp_path
):
    port = free_port()
    target = dev_server.client.service_client.config.target_host
    client = await Client.connect(
        target, data_converter=TEST_CONVERTER, runtime=prometheus_runtime("127.0.0.1", port)
    )
    async with running_harness(client, tmp_path, **QUICK) as h:
        h.seed([LessonIn(id="exam", title="Final exam", type="quiz")], {"exam": ("full", True)})
        await h.set_faults(fail_next=1, fault="5xx")
        handle = await h.open("exam")
        session_id = await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_audit")
        await h.emulator("audit", session_id, outcome="clean")
        await h.wait_for(handle, lambda s: s.status == "ready_for_review", timeout=30)
        await handle.execute_update(AttemptWorkflow.decide, DecisionRequest(decision="pass", reviewer="rita"))
        await handle.result()

        text = ""
        async with httpx.AsyncClient() as http:
            for _ in range(50):  # the exporter publishes on its own schedule
                text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                if "proctorflow_lesson_completions" in text:
                    break
                await asyncio.sleep(0.2)
    assert "temporal_workflow_task_execution_latency" in text or "temporal_request" in text
    for counter in (
        "proctorflow_vendor_polls",
        "proctorflow_vendor_errors",
        "proctorflow_decisions",
        "proctorflow_lesson_completions",
    ):
        assert counter in text, f"{counter} missing from /metrics"
    assert 'awaiting="audit"' in text and 'decision="pass"' in text
