"""Data only: Slack's Web API spec trimmed to the methods Jethro uses, and sample payloads."""
