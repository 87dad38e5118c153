"""The ProctorFlow worker's entry point: `python worker.py` is `proctorflow worker`.

It runs attempt workflows and their activities until SIGINT or SIGTERM. The wiring (which
workflows and activities, how many at once) is `cli/worker.py`; settings come from the
environment (PROCTORFLOW_*), PROCTORFLOW_TEMPORAL_ADDRESS first.
"""

import sys

from cli.worker import main

if __name__ == "__main__":
    sys.exit(main())
