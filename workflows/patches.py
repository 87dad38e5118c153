"""Every `workflow.patched` id the workflows use, each with the condition for retiring it.

Empty until the first release: no ProctorFlow has run anywhere but in tests, so there is no
deployed history to protect and running logic changes directly (workflows/README.md).
`tests/workflows/test_replay.py` fails when a workflow calls `patched` or `deprecate_patch`
with an id that is not listed here, or when a listed id is no longer used.
"""

from __future__ import annotations

# patch id -> when it may go: "deprecate_patch once no run started before <release> is open
# (the longest attempt lasts about 3 days: audit deadline plus review), then delete".
PATCHES: dict[str, str] = {}
