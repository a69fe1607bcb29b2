"""The Slack channel over the HTTP Events API, end to end: the real slack-bolt app served by `backoffice run`'s
service on 127.0.0.1, events and button presses POSTed to it over HTTP and signed as Slack signs them, and the
replies going to a fake Slack Web API (tests/channels/slack_fake.py) through slack_sdk's real client."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from actions.replies import Button, Reply
from bot.channels.base import Address, PermanentDeliveryError, TransientDeliveryError
from bot.channels.slack import SlackChannel
from bot.channels.slack.web import web_client
from bot.service import ServiceError, configured_service
from bot.settings import load_settings
from storage.database import Database
from storage.inbox import InboxUpdate
from tests.channels.slack_events import (
    ALICE,
    ALICE_DM,
    Running,
    block_actions,
    block_actions_payload,
    dm,
    event,
    signed,
)
from tests.channels.slack_fake import TEAM_ID, FakeSlack
from tests.running import until


async def test_a_direct_message_is_answered_in_the_dm_through_chat_post_message(running: Running) -> None:
    response = await running.post(dm("Ev1", "hi"))
    assert response.status_code == 200
    await until(lambda: bool(running.slack.posted(ALICE_DM)))
    posted = running.slack.posted(ALICE_DM)[0]
    assert posted["blocks"] and posted["text"] and "thread_ts" not in posted
    assert all(call.token == running.slack.token for call in running.slack.calls)
    assert [call.method for call in running.slack.calls].count("auth.test") <= 2  # bolt authorizes once, the channel asks its workspace once
    assert await running.inbox_rows() == 1


async def test_a_retried_event_makes_one_inbox_row_and_one_answer(running: Running) -> None:
    body = dm("EvRetried", "hi")
    assert (await running.post(body)).status_code == 200
    retry = signed(body) | {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await running.post(body, retry)).status_code == 200
    await until(lambda: bool(running.slack.posted(ALICE_DM)))
    await asyncio.sleep(0.5)  # time enough for a second answer, were there one
    assert len(running.slack.calls_to("chat.postMessage")) == 1
    assert await running.inbox_rows() == 1


@pytest.mark.parametrize("trouble", ["bad signature", "stale timestamp", "no signature"])
async def test_an_unsigned_or_stale_request_is_refused_with_401_and_leaves_nothing(running: Running, trouble: str) -> None:
    body = dm("EvForged", "hi")
    headers = {
        "bad signature": signed(body, secret="not-the-secret"),
        "stale timestamp": signed(body, timestamp=int(time.time()) - 6 * 60),
        "no signature": {"Content-Type": "application/json"},
    }[trouble]
    response = await running.post(body, headers)
    assert response.status_code == 401
    await asyncio.sleep(0.3)
    assert await running.inbox_rows() == 0 and running.slack.calls_to("chat.postMessage") == []


async def test_url_verification_is_answered_with_the_challenge(running: Running) -> None:
    body = json.dumps({"token": "unused", "challenge": "c-123", "type": "url_verification"}).encode()
    response = await running.post(body)
    assert response.status_code == 200 and "c-123" in response.text
    assert await running.inbox_rows() == 0


async def test_bot_messages_edits_and_other_channels_are_ignored(running: Running) -> None:
    for body in (
        dm("EvBot", "hi", bot_id="B9", user="UOTHERBOT"),
        dm("EvEdit", "hi", subtype="message_changed"),
        event("EvChannel", {"type": "message", "channel_type": "channel", "channel": "C1", "user": ALICE, "text": "hi", "ts": "1.1"}),
    ):
        assert (await running.post(body)).status_code == 200
    assert await running.inbox_rows() == 0


async def test_a_mention_in_a_channel_is_answered_in_its_thread(running: Running) -> None:
    body = event("EvMention", {"type": "app_mention", "channel": "CGENERAL", "user": ALICE, "text": "<@UBOT> hello",
                               "ts": "1764000000.000100", "team": TEAM_ID})
    assert (await running.post(body)).status_code == 200
    await until(lambda: bool(running.slack.posted("CGENERAL")))
    assert running.slack.posted("CGENERAL")[0]["thread_ts"] == "1764000000.000100"


async def test_a_button_press_reaches_the_core_as_its_payload(running: Running) -> None:
    assert (await running.post(dm("EvLeave", "I need sick leave tomorrow"))).status_code == 200
    await until(lambda: any(block["type"] == "actions" for args in running.slack.posted(ALICE_DM) for block in args["blocks"]))
    (channel, ts), question = next((key, args) for key, args in running.slack.messages.items() if any(b["type"] == "actions" for b in args["blocks"]))
    yes = next(block for block in question["blocks"] if block["type"] == "actions")["elements"][0]

    response = await running.press(block_actions(yes["value"], yes["text"]["text"], message_ts=ts, channel=channel))
    assert response.status_code == 200
    # The answer takes the question's place (chat.update): its Yes/No can't be pressed again.
    await until(lambda: all(block["type"] != "actions" for block in running.slack.messages[(channel, ts)]["blocks"]))
    assert running.slack.messages[(channel, ts)]["text"].startswith("Done: sick leave")  # "… is registered (request #1) …"
    database = Database(running.database_url)
    try:
        async with database.reading() as session:
            # The last press (a refresh of Alice's home page may follow it: the request told her manager).
            pressed = (await session.scalars(select(InboxUpdate).where(InboxUpdate.key.startswith("action:")).order_by(InboxUpdate.id))).all()[-1]
    finally:
        await database.dispose()
    assert pressed.key.startswith(f"action:{channel}:{ts}:") and pressed.incoming["payload"] == yes["value"]
    assert pressed.incoming["private"] is True and pressed.incoming["user_id"] == ALICE


async def test_a_rate_limited_post_is_retried_by_slack_sdk_and_delivered_once(running: Running) -> None:
    running.slack.fail_next("chat.postMessage", status=429, error="ratelimited", headers={"Retry-After": "1"})
    started = time.monotonic()
    assert (await running.post(dm("EvBusy", "hi"))).status_code == 200
    await until(lambda: bool(running.slack.posted(ALICE_DM)))
    assert time.monotonic() - started >= 1.0  # it waited as long as Retry-After said
    assert len(running.slack.calls_to("chat.postMessage")) == 2 and len(running.slack.posted(ALICE_DM)) == 1


# --- the channel on its own, against the fake -----------------------------------------------------------------




async def test_echoed_text_is_escaped_so_channel_pings_never_fire(slack: FakeSlack, channel: SlackChannel) -> None:
    await channel.send(Address("slack", "C1"), Reply("Ticket: <!channel> & <@U1> broke it", buttons=(Button("<!here>", "form:1:yes"),)))
    posted = slack.posted("C1")[0]
    dumped = json.dumps(posted)
    assert "<!channel>" not in dumped and "<!here>" not in dumped and "<@U1>" not in dumped
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in posted["blocks"][0]["text"]["text"]


async def test_send_edit_and_private_address_use_the_web_api(slack: FakeSlack, channel: SlackChannel) -> None:
    reference = await channel.send(Address("slack", "C1", "1.5"), Reply("Approve?", buttons=(Button("Approve", "leave:1:approve"),)))
    assert reference.startswith("C1:") and slack.posted("C1")[0]["thread_ts"] == "1.5"
    await channel.edit(reference, Reply("Approved by Maria"))
    chat_id, ts = reference.split(":", 1)
    updated = slack.messages[(chat_id, ts)]
    assert updated["text"] == "Approved by Maria" and all(block["type"] != "actions" for block in updated["blocks"])
    assert await channel.private_address("U7") == Address("slack", "DU7")


async def test_a_long_reply_is_sent_as_several_messages_and_the_last_is_the_reference(slack: FakeSlack, channel: SlackChannel) -> None:
    reference = await channel.send(Address("slack", "C1"), Reply("\n".join(f"line {n} " + "x" * 2000 for n in range(12))))
    assert len(slack.posted("C1")) > 1
    assert reference == f"C1:{list(slack.messages)[-1][1]}"


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        ("channel_not_found", 200, PermanentDeliveryError),
        ("account_inactive", 200, PermanentDeliveryError),
        ("is_archived", 200, PermanentDeliveryError),
        ("not_in_channel", 200, PermanentDeliveryError),
        ("internal_error", 500, TransientDeliveryError),
        ("ratelimited", 429, TransientDeliveryError),
    ],
)
async def test_slack_errors_become_typed_delivery_errors(slack: FakeSlack, channel: SlackChannel, error: str, status: int, kind: type[Exception]) -> None:
    for _ in range(3):  # more than the rate-limit handler retries
        slack.fail_next("chat.postMessage", status=status, error=error, headers={"Retry-After": "0"} if status == 429 else None)
    with pytest.raises(kind) as raised:
        await channel.send(Address("slack", "C1"), Reply("hi"))
    assert str(raised.value) == f"slack: {error}"
    if status == 429:
        assert isinstance(raised.value, TransientDeliveryError) and raised.value.retry_after == 0


async def test_an_edit_of_a_vanished_message_is_permanent_and_an_unreachable_person_has_no_address(slack: FakeSlack, channel: SlackChannel) -> None:
    with pytest.raises(PermanentDeliveryError, match="message_not_found"):
        await channel.edit("C1:999.000001", Reply("late"))
    slack.fail_next("conversations.open", error="user_not_found")
    assert await channel.private_address("UGONE") is None


async def test_no_server_is_a_transient_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    channel = SlackChannel(web_client("xoxb-x", f"http://127.0.0.1:{port}/api/"))
    try:
        with pytest.raises(TransientDeliveryError):
            async with asyncio.timeout(20):
                await channel.send(Address("slack", "C1"), Reply("hi"))
    finally:
        await channel.close()


def test_a_token_without_a_signing_secret_stops_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ServiceError, match="SLACK_SIGNING_SECRET"):
        configured_service(load_settings(data_dir=tmp_path, slack_bot_token="xoxb-x"))


def slash(text: str, *, channel: str, trigger: str) -> bytes:
    return urllib.parse.urlencode({
        "token": "unused", "team_id": TEAM_ID, "team_domain": "test", "channel_id": channel, "channel_name": "general",
        "user_id": ALICE, "user_name": "alice", "command": "/backoffice", "text": text, "api_app_id": "A1",
        "response_url": "http://127.0.0.1:9/unused", "trigger_id": trigger,
    }).encode()


async def test_a_slash_command_in_a_channel_is_answered_in_the_direct_message(running: Running) -> None:
    response = await running.press(slash("how many vacation days do I have left?", channel="CGENERAL", trigger="1.1.a"))
    assert response.status_code == 200
    assert "<@UBOT>" in response.text  # shown only to the person: where the answer is
    await until(lambda: bool(running.slack.posted(f"D{ALICE}")))
    assert running.texts(f"D{ALICE}")[0] == "Your leave for 2026:"
    assert running.slack.posted("CGENERAL") == []
    # A second command reuses the direct message it opened.
    assert (await running.press(slash("", channel=f"D{ALICE}", trigger="1.1.b"))).text == ""
    await until(lambda: len(running.slack.posted(f"D{ALICE}")) >= 2)
    assert len(running.slack.calls_to("conversations.open")) == 1


async def test_events_and_actions_nobody_listens_to_are_acknowledged_and_dropped(running: Running) -> None:
    reaction = event("EvReaction", {"type": "reaction_added", "user": ALICE, "reaction": "tada", "item": {"type": "message"}})
    assert (await running.post(reaction)).status_code == 200
    other = block_actions_payload("x", "Open", message_ts="1.2")
    other["actions"][0]["action_id"] = "someone-elses-button"
    body = urllib.parse.urlencode({"payload": json.dumps(other)}).encode()
    assert (await running.press(body)).status_code == 200
    assert await running.inbox_rows() == 0


def test_the_app_manifest_asks_for_what_the_adapter_uses() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[2] / "slack" / "manifest.yml").read_text(encoding="utf-8"))
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"message.im", "app_mention", "app_home_opened"}
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]
    assert manifest["features"]["app_home"]["home_tab_enabled"]
    # chat.postMessage/update/postEphemeral, conversations.open, users.info, users.lookupByEmail, the command
    needed = {"chat:write", "im:write", "im:history", "app_mentions:read", "users:read", "users:read.email", "commands"}
    assert needed <= set(manifest["oauth_config"]["scopes"]["bot"])
    assert [command["command"] for command in manifest["features"]["slash_commands"]] == ["/backoffice"]
