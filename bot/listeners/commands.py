"""`/triage <problem>` and the "Triage this" message shortcut.

Both answer in the asker's direct message with the bot, a private place with threads and buttons
that stays (an ephemeral reply vanishes on reload); where they asked, only they see "on it".
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.blocks import api_args
from bot.desk import Desk, Report, Source
from bot.incoming import words
from bot.intent import asks_for_help
from bot.listeners.messages import hand_over
from escalation.db import database_away

log = logging.getLogger(__name__)

COMMAND = "/triage"
SHORTCUT = "triage_message"


def register(app: App, desk: Desk) -> None:
    def triage(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        text = words(str(command.get("text") or ""))
        if asks_for_help(text):
            ack(**api_args(desk.help()))
            return
        ack(**api_args(desk.on_it(text)))
        user = str(command["user_id"])
        report = Report(user, text, Source.COMMAND, user, None, invocation_key("command", command))
        _take(desk, report, respond)

    def shortcut(
        ack: Ack, shortcut: dict[str, Any], respond: Respond, context: BoltContext
    ) -> None:
        ack()
        message = shortcut.get("message") or {}
        text = words(str(message.get("text") or ""), bot_user=context.bot_user_id)
        user = str(shortcut["user"]["id"])
        if asks_for_help(text):
            _tell(respond, api_args(desk.help()))
            return
        _tell(respond, api_args(desk.on_it(text)))
        report = Report(
            user, text, Source.SHORTCUT, user, None, invocation_key("shortcut", shortcut)
        )
        _take(desk, report, respond)

    app.command(COMMAND)(triage)
    app.shortcut(SHORTCUT)(shortcut)


def invocation_key(kind: str, body: dict[str, Any]) -> str | None:
    """What makes a replay of this command or shortcut a no-op (and keys its receipt, see
    `bot/receipts.py`): Slack makes a new `trigger_id` for each invocation."""
    team = body.get("team_id") or (body.get("team") or {}).get("id", "")
    trigger = body.get("trigger_id")
    return f"{kind}:{team}:{trigger}" if trigger else None


def _take(desk: Desk, report: Report, respond: Respond) -> None:
    try:
        desk.take(report)
    except Exception as exc:
        if database_away(exc):
            raise  # kept by its receipt, answered once the database is back
        log.exception("could not handle a %s from %s", report.source.value, report.reporter)
        if not hand_over(desk, report, exc):
            _tell(respond, api_args(desk.sorry()))


def _tell(respond: Respond, message: dict[str, Any]) -> None:
    """Only the asker sees it; failing to show it must not stop the report itself."""
    try:
        respond(**message, response_type="ephemeral", replace_original=False)
    except Exception:
        log.exception("could not show the shortcut's acknowledgement")
