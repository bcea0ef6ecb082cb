"""Thin Slack listeners: acknowledge, parse the payload, call the desk, show what it returns.

Each module registers one surface on a Bolt app. Nothing here decides or stores anything; that
is `bot.desk`. Listeners acknowledge first (Bolt runs them on its own threads after the ack, as
`process_before_response=False` wants), so Slack never waits on the database or the matcher.
"""

from __future__ import annotations

from slack_bolt import App

from bot.desk import Desk
from bot.listeners import actions, commands, home, messages


def register(app: App, desk: Desk) -> None:
    messages.register(app, desk)
    commands.register(app, desk)
    actions.register(app, desk)
    home.register(app, desk)
