"""The knowledge base: the article format, loading, the index, matching and its evaluation.

Nothing here knows about Slack or the database; `bot/` and `escalation/` build on it.
"""
