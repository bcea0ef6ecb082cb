"""Stand-ins for Slack in tests: a fake Web API server, request signing, and event payloads."""
