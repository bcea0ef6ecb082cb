"""The words of a page: a direct message to each engineer paged, and `@here` in the channel.

Built in code, not in a template, because the channel step is the one place Jethro broadcasts:
`<!here>` is written here and nowhere else (templates cannot emit it, see `bot.render`), and
everything a person wrote goes through `bot.mrkdwn.escape` first.
"""

from __future__ import annotations

from typing import Any

from bot.mrkdwn import escape
from escalation.timers import Page

REPORT_CHARS = 300
HERE = "<!here>"


def page_messages(page: Page) -> list[dict[str, Any]]:
    """The `chat.postMessage` arguments for `page`: DMs first, then the channel's `@here`."""
    messages = [_direct(page, user) for user in page.users]
    if page.broadcast:
        messages.append(_broadcast(page))
    return messages


def _direct(page: Page, user: str) -> dict[str, Any]:
    before = f" {_people(page.paged_before)} did not acknowledge it." if page.paged_before else ""
    text = (
        f":rotating_light: You are on call for *{escape(page.team)}*: ticket #{page.ticket_id} "
        f"({escape(page.severity.value)}) from <@{page.reporter}> needs someone.{before}\n"
        f">{_excerpt(page.report)}\n"
        f"Acknowledge it in <#{page.channel}> so the next person is not paged."
    )
    return {"channel": user, "text": text, "unfurl_links": False, "unfurl_media": False}


def _broadcast(page: Page) -> dict[str, Any]:
    who = _people(page.paged_before) if page.paged_before else "nobody (no one is on call)"
    text = (
        f"{HERE} Ticket #{page.ticket_id} ({escape(page.severity.value)}, "
        f"{escape(page.team)}) is still unacknowledged after {page.minutes_open} min. "
        f"Paged so far: {who}. Can someone take it?"
    )
    args: dict[str, Any] = {"channel": page.channel, "text": text, "unfurl_links": False}
    if page.thread_ts:
        args |= {"thread_ts": page.thread_ts, "reply_broadcast": True}
    return args


def _people(users: tuple[str, ...]) -> str:
    return ", ".join(f"<@{user}>" for user in users)


def _excerpt(report: str) -> str:
    flat = " ".join(report.split())
    clipped = flat if len(flat) <= REPORT_CHARS else flat[: REPORT_CHARS - 1] + "…"
    return escape(clipped)
