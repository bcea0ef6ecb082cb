"""`bench/load.py` still runs end to end: a second of low-rate traffic against the bare app and
Jethro, every report answered once. It times nothing (that is the benchmark's job); it keeps the
benchmark from rotting unnoticed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.dbfixtures import POSTGRES_URL_VARIABLE

ROOT = Path(__file__).resolve().parents[2]


def test_every_report_is_answered_once_at_a_low_rate() -> None:
    targets = ["bare", "sqlite"] + (["postgres-2"] if os.environ.get(POSTGRES_URL_VARIABLE) else [])
    command = [sys.executable, str(ROOT / "bench" / "load.py"), "--targets", *targets]
    command += ["--rate", "10", "--seconds", "1", "--warmup", "0", "--no-ramp"]
    command += ["--matcher", "lexical", "--drain", "30", "--json"]

    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)

    assert done.returncode == 0, done.stderr
    figures = {f["target"]: f for f in json.loads(done.stdout)["fixed"]}
    assert sorted(figures) == sorted(targets)
    for name, f in figures.items():
        assert (f["sent"], f["errors"], f["lost"], f["duplicates"]) == (10, 0, 0, 0), name
        assert f["answered"] == 10, name
