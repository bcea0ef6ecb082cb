"""The App Home tab, published afresh each time the user opens it (directly: it must be now)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.desk import Desk

log = logging.getLogger(__name__)


def register(app: App, desk: Desk) -> None:
    client: WebClient = app.client  # not the per-request copy, which adds a team_id Slack refuses

    def opened(event: dict[str, Any]) -> None:
        if event.get("tab") != "home":
            return
        user = str(event["user"])
        try:
            client.views_publish(user_id=user, view=desk.home(user))
        except Exception:
            log.exception("could not publish the App Home of %s", user)

    app.event("app_home_opened")(opened)
