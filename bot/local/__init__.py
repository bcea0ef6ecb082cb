"""The local workspace: a Slack stand-in in the browser, so `jethro run` works without a Slack app.

The real bot runs unchanged against it: the stand-in signs the requests it sends as Slack does and
answers the Web API methods the bot calls, refusing what Slack would refuse (`spec`).
"""
