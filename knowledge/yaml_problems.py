"""Reporting YAML problems at the line to fix: shared by the KB parser and the on-call file, so
admins see one wording for one mistake in either file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

_UNCLOSED = {
    "while scanning a quoted scalar": "a quote is never closed",
    "while parsing a flow sequence": "a '[' is never closed",
    "while parsing a flow mapping": "a '{' is never closed",
}


@dataclass(frozen=True)
class Problem:
    """Something wrong in a file; errors keep the thing out, warnings only inform."""

    path: str
    line: int
    message: str
    level: Literal["error", "warning"]

    def __str__(self) -> str:
        prefix = "warning: " if self.level == "warning" else ""
        return f"{self.path}:{self.line}: {prefix}{self.message}"


@dataclass
class Report:
    """Collects the problems of one file; parsing goes on after an error to find the rest."""

    path: str
    problems: list[Problem] = field(default_factory=list)

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message, "error"))

    def warning(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message, "warning"))

    @property
    def failed(self) -> bool:
        return any(p.level == "error" for p in self.problems)


def yaml_problem(exc: yaml.MarkedYAMLError) -> tuple[int, str]:
    """The 0-based line (-1 unknown) and wording of PyYAML's error.

    An unclosed quote or bracket is found lines later, where YAML gives up; the line that needs
    the fix is where it was opened, so point there.
    """
    problem = exc.problem_mark.line if exc.problem_mark else -1
    context = exc.context_mark.line if exc.context_mark else problem
    unclosed = _UNCLOSED.get(exc.context or "")
    if unclosed and context != problem:
        return context, f"{unclosed} ({exc.problem})"
    detail = f"{exc.context}: {exc.problem}" if exc.context else str(exc.problem)
    if "'\\t'" in detail:
        detail += " (indent with spaces, not tabs)"
    return problem, detail


def node_kind(node: Node) -> str:
    """What an admin wrote, in their words, for 'must be a list, not a ...'."""
    if isinstance(node, MappingNode):
        return "mapping of keys"
    return "list" if isinstance(node, SequenceNode) else "text"
