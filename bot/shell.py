"""`jethro shell`: the Slack conversation, played in a terminal.

Each report is its own conversation: the answer, then "did that solve it?"; a no, "none of these",
or an escalation opens a ticket and shows what the engineers' channel would receive. The answer to
"did that solve it?" is read as Slack reads a reply in the report's thread (`bot/intent.py`): a
sentence is a verdict ("still broken") or more detail, which the ticket carries if one follows.
"""

from __future__ import annotations

import uuid

import click

from bot.flow import TriageFlow
from bot.intent import Intent, reply_intent
from bot.preview import escalation_preview
from bot.text_safety import safe_text
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
        text = safe_text(text)
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
        details = _verdict(flow, reporter, conversation)
        if details is None:
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
        text = "\n".join([text, *details])
    ticket = flow.not_solved(
        reporter=reporter,
        source="cli",
        conversation=conversation,
        text=text,
        decision=decision,
        article=article,
    )
    _escalated(ticket, decision)


_YES = frozenset({"", "y", "yes"})
_NO = frozenset({"n", "no"})


def _verdict(flow: TriageFlow, reporter: str, conversation: str) -> list[str] | None:
    """None when the answer solved it; else what the employee added before saying it did not.

    Anything that is neither a yes/no nor a verdict is a follow-up, noted as Slack notes a reply
    in the thread, and the question is asked again.
    """
    details: list[str] = []
    while True:
        try:
            said = click.prompt(
                "Did that solve it? [Y/n, or tell me more]",
                default="",
                show_default=False,
                prompt_suffix=" ",
            ).strip()
        except (EOFError, click.Abort):
            return None
        word = said.lower().strip(" .!")
        if word in _YES:
            return None
        if word in _NO:
            return details
        intent = reply_intent(said)
        if intent is Intent.SOLVED:
            return None
        details.append(said)
        flow.detail(reporter=reporter, conversation=conversation, text=said)
        if intent is Intent.NOT_SOLVED:
            return details
        click.echo(
            "Noted. If the steps above don't fix it, say no (or still broken) and I'll hand "
            "everything you've told me to an engineer."
        )


def _pick(decision: Decision) -> Article | None:
    click.echo("I'm not sure which of these it is:")
    for number, candidate in enumerate(decision.candidates, start=1):
        click.echo(f"  {number}. {candidate.article.title}")
    click.echo("  0. None of these")
    choice = click.prompt("Which one?", type=click.IntRange(0, len(decision.candidates)), default=0)
    return decision.candidates[choice - 1].article if choice else None


PRIVATE_NOTE = (
    "(A private article: asked in a Slack channel, this answer goes to your direct message, "
    "and the channel sees only a note.)"
)


def _show(article: Article) -> None:
    click.echo("")
    click.secho(article.title, bold=True)
    click.echo(article.body.strip())
    if article.private:
        click.echo(PRIVATE_NOTE)
    click.echo("")


def _escalated(ticket: Ticket, decision: Decision) -> None:
    click.echo(
        f"I've handed this to the {ticket.team} on-call engineers as ticket #{ticket.id}; "
        "they'll get back to you here."
    )
    if decision.article is not None and decision.article.private:
        click.echo(PRIVATE_NOTE.replace("this answer goes", "word of the ticket goes"))
    click.echo("The engineers' channel receives:")
    click.echo(escalation_preview(ticket))
