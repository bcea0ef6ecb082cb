"""Run the installed `jethro` command as a user would: a subprocess with its own environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Shared by every run in this test session, so the embeddings of the sample base are computed once.
_CACHE = tempfile.mkdtemp(prefix="jethro-test-cache-")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def jethro_executable() -> str:
    beside = Path(sys.executable).parent / "jethro"
    found = str(beside) if beside.exists() else shutil.which("jethro")
    if found is None:
        raise RuntimeError("the `jethro` command is not installed: pip install -e '.[dev]'")
    return found


def run_jethro(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, cwd: Path | None = None
) -> Run:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("JETHRO_", "SLACK_"))}
    environ.pop("DATABASE_URL", None)
    environ["JETHRO_CACHE_DIR"] = _CACHE
    environ.update(env or {})
    done = subprocess.run(
        [jethro_executable(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd or _CACHE,  # away from any developer's .env in the checkout
        timeout=120,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)
