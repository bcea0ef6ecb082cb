"""`/oncall`: who is on call, and overrides. The answer is ephemeral: only the asker sees it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import Message, api_args
from bot.oncall import OncallDesk
from bot.text_safety import safe_text

log = logging.getLogger(__name__)

COMMAND = "/oncall"


def register(app: App, desk: OncallDesk, sorry: Callable[[], Message]) -> None:
    def oncall(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        user, text = str(command["user_id"]), safe_text(str(command.get("text") or ""))
        try:
            shown = desk.answer(user, text)
        except Exception:
            log.exception("could not answer /oncall %r from %s", text, user)
            shown = sorry()
        try:
            respond(**api_args(shown), response_type="ephemeral", replace_original=False)
        except Exception:
            log.exception("could not show /oncall to %s", user)

    app.command(COMMAND)(oncall)


UNCONFIGURED = (
    "No on-call schedule is set up yet, so nobody is paged: escalations go to the engineers' "
    "channel only. An admin sets `JETHRO_ONCALL_FILE` to the team rotations (see docs/oncall.md)."
)


def register_unconfigured(app: App) -> None:
    """`/oncall` before an admin has named a schedule: say so rather than fail in Slack."""

    def oncall(ack: Ack, respond: Respond) -> None:
        ack()
        respond(text=UNCONFIGURED, response_type="ephemeral", replace_original=False)

    app.command(COMMAND)(oncall)
