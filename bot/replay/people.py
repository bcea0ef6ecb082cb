"""The simulated people of a replay, each doing what the issue says a person would.

- The employee (a different one for every report) clicks Solved when the answer's article is
  the report's label and Still broken otherwise, picks the suggestion that is the label (then
  clicks Solved on it), or says none fits.
- The engineer resolves every ticket: naming the label's article when the base has it, as a
  new problem when it does not, and with no article for an "oos" report.
- The admin publishes a proposed article (`jethro kb publish`) once it holds 3 tickets of one
  problem not in the base, named by that label, and the base reloads.
Every report is judged (`Judged`) before anyone reacts to it.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from bot.desk import Action, Click, Report, Source
from bot.learning.proposals import proposals, publish
from bot.replay.scores import Judged
from bot.replay.world import World
from escalation.models import SlackConversation, ThreadState
from knowledge.decision import Outcome
from knowledge.evaluate import OOS, Query
from knowledge.learning import NEW_PROBLEM
from knowledge.learning.proposals import ProposalError

log = logging.getLogger(__name__)

ENGINEER = "U0REPLAYENGINEER"
ADMIN_AFTER = 3
"""Tickets of one new problem in a proposal before the admin publishes it."""


@dataclass
class People:
    world: World
    label_of: dict[int, str] = field(default_factory=dict)
    """Each ticket's report's label: what the admin recognises reading a proposal."""

    def report(self, number: int, query: Query) -> Judged:
        world = self.world
        reporter, channel = f"U{number:09d}", f"D{number:09d}"
        world.clock.advance(minutes=1)
        learned = world.examples_learned()
        world.desk.take(
            Report(reporter, query.text, Source.DM, channel, None, event_key=f"replay-{number}")
        )
        conversation = world.conversation(reporter)
        if conversation is None:  # a greeting or thanks, which the bot answers with its help
            return Judged(query.label, None, False, 0, 0)
        answered = conversation.article_id if conversation.outcome is Outcome.ANSWER else None
        self._react(conversation, query.label, f"{number}.000100")
        conversation = world.conversation(reporter)
        assert conversation is not None
        published = 0
        if conversation.ticket_id is not None:
            published = self._resolve(conversation.ticket_id, query.label)
        return Judged(
            query.label,
            answered,
            conversation.ticket_id is not None,
            max(0, world.examples_learned() - learned),
            published,
        )

    def _react(self, conversation: SlackConversation, label: str, ts: str) -> None:
        """The employee's clicks on the bot's first message (posted as `ts`)."""
        if conversation.state is ThreadState.ESCALATED:
            return
        self.world.delivered(conversation, ts)
        click = _clicker(conversation, ts)
        desk = self.world.desk
        if conversation.state is ThreadState.ANSWERED:
            right = conversation.article_id == label
            desk.click(click(Action.SOLVED if right else Action.NOT_SOLVED, conversation.key))
        elif label in {c["id"] for c in conversation.candidates}:
            desk.click(click(Action.PICK, label))
            desk.click(click(Action.SOLVED, conversation.key))
        else:
            desk.click(click(Action.NONE, conversation.key))

    def _resolve(self, ticket: int, label: str) -> int:
        """The engineer resolves the ticket; returns how many articles the admin published."""
        kb = self.world.knowledge.current.kb
        article = kb.by_id(label)
        if label == OOS:
            solved_by, note = None, "Helped in person; no article needed."
        elif article is not None:
            solved_by, note = label, f"Solved as '{article.title}' says."
        else:
            solved_by, note = NEW_PROBLEM, f"How to handle: {_title(label).lower()}."
        self.label_of[ticket] = label
        self.world.engineers.resolve(ticket, ENGINEER, note, teach=False, solved_by=solved_by)
        return self._publish() if solved_by == NEW_PROBLEM else 0

    def _publish(self) -> int:
        """The admin reads the proposals and publishes each that holds `ADMIN_AFTER` tickets of
        one problem the base lacks, under that problem's label."""
        world = self.world
        done = 0
        for proposal in proposals(world.desk.engine):
            if proposal.count < ADMIN_AFTER:
                break  # largest first
            labels = Counter(self.label_of[t.ticket] for t in proposal.tickets)
            label, count = labels.most_common(1)[0]
            kb = world.knowledge.current.kb
            if count < ADMIN_AFTER or label == OOS or kb.by_id(label) is not None:
                continue
            try:
                publish(
                    world.desk.engine,
                    proposal.id,
                    world.kb_root,
                    kb.articles,
                    title=_title(label),
                    article_id=label,
                )
            except ProposalError as exc:
                log.warning("the admin could not publish proposal %s: %s", proposal.id, exc)
                continue
            world.knowledge.reload()
            done += 1
        return done


def _clicker(conversation: SlackConversation, ts: str) -> _Click:
    return _Click(conversation.reporter, conversation.channel, ts)


@dataclass(frozen=True)
class _Click:
    user: str
    channel: str
    ts: str

    def __call__(self, action: Action, value: str) -> Click:
        return Click(action, value, self.user, self.channel, self.ts)


def _title(label: str) -> str:
    return label.replace("_", " ").strip().capitalize() or label
