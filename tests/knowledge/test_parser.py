"""One article's text in, an article or `path:line: message` problems out."""

from __future__ import annotations

from textwrap import dedent

from knowledge.article import Action, Article, Severity
from knowledge.loader import load_kb, sample_kb_path
from knowledge.parser import parse_article
from knowledge.yaml_problems import Problem

VPN = """\
---
title: VPN keeps disconnecting
id: vpn-disconnects
examples:
  - vpn drops every few minutes
  - cant stay connected to globalprotect from home
keywords: [vpn, globalprotect]
tags: [network]
action: answer
severity: high
team: network
---

1. Quit the VPN client.
2. Start it again.
"""


def parse(text: str, path: str = "network/vpn.md") -> tuple[Article | None, list[str]]:
    article, problems = parse_article(dedent(text), path, path.removesuffix(".md"))
    return article, [str(p) for p in problems]


def test_a_complete_article_keeps_every_field_and_where_it_came_from() -> None:
    article, problems = parse(VPN)

    assert problems == []
    assert article == Article(
        id="vpn-disconnects",
        title="VPN keeps disconnecting",
        body="1. Quit the VPN client.\n2. Start it again.",
        examples=("vpn drops every few minutes", "cant stay connected to globalprotect from home"),
        keywords=("vpn", "globalprotect"),
        tags=("network",),
        action=Action.ANSWER,
        severity=Severity.HIGH,
        team="network",
        path="network/vpn.md",
        line=1,
    )
    assert article.example_lines == (5, 6)


def test_only_a_title_and_a_body_are_needed_and_the_rest_has_defaults() -> None:
    article, problems = parse("---\ntitle: Printer\nexamples: [printer broken]\n---\nRestart it.\n")

    assert problems == []
    assert article is not None
    assert (article.id, article.action, article.severity, article.team, article.keywords) == (
        "network/vpn",
        Action.ANSWER,
        Severity.NORMAL,
        None,
        (),
    )


def test_values_are_kept_as_the_admin_typed_them_not_as_yaml_guesses() -> None:
    article, _ = parse("---\ntitle: 404\nid: 007\nexamples: [yes, 1.10, on]\n---\nx\n")

    assert article is not None
    assert (article.title, article.id, article.examples) == ("404", "007", ("yes", "1.10", "on"))


def test_windows_line_endings_and_a_byte_order_mark_change_nothing() -> None:
    text = "\ufeff" + dedent(VPN).replace("\n", "\r\n")

    article, problems = parse_article(text, "network/vpn.md", "network/vpn")

    assert problems == []
    assert article is not None
    assert article.body == "1. Quit the VPN client.\n2. Start it again."
    assert article.example_lines == (5, 6)


def test_line_numbers_count_blank_lines_before_the_front_matter() -> None:
    article, problems = parse(
        "\n\n---\ntitle: Wifi\nexamples:\n  - wifi down\naction: nope\n---\nx"
    )

    assert article is None
    assert problems == [
        "network/vpn.md:7: unknown action 'nope': expected one of answer, escalate",
    ]


def test_a_file_without_front_matter_is_an_error_on_its_first_line() -> None:
    article, problems = parse("# VPN\n\nRestart it.\n")

    assert article is None
    assert problems == [
        "network/vpn.md:1: missing front matter: start the file with a '---' line, then "
        "'title: ...', then another '---' line before the resolution"
    ]


def test_unclosed_front_matter_points_at_the_opening_line() -> None:
    _, problems = parse("---\ntitle: VPN\n\nRestart it.\n")

    assert problems == [
        "network/vpn.md:1: front matter is never closed: add a '---' line after its last key"
    ]


def test_an_unclosed_bracket_points_at_the_line_that_opened_it() -> None:
    _, problems = parse(
        """\
        ---
        title: VPN
        examples:
          - vpn drops
        keywords: [vpn, globalprotect
        team: network
        ---
        x
        """
    )

    assert problems == [
        "network/vpn.md:5: invalid YAML in front matter: a '[' is never closed "
        "(expected ',' or ']', but got ':')"
    ]


def test_yaml_errors_point_at_the_offending_line_of_the_file() -> None:
    quote = parse('---\ntitle: "VPN drops\nexamples: [vpn]\n---\nx\n')
    colon = parse("---\nexamples: [vpn]\ntitle: VPN: it drops\n---\nx\n")
    tab = parse("---\ntitle: VPN\n\texamples: [vpn]\n---\nx\n")
    nul = parse("---\nexamples: [vpn]\ntitle: V\x00PN\n---\nx\n")

    assert [quote[1], colon[1], tab[1], nul[1]] == [
        [
            "network/vpn.md:2: invalid YAML in front matter: a quote is never closed "
            "(found unexpected end of stream)"
        ],
        ["network/vpn.md:3: invalid YAML in front matter: mapping values are not allowed here"],
        [
            "network/vpn.md:3: invalid YAML in front matter: while scanning for the next token: "
            "found character '\\t' that cannot start any token (indent with spaces, not tabs)"
        ],
        ["network/vpn.md:3: invalid YAML in front matter: unacceptable character U+0000"],
    ]


def test_front_matter_that_is_not_key_value_lines_is_an_error() -> None:
    _, problems = parse("---\n- title\n- examples\n---\nx\n")

    assert problems == [
        "network/vpn.md:2: front matter must be 'key: value' lines, like 'title: ...'"
    ]


def test_missing_and_empty_titles_are_errors() -> None:
    missing = parse("---\nexamples: [vpn]\n---\nx\n")
    empty = parse("---\nexamples: [vpn]\ntitle:\n---\nx\n")

    assert missing == (None, ["network/vpn.md:1: missing required key 'title'"])
    assert empty == (None, ["network/vpn.md:3: 'title' is empty"])


def test_unknown_action_and_severity_suggest_the_closest_value() -> None:
    _, problems = parse(
        "---\ntitle: VPN\nexamples: [vpn]\naction: escalte\nseverity: urgent\n---\nx\n"
    )

    assert problems == [
        "network/vpn.md:4: unknown action 'escalte': expected one of answer, escalate "
        "(did you mean 'escalate'?)",
        "network/vpn.md:5: unknown severity 'urgent': expected one of low, normal, high, critical",
    ]


def test_capitalised_values_are_accepted_with_a_warning() -> None:
    article, problems = parse("---\ntitle: Phish\nexamples: [phish]\naction: Escalate\n---\n")

    assert article is not None
    assert article.action is Action.ESCALATE
    assert problems == ["network/vpn.md:4: warning: write action values in lowercase: 'escalate'"]


def test_an_answer_needs_a_body_but_an_escalation_does_not() -> None:
    answer = parse("---\ntitle: VPN\nexamples: [vpn]\n---\n\n   \n")
    escalate = parse("---\ntitle: Phish\nexamples: [phish]\naction: escalate\n---\n")

    assert answer == (
        None,
        [
            "network/vpn.md:4: empty body: an 'answer' article needs a resolution below the "
            "front matter (or set 'action: escalate')"
        ],
    )
    assert escalate[1] == []
    assert escalate[0] is not None


def test_an_empty_action_means_answer_so_the_body_is_still_required() -> None:
    _, problems = parse("---\ntitle: VPN\nexamples: [vpn]\naction:\n---\n")

    assert problems == [
        "network/vpn.md:5: empty body: an 'answer' article needs a resolution below the front "
        "matter (or set 'action: escalate')"
    ]


def test_unknown_keys_are_warnings_that_suggest_the_key_meant() -> None:
    article, problems = parse(
        "---\ntitle: VPN\nexamples: [vpn]\nTags: [a]\nkeywrds: [b]\nowner: it\nnotes: x\n---\nx\n"
    )

    assert article is not None
    assert problems == [
        "network/vpn.md:4: warning: unknown key 'Tags' (did you mean 'tags'?)",
        "network/vpn.md:5: warning: unknown key 'keywrds' (did you mean 'keywords'?)",
        "network/vpn.md:6: warning: unknown key 'owner' (did you mean 'team'?)",
        "network/vpn.md:7: warning: unknown key 'notes'",
    ]


def test_a_key_given_twice_is_an_error_naming_the_first() -> None:
    _, problems = parse("---\ntitle: VPN\nexamples: [vpn]\ntitle: Wifi\n---\nx\n")

    assert problems == ["network/vpn.md:4: duplicate key 'title' (first at line 2)"]


def test_lists_given_as_a_single_text_are_errors() -> None:
    _, problems = parse('---\ntitle: VPN\nexamples: "vpn drops"\nkeywords: vpn, wifi\n---\nx\n')

    assert problems == [
        "network/vpn.md:3: 'examples' must be a list, not a single text: write one '- item' "
        "per line, or [a, b]",
        "network/vpn.md:4: 'keywords' must be a list, not a single text: write one '- item' "
        "per line, or [a, b]",
    ]


def test_an_example_with_an_unquoted_colon_is_an_error_on_its_line() -> None:
    _, problems = parse(
        "---\ntitle: VPN\nexamples:\n  - vpn drops\n  - error: auth failed\n---\nx\n"
    )

    assert problems == [
        "network/vpn.md:5: each item of 'examples' must be text, not a mapping of keys; put it "
        "in quotes if it contains ': '"
    ]


def test_text_fields_given_as_lists_are_errors() -> None:
    _, problems = parse("---\ntitle:\n  - VPN\nexamples: [vpn]\nteam: [it, sre]\n---\nx\n")

    assert problems == [
        "network/vpn.md:3: 'title' must be text, not a list",
        "network/vpn.md:5: 'team' must be text, not a list",
    ]


def test_an_id_with_spaces_is_an_error_and_so_is_an_empty_one() -> None:
    spaces = parse("---\ntitle: VPN\nid: vpn drops\nexamples: [vpn]\n---\nx\n")
    empty = parse("---\ntitle: VPN\nid: ''\nexamples: [vpn]\n---\nx\n")

    assert spaces[1] == [
        "network/vpn.md:3: id 'vpn drops' contains spaces: use '-' instead, like 'vpn-drops'"
    ]
    assert empty[1] == [
        "network/vpn.md:3: 'id' is empty: remove it to use the path ('network/vpn')"
    ]


def test_a_file_name_with_spaces_gives_a_warning_about_its_id() -> None:
    article, problems = parse("---\ntitle: VPN\nexamples: [vpn]\n---\nx\n", path="my vpn.md")

    assert article is not None
    assert problems == [
        "my vpn.md:1: warning: the id taken from the file name, 'my vpn', contains spaces: "
        "rename the file or set 'id:'"
    ]


def test_repeated_and_empty_examples_are_dropped_with_warnings() -> None:
    article, problems = parse(
        "---\ntitle: VPN\nexamples:\n  - vpn drops\n  - VPN   Drops\n  -\n  - vpn slow\n---\nx\n"
    )

    assert article is not None
    assert article.examples == ("vpn drops", "vpn slow")
    assert article.example_lines == (4, 7)
    assert problems == [
        "network/vpn.md:5: warning: 'examples' repeats 'VPN Drops' (first at line 4)",
        "network/vpn.md:6: warning: empty item in 'examples' is ignored",
    ]


def test_an_article_without_examples_loads_with_a_warning() -> None:
    article, problems = parse("---\ntitle: VPN\n---\nx\n")

    assert article is not None
    assert problems == [
        "network/vpn.md:1: warning: no examples: add a few ways people describe this problem, "
        "to match on"
    ]


def test_every_error_in_a_file_is_reported_at_once_in_line_order() -> None:
    article, problems = parse("---\nexamples: one\naction: maybe\nseverity: hi\n---\n")

    assert article is None
    assert problems == [
        "network/vpn.md:1: missing required key 'title'",
        "network/vpn.md:2: 'examples' must be a list, not a single text: write one '- item' per "
        "line, or [a, b]",
        "network/vpn.md:3: unknown action 'maybe': expected one of answer, escalate",
        "network/vpn.md:4: unknown severity 'hi': expected one of low, normal, high, critical "
        "(did you mean 'high'?)",
    ]


def test_problems_print_as_path_line_message_with_warnings_marked() -> None:
    error = Problem("a/b.md", 3, "'title' is empty", "error")
    warning = Problem("a/b.md", 4, "unknown key 'x'", "warning")

    assert (str(error), str(warning)) == (
        "a/b.md:3: 'title' is empty",
        "a/b.md:4: warning: unknown key 'x'",
    )


def test_visibility_says_whether_an_article_may_be_answered_where_others_read() -> None:
    private, problems = parse(
        VPN.replace("team: network\n", "team: network\nvisibility: private\n")
    )
    public, _ = parse(VPN)

    assert problems == [] and private is not None and private.private
    assert public is not None and not public.private


def test_a_wrong_visibility_is_an_error_with_the_fix_and_a_habit_a_warning() -> None:
    wrong, problems = parse(VPN.replace("team: network\n", "team: network\nvisibility: privat\n"))
    habit, warned = parse(VPN.replace("team: network\n", "team: network\nconfidential: yes\n"))

    assert wrong is None
    assert problems == [
        "network/vpn.md:12: unknown visibility 'privat': expected one of public, private "
        "(did you mean 'private'?)"
    ]
    assert habit is not None and not habit.private
    assert warned == [
        "network/vpn.md:12: warning: unknown key 'confidential' (did you mean 'visibility'?)"
    ]


def test_the_sample_base_marks_what_nobody_else_should_read() -> None:
    kb = load_kb(sample_kb_path())
    private = sorted(article.id for article in kb.articles if article.private)

    assert private == [
        "account-compromised",
        "data-deletion-request",
        "employee-leaving",
        "payslip",
    ]
