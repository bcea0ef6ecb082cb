"""`jethro shell`: the Slack conversation, played in a terminal.

Each report is its own conversation: the answer, then "did that solve it?"; a no, "none of these",
or an escalation opens a ticket and shows what the engineers' channel would receive.
"""

from __future__ import annotations

import uuid

import click

from bot.flow import TriageFlow
from bot.preview import escalation_preview
from escalation.models import Ticket
from knowledge.article import Article
from knowledge.decision import Decision, Outcome

PROMPT = "What's broken?"


def run_shell(flow: TriageFlow, *, reporter: str, articles: int) -> None:
    click.echo(
        f"Jethro here, with {articles} articles. Describe a problem; an empty line or Ctrl-D quits."
    )
    while True:
        try:
            text = click.prompt(PROMPT, default="", show_default=False, prompt_suffix=" ")
        except (EOFError, click.Abort):
            break
        if not text.strip():
            break
        _converse(flow, reporter, text)
    click.echo("Bye.")


def _converse(flow: TriageFlow, reporter: str, text: str) -> None:
    conversation = f"cli-{uuid.uuid4().hex[:12]}"
    result = flow.report(reporter=reporter, source="cli", text=text, conversation=conversation)
    decision = result.decision
    if result.ticket is not None:
        _escalated(result.ticket, decision)
        return
    article: Article | None = decision.article
    if decision.outcome is Outcome.SUGGEST:
        article = _pick(decision)
    if article is not None:
        _show(article)
        if _ask_yes("Did that solve it?"):
            answered = decision.outcome is Outcome.ANSWER
            flow.solved(
                reporter=reporter,
                conversation=conversation,
                article=article,
                text=text,
                confidence=decision.confidence if answered else None,
            )
            click.echo("Great, glad that fixed it.")
            return
    ticket = flow.not_solved(
        reporter=reporter,
        source="cli",
        conversation=conversation,
        text=text,
        decision=decision,
        article=article,
    )
    _escalated(ticket, decision)


def _pick(decision: Decision) -> Article | None:
    click.echo("I'm not sure which of these it is:")
    for number, candidate in enumerate(decision.candidates, start=1):
        click.echo(f"  {number}. {candidate.article.title}")
    click.echo("  0. None of these")
    choice = click.prompt("Which one?", type=click.IntRange(0, len(decision.candidates)), default=0)
    return decision.candidates[choice - 1].article if choice else None


def _show(article: Article) -> None:
    click.echo("")
    click.secho(article.title, bold=True)
    click.echo(article.body.strip())
    click.echo("")


def _ask_yes(question: str) -> bool:
    try:
        return click.confirm(question, default=True)
    except (EOFError, click.Abort):
        return True


def _escalated(ticket: Ticket, decision: Decision) -> None:
    click.echo(
        f"I've handed this to the {ticket.team} on-call engineers as ticket #{ticket.id}; "
        "they'll get back to you here."
    )
    click.echo("The engineers' channel receives:")
    click.echo(escalation_preview(ticket))
