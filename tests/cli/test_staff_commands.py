"""`proctorflow act` and `proctorflow extend`: the staff actions from the command line, with a
reason kept in the attempt's history; refusals printed in words, exit code 2. On a real dev
server, with a real attempt."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cli import main
from tests.api.helpers import open_attempt, proctored_course, unique, vendor_session
from tests.support.stack import running_stack


async def test_act_and_extend_from_the_command_line(dev_server, tmp_path: Path, ops_environment, capsys):
    async with running_stack(dev_server.client, tmp_path) as stack:
        course_id, _ = await proctored_course(stack.api, method="full")
        attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
        await vendor_session(stack, attempt_id)
        ops_environment(stack.settings)

        checked = await asyncio.to_thread(
            main, ["act", attempt_id, "check_now", "--reason", "learner called", "--by", "ops@lms"]
        )
        assert checked == 0
        assert "ProctorFree is asked now" in capsys.readouterr().out
        attempt = await stack.wait_for_attempt(
            attempt_id, lambda a: any(step["event"] == "staff_action" for step in a["events"])
        )
        step = next(step for step in attempt["events"] if step["event"] == "staff_action")
        assert step["detail"] == {"action": "check_now", "reason": "learner called", "by": "ops@lms"}

        refused = await asyncio.to_thread(main, ["extend", attempt_id, "10", "--reason", "more time"])
        assert refused == 2
        assert "no time limit: there is nothing to extend" in capsys.readouterr().err

        voided = await asyncio.to_thread(main, ["act", attempt_id, "void", "--reason", "duplicate"])
        assert voided == 0
        assert "voided" in capsys.readouterr().out
        unknown = await asyncio.to_thread(main, ["act", "no-such-attempt", "void", "--reason", "x"])
        assert unknown == 2
        assert "does not exist" in capsys.readouterr().err
