"""ProctorFlow's plumbing shared by every part: settings, crypto, the Temporal connection, CLI."""
