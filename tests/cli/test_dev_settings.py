"""Dev mode hands every part the same settings: its own layout, and whatever the shell set."""

from __future__ import annotations

import pytest

from cli.dev_layout import DevOptions, child_environment, dev_settings
from proctorflow.settings import get_settings


@pytest.fixture
def options(tmp_path) -> DevOptions:
    return DevOptions(
        http_port=18000, emulator_port=18100, temporal_port=17233, ui_port=18233, data_dir=tmp_path
    )


def test_a_setting_from_the_shell_reaches_every_part_of_dev_mode(options, monkeypatch):
    monkeypatch.setenv("PROCTORFLOW_AUDIT_POLL_INTERVAL", "5")
    monkeypatch.setenv("PROCTORFLOW_WORKER_WORKFLOW_TASKS", "3")
    env = dev_environment(options)

    assert env["PROCTORFLOW_AUDIT_POLL_INTERVAL"] == "5"
    assert env["PROCTORFLOW_WORKER_WORKFLOW_TASKS"] == "3"
    assert env["PROCTORFLOW_TEMPORAL_ADDRESS"] == "127.0.0.1:17233"
    assert env["PROCTORFLOW_HTTP_PORT"] == "18000"


def test_a_proctorflow_variable_that_is_no_setting_is_not_passed_on(options, monkeypatch):
    monkeypatch.setenv("PROCTORFLOW_NOT_A_SETTING", "x")
    env = dev_environment(options)

    assert "PROCTORFLOW_NOT_A_SETTING" not in env


def dev_environment(options) -> dict[str, str]:  # noqa: ANN001
    """What dev mode passes its children, read from this test's environment."""
    get_settings.cache_clear()
    try:
        return child_environment(dev_settings(options))
    finally:
        get_settings.cache_clear()
