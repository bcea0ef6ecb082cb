"""The fake Slack Web API, driven by a real slack_sdk WebClient over HTTP."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.fakes.fixtures import BOT_TOKEN
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_spec import assert_calls_valid, call_problems

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*VPN* is back"}}


def test_records_whole_calls_and_answers_like_slack(
    fake_slack: FakeSlack, slack_client: WebClient
) -> None:
    first = slack_client.chat_postMessage(channel="C1", text="VPN is back", blocks=[SECTION])
    second = slack_client.chat_postMessage(channel="C1", text="again", thread_ts=first["ts"])

    assert first["channel"] == "C1" and first["message"]["blocks"] == [SECTION]
    assert float(second["ts"]) > float(first["ts"])
    call = fake_slack.calls("chat.postMessage")[0]
    assert call.args == {"channel": "C1", "text": "VPN is back", "blocks": [SECTION]}
    assert call.token == BOT_TOKEN
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert call.ok and call.response["ts"] == first["ts"]
    assert fake_slack.posted("C1")[1]["thread_ts"] == first["ts"]


def test_form_query_and_json_bodies_parse_the_same(
    fake_slack: FakeSlack, slack_client: WebClient
) -> None:
    fake_slack.set_members("C9", ["U1", "U2"])
    slack_client.conversations_members(channel="C9")  # GET with a query string
    slack_client.conversations_open(users=["U1", "U2"])  # url-encoded form
    ts = slack_client.chat_postMessage(channel="C9", text="first")["ts"]  # JSON
    slack_client.api_call("chat.update", params={"channel": "C9", "ts": ts, "blocks": "[]"})

    assert fake_slack.calls("conversations.members")[0].response["members"] == ["U1", "U2"]
    assert fake_slack.calls("conversations.open")[0].args == {"users": "U1,U2"}
    assert fake_slack.calls("chat.update")[0].args["blocks"] == []  # JSON in a form field


def test_a_dm_to_a_user_lands_in_their_dm_channel(slack_client: WebClient) -> None:
    posted = slack_client.chat_postMessage(channel="U123", text="hello")
    opened = slack_client.conversations_open(users="U123")

    assert posted["channel"].startswith("D")
    assert opened["channel"]["id"] == posted["channel"]
    assert opened["already_open"] is True


def test_chat_update_changes_the_message_in_place(
    fake_slack: FakeSlack, slack_client: WebClient
) -> None:
    posted = slack_client.chat_postMessage(channel="C1", text="Checking...")
    slack_client.chat_update(channel="C1", ts=posted["ts"], text="Solved", blocks=[SECTION])

    assert fake_slack.message("C1", posted["ts"])["text"] == "Solved"
    with pytest.raises(SlackApiError) as missing:
        slack_client.chat_update(channel="C1", ts="1.000001", text="nothing there")
    assert missing.value.response["error"] == "message_not_found"


def test_people_views_and_links(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    fake_slack.add_user("U7", real_name="Ada Lovelace", tz="Europe/Paris")

    assert slack_client.users_info(user="U7")["user"]["tz"] == "Europe/Paris"
    assert slack_client.users_info(user="U8")["user"]["id"] == "U8"
    link = slack_client.chat_getPermalink(channel="C1", message_ts="1700000000.000100")
    assert link["permalink"].endswith("/archives/C1/p1700000000000100")
    home = slack_client.views_publish(user_id="U7", view={"type": "home", "blocks": [SECTION]})
    assert home["view"]["id"].startswith("V") and home["view"]["blocks"] == [SECTION]
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Report"}, "blocks": []}
    opened = slack_client.views_open(trigger_id="1.2.x", view=modal)
    updated = slack_client.views_update(view_id=opened["view"]["id"], view=modal)
    assert updated["view"]["id"] == opened["view"]["id"]
    assert slack_client.reactions_add(channel="C1", timestamp="1.2", name="eyes")["ok"]
    with pytest.raises(SlackApiError, match="channel_not_found"):
        slack_client.conversations_members(channel="C-unknown")


def test_429_retry_after_is_honoured_by_the_rate_limit_handler(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=slept.append))
    client = WebClient(
        token=BOT_TOKEN,
        base_url=fake_slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=3)

    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    first, second = fake_slack.calls("chat.postMessage")
    assert (first.status, first.response["error"]) == (429, "ratelimited")
    assert second.ok
    assert len(slept) == 1 and 3 <= slept[0] < 4  # Retry-After plus slack_sdk's jitter


def test_without_a_retry_handler_the_429_reaches_the_caller(
    fake_slack: FakeSlack, slack_client: WebClient
) -> None:
    fake_slack.fail_next("*", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        slack_client.chat_postMessage(channel="C1", text="hi")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"


def test_server_errors_and_error_codes_then_recovery(
    fake_slack: FakeSlack, slack_client: WebClient
) -> None:
    fake_slack.fail_next("chat.postMessage", status=500)
    fake_slack.error_next("chat.postMessage", "invalid_auth")

    with pytest.raises(SlackApiError) as server_error:
        slack_client.chat_postMessage(channel="C1", text="one")
    with pytest.raises(SlackApiError) as refused:
        slack_client.chat_postMessage(channel="C1", text="two")
    assert server_error.value.response.status_code == 500
    assert refused.value.response["error"] == "invalid_auth"
    assert slack_client.chat_postMessage(channel="C1", text="three")["ok"]
    assert [c.ok for c in fake_slack.calls()] == [False, False, True]


def test_a_timed_out_post_was_still_received(fake_slack: FakeSlack) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url, timeout=0.2)  # type: ignore[arg-type]
    fake_slack.delay_next("chat.postMessage", 2.0)

    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="slow")
    assert [m["text"] for m in fake_slack.posted("C1")] == ["slow"]  # Slack may have posted it


def test_an_outage_fails_every_call_until_slack_comes_back(fake_slack: FakeSlack) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url, timeout=0.2)  # type: ignore[arg-type]
    client.retry_handlers = []

    fake_slack.go_down(status=503)
    with pytest.raises(SlackApiError) as down:
        client.chat_postMessage(channel="C1", text="one")
    fake_slack.go_down(hang=1.0)
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="two")
    fake_slack.come_back()
    client.chat_postMessage(channel="C1", text="three")

    assert down.value.response.status_code == 503
    assert [c.ok for c in fake_slack.calls()] == [False, False, True]
    assert [m["text"] for m in fake_slack.posted("C1")] == ["three"]  # "two" never reached it


def test_wait_for_sees_calls_made_after_acknowledging(
    fake_slack: FakeSlack, slack_client: WebClient
) -> None:
    later = threading.Thread(
        target=slack_client.chat_postMessage, kwargs={"channel": "C1", "text": "x"}
    )
    later.start()

    calls = fake_slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "C1")
    later.join()
    assert calls[0].args["text"] == "x"
    with pytest.raises(AssertionError, match=r"expected 2 chat\.postMessage"):
        fake_slack.wait_for("chat.postMessage", count=2, timeout=0.05)


def test_reset_forgets_calls_and_faults(fake_slack: FakeSlack, slack_client: WebClient) -> None:
    slack_client.auth_test()
    fake_slack.error_next("auth.test")
    fake_slack.reset()

    assert fake_slack.calls() == []
    assert slack_client.auth_test()["user_id"] == fake_slack.bot_user_id


def test_calls_without_a_token_are_refused(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError, match="not_authed"):
        WebClient(base_url=fake_slack.api_url).chat_postMessage(channel="C1", text="hi")


def test_contract_check_catches_unknown_methods_and_made_up_arguments() -> None:
    with FakeSlack() as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        client.chat_postMessage(channel="C1", text="hi", metadata={"event_type": "x"})
        client.chat_postMessage(channel="C1", text="hi", colour="red")
        with pytest.raises(SlackApiError, match="unknown_method"):
            client.api_call("chat.postMesage", json={"channel": "C1", "text": "hi"})
        with pytest.raises(SlackApiError, match="channel_not_found"):
            client.api_call("chat.postMessage", json={"text": "no channel"})

    with pytest.raises(AssertionError) as refused:
        assert_calls_valid(fake.calls())
    problems = str(refused.value).splitlines()[1:]
    assert problems == [
        "call 2 chat.postMessage: unknown argument 'colour'",
        "call 3 chat.postMesage: no such Web API method",
        "call 4 chat.postMessage: missing required 'channel'",
    ]


def test_contract_check_knows_block_kit_limits() -> None:
    button = {"type": "button", "action_id": "kb_pick", "text": {"type": "plain_text", "text": "x"}}
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}},
        {"type": "section", "text": {"type": "markdown", "text": "wrong type"}},
        {"type": "actions", "elements": [button, button]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
        {
            "type": "actions",
            "elements": [{**button, "text": {"type": "plain_text", "text": "b" * 76}}],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "ok"}, "block_id": "x" * 256},
    ] + [SECTION] * 44
    args = {"channel": "C1", "text": "t" * 40001, "blocks": blocks, "link_names": True}

    problems = "\n".join(call_problems("chat.postMessage", args))

    for expected in [
        "link_names is forbidden",
        "text is 40001 characters",
        "51 blocks, over 50",
        "blocks[0].text: 151 characters, over 150",
        "blocks[1].text: 3001 characters, over 3000",
        "blocks[2].text: not a text object",
        "blocks[3]: action_ids repeat",
        "blocks[4]: 11 elements, over 10",
        "blocks[5].elements[0].text: 76 characters, over 75",
        "blocks[6].block_id is over 255",
    ]:
        assert expected in problems
    assert call_problems("chat.postMessage", {"channel": "C1", "parse": "full", "text": "x"})
    home = {"type": "home", "blocks": [SECTION] * 100}
    assert call_problems("views.publish", {"user_id": "U1", "view": home}) == []
    assert call_problems(
        "views.publish", {"user_id": "U1", "view": {**home, "blocks": [SECTION] * 101}}
    )
