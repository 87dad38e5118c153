"""Prometheus metrics: the Temporal SDK's own (task latencies, pollers, failures) plus
ProctorFlow's counters, all served by the SDK's runtime on one port."""

from __future__ import annotations

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

VENDOR_POLLS = "proctorflow_vendor_polls"  # ProctorFree status checks, by what was awaited
VENDOR_ERRORS = "proctorflow_vendor_errors"  # failed ProctorFree calls, by kind
DECISIONS = "proctorflow_decisions"  # reviewer decisions taken, by pass or fail
COMPLETIONS = "proctorflow_lesson_completions"  # lessons completed by an attempt
PARKED = "proctorflow_attempts_parked"  # attempts parked in error (credentials refused)


def prometheus_runtime(host: str, port: int) -> Runtime:
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{host}:{port}")))
