"""The Slack app, the `jethro` command and the triage flow they share."""
