"""Long reports: pasted logs, traces and pleasantries do not hide the problem from the matcher."""

from __future__ import annotations

from knowledge.decision import Outcome
from knowledge.index import LexicalMatcher
from knowledge.loader import load_kb, sample_kb_path
from knowledge.reports import gist, is_machine_line, readings
from knowledge.triage import TriagePolicy, decide

PROBLEM = "My VPN keeps dropping every few minutes."
PASTED = """\
2024-03-14T09:12:01Z INFO  worker[311] heartbeat ok queue=default lag_ms=12
Mar 14 09:12:03 laptop openvpn[2231]: TLS Error: TLS key negotiation failed
[2231] DEBUG session refreshed token ttl=3600 region=eu-west-1
Traceback (most recent call last):
  File "/usr/lib/app/main.py", line 12, in run
    at com.corp.vpn.Tunnel.open(Tunnel.java:88)
GET /api/v2/status?id=4 200 31ms
$ ping -c 3 10.0.0.1
64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms"""
LONG = f"""Hi team, sorry to bother you again.
{PROBLEM}
Here is what I see:
{PASTED}
```
{{"status": 503, "retry": true}}
```
Thanks a lot in advance, this is blocking me a bit."""


def test_pasted_output_is_set_aside_and_the_prose_kept() -> None:
    kept = gist(LONG).splitlines()

    assert kept == [
        "Hi team, sorry to bother you again.",
        PROBLEM,
        "Here is what I see:",
        "Thanks a lot in advance, this is blocking me a bit.",
    ]


def test_what_people_write_is_not_taken_for_machine_output() -> None:
    for line in (
        "Since 9:30 this morning I can't log in to the VPN.",
        "ERROR: the printer on floor 3 says it is out of paper",
        "I'm on ticket INC-2231, laptop 10.0.0.1, port 443",
        "i couldn't say",
        "what's london's timezone",
    ):
        assert not is_machine_line(line), line


def test_a_report_that_is_only_output_is_matched_whole() -> None:
    assert gist(PASTED) == PASTED


def test_a_short_report_is_read_once_as_written() -> None:
    assert readings("my vpn keeps dropping") == ("my vpn keeps dropping",)


def test_each_sentence_of_a_long_report_is_a_reading() -> None:
    assert readings(LONG)[1:] == (
        "Hi team, sorry to bother you again.",
        PROBLEM,
        "Here is what I see:",
        "Thanks a lot in advance, this is blocking me a bit.",
    )


def test_a_long_report_gets_the_answer_its_problem_alone_gets() -> None:
    matcher = LexicalMatcher(load_kb(sample_kb_path()).articles)
    policy = TriagePolicy()

    short = decide(PROBLEM, matcher, policy)
    long = decide(LONG, matcher, policy)

    assert short.outcome is Outcome.ANSWER
    assert long.outcome is Outcome.ANSWER
    assert long.article == short.article
    assert long.article is not None and long.article.id == "vpn-disconnects"


def test_pleasantries_alone_are_not_answered() -> None:
    matcher = LexicalMatcher(load_kb(sample_kb_path()).articles)

    decision = decide(
        "Hi team, sorry to bother you again.\nThanks a lot in advance, this is blocking me a bit.",
        matcher,
        TriagePolicy(),
    )

    assert decision.outcome is not Outcome.ANSWER
