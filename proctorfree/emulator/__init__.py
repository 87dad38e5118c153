"""An emulator of ProctorFree (its API, learner pages and webhooks) for dev mode and tests.

The wire format is modelled: ProctorFree's real API is not public.
"""

from proctorfree.emulator.app import create_app

__all__ = ["create_app"]
