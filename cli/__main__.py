"""`python -m cli`: the `proctorflow` command, for a checkout without the console script."""

import sys

from cli import main

sys.exit(main())
