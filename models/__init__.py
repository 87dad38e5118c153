"""ProctorFlow's domain: the attempt state machine, the rules that decide, storage tables and
the plain payloads that cross workflow and activity boundaries."""
