"""The settings table: every setting's name, default, parser and documentation in one place.

One table drives defaults, validation, `jethro config` and the README's configuration table (a test
fails when they drift apart). Library code never reads `os.environ` itself: the CLI loads `.env`
(never overriding the real environment) and passes the mapping to `load_settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from escalation.errors import JethroError
from knowledge.triage import TriagePolicy

_DEFAULT_POLICY = TriagePolicy()


class ConfigError(JethroError):
    """A setting has a bad value; the message names the setting and the fix."""


@dataclass(frozen=True)
class Setting:
    name: str
    attr: str
    default: str
    doc: str
    parse: Callable[[str], Any]
    fix: str
    secret: bool = False


def _url(value: str) -> str:
    if "://" not in value:
        raise ValueError("not a database URL")
    return value


def _optional_path(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


def _probability(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError("must be between 0 and 1")
    return number


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return parse


def _name(value: str) -> str:
    if not value or any(ch.isspace() for ch in value):
        raise ValueError("must be a single word")
    return value


def _log_level(value: str) -> str:
    return _choice("DEBUG", "INFO", "WARNING", "ERROR")(value.upper())


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "database_url",
        "sqlite:///jethro.db",
        "Where tickets, conversations and feedback live. SQLite (a file) for one process; "
        "PostgreSQL (`postgresql+psycopg://user@host/db`) to run several replicas.",
        _url,
        "use a SQLAlchemy URL such as sqlite:///jethro.db or postgresql+psycopg://user@host/db",
    ),
    Setting(
        "JETHRO_KB_DIR",
        "kb_dir",
        "",
        "Folder of knowledge-base articles (markdown). Empty: the bundled sample base.",
        _optional_path,
        "point it at a folder of .md articles, or leave it empty for the sample base",
    ),
    Setting(
        "JETHRO_ANSWER_THRESHOLD",
        "answer_threshold",
        str(_DEFAULT_POLICY.answer_threshold),
        "Confidence (0-1) at or above which the bot answers with the best article.",
        _probability,
        "use a number between 0 and 1, e.g. 0.5",
    ),
    Setting(
        "JETHRO_SUGGEST_THRESHOLD",
        "suggest_threshold",
        str(_DEFAULT_POLICY.suggest_threshold),
        "Confidence (0-1) that the right article is among the top few, at or above which the bot "
        "offers a short list instead of escalating.",
        _probability,
        "use a number between 0 and 1, below JETHRO_ANSWER_THRESHOLD",
    ),
    Setting(
        "JETHRO_DEFAULT_TEAM",
        "default_team",
        "it",
        "On-call team for escalations whose article names no team, and for unknown problems.",
        _name,
        "use a team name without spaces, e.g. it",
    ),
    Setting(
        "JETHRO_LOG_LEVEL",
        "log_level",
        "WARNING",
        "Logging verbosity: DEBUG, INFO, WARNING or ERROR.",
        _log_level,
        "use DEBUG, INFO, WARNING or ERROR",
    ),
)


@dataclass(frozen=True)
class Settings:
    database_url: str
    kb_dir: Path | None
    answer_threshold: float
    suggest_threshold: float
    default_team: str
    log_level: str

    def policy(self) -> TriagePolicy:
        return TriagePolicy(
            answer_threshold=self.answer_threshold, suggest_threshold=self.suggest_threshold
        )


def load_settings(environ: Mapping[str, str], **overrides: Any) -> Settings:
    """Parse every setting; all bad values go into one `ConfigError` that names the fixes."""
    values: dict[str, Any] = {}
    errors: list[str] = []
    for setting in SETTINGS:
        raw = environ.get(setting.name, setting.default).strip()
        try:
            values[setting.attr] = setting.parse(raw)
        except ValueError as exc:
            shown = "***" if setting.secret else repr(raw)
            errors.append(f"{setting.name}={shown} is invalid ({exc}): {setting.fix}.")
    values.update({key: value for key, value in overrides.items() if value is not None})
    if not errors and values["suggest_threshold"] > values["answer_threshold"]:
        errors.append(
            "JETHRO_SUGGEST_THRESHOLD is above JETHRO_ANSWER_THRESHOLD: "
            "set it lower, or the bot would never suggest."
        )
    if errors:
        raise ConfigError("\n".join(errors))
    known = {f.name for f in fields(Settings)}
    return Settings(**{key: value for key, value in values.items() if key in known})


def settings_markdown() -> str:
    """The README's configuration table; a test keeps the README in step with `SETTINGS`."""
    rows = ["| setting | default | what it does |", "| --- | --- | --- |"]
    for setting in SETTINGS:
        default = f"`{setting.default}`" if setting.default else "(empty)"
        rows.append(f"| `{setting.name}` | {default} | {setting.doc} |")
    return "\n".join(rows)
