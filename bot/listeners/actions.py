"""The buttons on answers and suggestions: `kb_solved`, `kb_not_solved`, `kb_pick`, `kb_none`.

A button's value is only a reference; the desk looks the conversation up and checks that the
person clicking is its reporter. A refusal is shown only to the clicker, at once.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import Message, api_args
from bot.desk import Action, Click, Desk

log = logging.getLogger(__name__)


def register(app: App, desk: Desk) -> None:
    def clicked(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        click = parse(body, action)
        try:
            refusal = desk.click(click)
        except Exception:
            log.exception("could not handle %s from %s", click.action.value, click.user)
            refusal = desk.sorry()
        if refusal is not None:
            _tell(respond, refusal)

    for button in Action:
        app.action(button.value)(clicked)


def parse(body: dict[str, Any], action: dict[str, Any]) -> Click:
    container = body.get("container") or {}
    message = body.get("message") or {}
    return Click(
        action=Action(action["action_id"]),
        value=str(action.get("value") or ""),
        user=str(body["user"]["id"]),
        channel=str(container.get("channel_id") or body["channel"]["id"]),
        message_ts=str(container.get("message_ts") or message.get("ts") or ""),
        thread_ts=message.get("thread_ts") or container.get("thread_ts"),
    )


def _tell(respond: Respond, message: Message) -> None:
    try:
        respond(**api_args(message), response_type="ephemeral", replace_original=False)
    except Exception:
        log.exception("could not show a refusal")
