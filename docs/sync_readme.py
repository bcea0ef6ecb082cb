"""Regenerate the README's settings table from `bot/config.py`: `python docs/sync_readme.py`."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import settings_markdown

README = Path(__file__).parents[1] / "README.md"


def main() -> None:
    text = README.read_text()
    block = f"<!-- settings -->\n{settings_markdown()}\n<!-- /settings -->"
    README.write_text(re.sub(r"<!-- settings -->.*?<!-- /settings -->", block, text, flags=re.S))


if __name__ == "__main__":
    main()
