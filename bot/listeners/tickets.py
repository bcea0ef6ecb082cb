"""The ticket message's controls in the engineers' channel, and the ticket's thread.

`ticket_ack`, `ticket_resolve` (opens the Resolve modal; its submission resolves, and its
`ticket_solved_by` picker loads its options from the knowledge base as the engineer types) and
`ticket_reassign` (a user select). Only members of the channel may use them: anyone else gets
an ephemeral refusal naming who can act, sent directly (it is for now, not for later). Words in
a ticket's thread go to the reporter; other messages in the channel go on to the usual listener.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.blocks import Message, api_args
from bot.channel import (
    RESOLVE_MODAL,
    SOLVED_BY_INPUT,
    EngineerReply,
    EngineersChannel,
    article_options,
    read_resolve_view,
    read_solved_by,
    resolve_view,
)
from bot.desk import Desk, Source
from bot.listeners import messages
from bot.members import ChannelMembers
from escalation.db import database_away
from knowledge.learning import NEW_PROBLEM

log = logging.getLogger(__name__)

ACK = "ticket_ack"
RESOLVE = "ticket_resolve"
REASSIGN = "ticket_reassign"


def register(app: App, channel: EngineersChannel, members: ChannelMembers, desk: Desk) -> None:
    """Register before `bot.listeners.messages`: Bolt runs the first listener that matches."""
    client: WebClient = app.client
    engineers = channel.settings.escalation_channel

    def tell(user: str, where: str, message: Message) -> None:
        try:
            client.chat_postEphemeral(channel=where, user=user, **api_args(message))
        except Exception:
            log.exception("could not tell %s why their click changed nothing", user)

    def allowed(user: str, where: str, ticket_id: int | None) -> bool:
        if members.includes(user):
            return True
        tell(
            user,
            where,
            channel.refusal("not_member", ticket_id, members=tuple(sorted(members.members()))),
        )
        return False

    def clicked(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        user, where, ts = _who_where(body)
        ticket_id = _ticket_id(action) or channel.ticket_at(where, ts)
        if ticket_id is None or not allowed(user, where, ticket_id):
            return
        kind = action["action_id"]
        try:
            if kind == ACK:
                refusal = channel.acknowledge(ticket_id, user)
            elif kind == REASSIGN:
                refusal = channel.reassign(ticket_id, user, str(action.get("selected_user") or ""))
            else:
                client.views_open(trigger_id=body["trigger_id"], view=resolve_view(ticket_id))
                refusal = None
        except Exception:
            log.exception("could not handle %s on ticket #%s from %s", kind, ticket_id, user)
            refusal = channel.refusal("gone", ticket_id)
        if refusal is not None:
            tell(user, where, refusal)

    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ticket_id, resolution, teach = read_resolve_view(view)
        solved_by = read_solved_by(view)
        kb = desk.knowledge.current.kb
        if solved_by not in (None, NEW_PROBLEM) and kb.by_id(solved_by or "") is None:
            log.warning(
                "ticket #%s: article %r is gone; resolved without one", ticket_id, solved_by
            )
            solved_by = None
        if not resolution.strip():
            ack(response_action="errors", errors={"resolution": "Say what fixed it."})
            return
        ack()
        user = str(body["user"]["id"])
        if not allowed(user, engineers, ticket_id):
            return
        try:
            refusal = channel.resolve(ticket_id, user, resolution, teach=teach, solved_by=solved_by)
        except Exception:
            log.exception("could not resolve ticket #%s for %s", ticket_id, user)
            refusal = channel.refusal("gone", ticket_id)
        if refusal is not None:
            tell(user, engineers, refusal)

    def options(ack: Ack, body: dict[str, Any]) -> None:
        """The picker's options for what the engineer typed (answered in the request itself)."""
        metadata = str((body.get("view") or {}).get("private_metadata") or "")
        try:
            suggested = channel.suggested(int(metadata)) if metadata.isdigit() else []
        except Exception:
            log.exception("could not read ticket %s's suggestions", metadata)
            suggested = []
        articles = desk.knowledge.current.kb.articles
        ack(**article_options(articles, str(body.get("value") or ""), suggested))

    def in_channel(event: dict[str, Any]) -> bool:
        return bool(engineers) and event.get("channel") == engineers and "thread_ts" in event

    def thread_message(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        report = messages.parse(event, body, context.bot_user_id, Source.MENTION)
        if report is None or report.thread_ts is None:
            return
        reply = EngineerReply(
            report.reporter, report.text, report.channel, report.thread_ts, report.event_key
        )
        try:
            if channel.engineer_reply(reply):
                return
        except Exception as exc:
            if database_away(exc):
                raise  # kept by its receipt, passed on once the database is back
            log.exception("could not pass on a reply in ticket thread %s", report.thread_ts)
            return
        if f"<@{context.bot_user_id}" not in str(event.get("text")):
            messages.take(desk, report, client, replies_only=True)

    for action_id in (ACK, RESOLVE, REASSIGN):
        app.action(action_id)(clicked)
    app.view(RESOLVE_MODAL)(submitted)
    app.options(SOLVED_BY_INPUT)(options)
    app.event("message", matchers=[in_channel])(thread_message)


def _who_where(body: dict[str, Any]) -> tuple[str, str, str]:
    container = body.get("container") or {}
    message = body.get("message") or {}
    where = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    return (
        str(body["user"]["id"]),
        where,
        str(container.get("message_ts") or message.get("ts") or ""),
    )


def _ticket_id(action: dict[str, Any]) -> int | None:
    value = str(action.get("value") or "")
    return int(value) if value.isdigit() else None
