"""Direct messages and `@Jethro` mentions: each a report, or a reply in the thread of one.

The answer goes in a thread under the message, so every report is its own conversation and a
channel is not flooded. In channels, a reply in a report's thread counts without a mention (if
the app is subscribed to `message.channels`); any other channel message is none of the bot's
business. Edits, joins and other bots are not reports; neither is the bot itself.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.blocks import api_args
from bot.desk import Desk, Report, Source
from bot.incoming import message_text, words
from escalation.db import database_away

log = logging.getLogger(__name__)

REPORT_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
"""A message with an attachment is still someone typing; every other subtype is not."""


def register(app: App, desk: Desk) -> None:
    client: WebClient = app.client  # not the per-request copy, which adds a team_id

    def message(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        bot_user = context.bot_user_id
        if event.get("channel_type") == "im":
            report = parse(event, body, bot_user, Source.DM)
            if report is not None:
                take(desk, report, client)
        elif event.get("thread_ts") and f"<@{bot_user}" not in str(event.get("text")):
            report = parse(event, body, bot_user, Source.MENTION)  # mentions: app_mention's
            if report is not None:
                take(desk, report, client, replies_only=True)

    def mention(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        report = parse(event, body, context.bot_user_id, Source.MENTION)
        if report is not None:
            take(desk, report, client)

    app.event("message")(message)
    app.event("app_mention")(mention)


def parse(
    event: dict[str, Any], body: dict[str, Any], bot_user: str | None, source: Source
) -> Report | None:
    """The report in a message event, or None when it is not a person writing."""
    user = event.get("user")
    if event.get("subtype") not in REPORT_SUBTYPES or event.get("bot_id") or not user:
        return None
    if user == bot_user:
        return None
    return Report(
        reporter=user,
        text=words(message_text(event), bot_user=bot_user),
        source=source,
        channel=str(event["channel"]),
        thread_ts=str(event.get("thread_ts") or event["ts"]),
        event_key=event_key(body),
    )


def event_key(body: dict[str, Any]) -> str:
    """What makes a redelivered or replayed event a no-op (and keys its receipt)."""
    return f"event:{body.get('team_id', '')}:{body['event_id']}"


def take(desk: Desk, report: Report, client: WebClient, *, replies_only: bool = False) -> None:
    """Hand the report to the desk; if that fails, to a person (`Desk.take_unjudged`), and only
    if that fails too, say sorry straight away (the log has why). The database away is no
    failure of the report: it is raised, and the request's receipt keeps it to be answered once
    the database is back (`bot/receipts.py`)."""
    try:
        desk.take(report, replies_only=replies_only)
    except Exception as exc:
        if database_away(exc):
            raise
        log.exception("could not handle a message from %s in %s", report.reporter, report.channel)
        if hand_over(desk, report, exc, replies_only=replies_only):
            return
        try:
            client.chat_postMessage(
                channel=report.channel, thread_ts=report.thread_ts, **api_args(desk.sorry())
            )
        except Exception:
            log.exception("could not tell %s that it failed", report.reporter)


def hand_over(
    desk: Desk, report: Report, failure: Exception, *, replies_only: bool = False
) -> bool:
    """The report to a person after `desk.take` raised `failure`; False if that failed too (or
    there was nobody to hand an overheard message to), so the caller apologises."""
    try:
        return desk.take_unjudged(
            report, f"handling failed: {type(failure).__name__}", replies_only=replies_only
        )
    except Exception as exc:
        if database_away(exc):
            raise
        log.exception("could not hand the report from %s to a person", report.reporter)
        return False
