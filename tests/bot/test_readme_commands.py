"""The README's command table names every `jethro` command there is, so none is undiscoverable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click

from bot.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def commands(command: click.Command, path: tuple[str, ...]) -> Iterator[str]:
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from commands(sub, (*path, name))
    else:
        yield " ".join(path)


def test_every_command_has_a_row_in_the_readme_table() -> None:
    table = re.search(r"<!-- cli-help -->(.*)<!-- /cli-help -->", README.read_text(), re.S)
    assert table is not None
    named = set(re.findall(r"`(jethro [a-z ]+?)(?= [A-Z\[-]|`)", table.group(1)))

    missing = sorted(set(commands(main, ("jethro",))) - named)

    assert not missing, f"README's command table lacks {missing}"
