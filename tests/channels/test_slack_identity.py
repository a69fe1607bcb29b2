"""Who is who on Slack, end to end through the running service: a person writing for the first time is linked by
their profile email (users.info), an unknown email or another workspace gets a clear answer and nothing else, a
manager who never wrote is found by their company email (users.lookupByEmail) for their approvals, and a personal
answer asked in a channel leaves only an ephemeral pointer there."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from sqlalchemy import select

from actions.i18n import Translator
from actions.replies import Reply
from bot.channels.base import Address
from bot.channels.slack import SlackChannel
from storage import people
from storage.audit import AuditEntry
from storage.database import Database
from storage.people import ChatIdentity
from tests.channels.slack_events import ALICE, ALICE_DM, Running, block_actions, dm, event
from tests.channels.slack_fake import TEAM_ID, FakeSlack
from tests.running import until

BOB = "UBOBNEW"
BOB_DM = "DBOBNEW"
MARIA = "UMARIA"
EN = Translator("en")


async def identities(running: Running) -> dict[str, ChatIdentity]:
    database = Database(running.database_url)
    try:
        async with database.reading() as session:
            return {row.external_id: row for row in await session.scalars(select(ChatIdentity))}
    finally:
        await database.dispose()


async def audited(running: Running, action: str) -> list[AuditEntry]:
    database = Database(running.database_url)
    try:
        async with database.reading() as session:
            return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
    finally:
        await database.dispose()


async def test_a_first_message_links_the_sender_by_profile_email(running: Running) -> None:
    running.slack.emails[BOB] = "Bob@Example.com"  # case differs from the employee record
    assert (await running.post(dm("EvBob1", "how many vacation days do I have left?", user=BOB, channel=BOB_DM))).status_code == 200
    await until(lambda: bool(running.slack.posted(BOB_DM)))
    assert (await running.post(dm("EvBob2", "hi", user=BOB, channel=BOB_DM))).status_code == 200
    await until(lambda: len(running.slack.posted(BOB_DM)) == 2)

    linked = (await identities(running))[BOB]
    assert linked.team_id == TEAM_ID and linked.private_address == BOB_DM
    assert running.texts(BOB_DM)[0] == "Your leave for 2026:"  # his balance, not "I don't know you"
    assert [entry.details["via"] for entry in await audited(running, "identity.linked")] == ["profile email"]
    assert len(running.slack.calls_to("users.info")) == 1  # linked after the first message: no second lookup


async def test_someone_whose_email_is_unknown_is_told_why_and_gets_nothing_else(running: Running) -> None:
    running.slack.emails["USTRANGER"] = "stranger@elsewhere.example"
    assert (await running.post(dm("EvStranger1", "show my payslip", user="USTRANGER", channel="DSTRANGER"))).status_code == 200
    await until(lambda: bool(running.slack.posted("DSTRANGER")))
    assert (await running.post(dm("EvStranger2", "show my payslip", user="USTRANGER", channel="DSTRANGER"))).status_code == 200
    await until(lambda: len(running.slack.posted("DSTRANGER")) == 2)

    assert running.texts("DSTRANGER") == [EN("core.not_found_by_email")] * 2
    assert "USTRANGER" not in await identities(running)
    assert len(running.slack.calls_to("users.info")) == 1  # the "unknown" answer is remembered for a while


async def test_a_person_from_another_workspace_is_refused_even_with_a_company_email(running: Running) -> None:
    running.slack.emails["UGUEST"] = "bob@example.com"
    body = dm("EvGuest", "show my payslip", user="UGUEST", channel="DGUEST", user_team="TOTHER", team="TOTHER")
    assert (await running.post(body)).status_code == 200
    await until(lambda: bool(running.slack.posted("DGUEST")))

    assert running.texts("DGUEST") == [EN("core.other_workspace")]
    assert "UGUEST" not in await identities(running)
    assert running.slack.calls_to("users.info") == []


async def test_a_manager_who_never_wrote_gets_the_request_in_a_direct_message_found_by_email(running: Running) -> None:
    running.slack.emails[MARIA] = "maria@example.com"
    assert (await running.post(dm("EvLeave", "annual leave from 14 December to 18 December"))).status_code == 200
    await until(lambda: any(block["type"] == "actions" for args in running.slack.posted(ALICE_DM) for block in args["blocks"]))
    (channel, ts), question = next(
        (key, args) for key, args in running.slack.messages.items() if any(b["type"] == "actions" for b in args["blocks"])
    )
    yes = next(block for block in question["blocks"] if block["type"] == "actions")["elements"][0]
    assert (await running.press(block_actions(yes["value"], yes["text"]["text"], message_ts=ts, channel=channel))).status_code == 200

    await until(lambda: bool(running.slack.posted(f"D{MARIA}")))
    asked = running.slack.posted(f"D{MARIA}")[0]
    assert any(block["type"] == "actions" for block in asked["blocks"])  # Approve / Reject
    assert "Alice Able" in asked["text"]
    assert [call.args["email"] for call in running.slack.calls_to("users.lookupByEmail")] == ["maria@example.com"]
    async with asyncio.timeout(20):  # linked when the delivery is recorded, just after the send
        while MARIA not in await identities(running):
            await asyncio.sleep(0.05)
    maria = (await identities(running))[MARIA]
    assert maria.private_address == f"D{MARIA}"
    assert [entry.details["via"] for entry in await audited(running, "identity.linked")] == ["email lookup"]


async def test_a_payslip_asked_in_a_channel_leaves_only_an_ephemeral_pointer_there(running: Running) -> None:
    body = event("EvPayslip", {"type": "app_mention", "channel": "CGENERAL", "user": ALICE, "text": "<@UBOT> show my payslip",
                               "ts": "1764000000.000200", "team": TEAM_ID})
    assert (await running.post(body)).status_code == 200
    await until(lambda: bool(running.slack.ephemeral) and bool(running.slack.posted(f"D{ALICE}") or running.slack.posted(ALICE_DM)))

    assert running.slack.posted("CGENERAL") == []  # nothing everyone in the channel sees
    pointer = running.slack.ephemeral[0]
    assert pointer["channel"] == "CGENERAL" and pointer["user"] == ALICE and pointer["thread_ts"] == "1764000000.000200"
    assert json.dumps(pointer, ensure_ascii=False).count(EN("core.answering_privately")) >= 1


# --- the directory on its own -----------------------------------------------------------------------------------




async def test_profile_emails_are_cached_and_bots_or_deactivated_accounts_have_none(slack: FakeSlack, channel: SlackChannel) -> None:
    slack.emails["U1"] = "alice@example.com"
    assert await channel.email_of("U1") == "alice@example.com"
    assert await channel.email_of("U1") == "alice@example.com"
    assert len(slack.calls_to("users.info")) == 1
    assert await channel.email_of("UNOEMAIL") is None
    slack.fail_next("users.info", error="user_not_found")
    assert await channel.email_of("UGONE") is None
    assert await channel.workspace() == TEAM_ID and await channel.workspace() == TEAM_ID
    assert len(slack.calls_to("auth.test")) == 1


@pytest.mark.parametrize(
    "fields",
    [{"is_bot": True}, {"deleted": True}, {"is_restricted": True}, {"is_ultra_restricted": True},
     {"is_email_confirmed": False}, {"team_id": "TOTHER"}],
    ids=["bot", "deactivated", "guest", "single-channel guest", "unconfirmed email", "another organisation"],
)
async def test_only_full_members_of_the_workspace_are_known_by_their_email(
    slack: FakeSlack, channel: SlackChannel, fields: dict[str, object]
) -> None:
    slack.emails["UX"] = "bob@example.com"
    slack.user_fields["UX"] = fields
    assert await channel.email_of("UX") is None
    assert await channel.user_by_email("bob@example.com") is None
    slack.user_fields["UX"] = {}
    assert await channel.user_by_email("carol@example.com") is None  # control: a member, but not this email
    slack.emails["UY"] = "carol@example.com"
    assert await channel.email_of("UY") == "carol@example.com"


async def test_a_missing_email_scope_is_said_once_in_the_log(slack: FakeSlack, channel: SlackChannel, caplog: pytest.LogCaptureFixture) -> None:
    original = slack._users_info
    slack._users_info = lambda args: {"user": {"id": args["user"], "team_id": TEAM_ID, "profile": {}}}  # type: ignore[method-assign]
    try:
        with caplog.at_level(logging.WARNING):
            assert await channel.email_of("U1") is None
            assert await channel.email_of("U2") is None
    finally:
        slack._users_info = original  # type: ignore[method-assign]
    assert [record.getMessage() for record in caplog.records].count(
        "Slack profiles come without email: give the app the users:read.email scope and reinstall it"
    ) == 1


async def test_lookup_by_email_finds_the_user_and_remembers_who_is_not_there(slack: FakeSlack, channel: SlackChannel) -> None:
    slack.emails["UM"] = "maria@example.com"
    assert await channel.user_by_email("MARIA@example.com") == "UM"
    assert await channel.user_by_email("nobody@example.com") is None
    assert await channel.user_by_email("nobody@example.com") is None
    assert len(slack.calls_to("users.lookupByEmail")) == 2


async def test_an_ephemeral_send_goes_to_chat_post_ephemeral_and_has_no_reference(slack: FakeSlack, channel: SlackChannel) -> None:
    reference = await channel.send(Address("slack", "C1", "1.5", only_for="U1"), Reply("only for you"))
    assert reference == "" and slack.posted("C1") == []
    assert slack.ephemeral[0]["user"] == "U1" and slack.ephemeral[0]["thread_ts"] == "1.5"


async def test_an_email_whose_employee_is_linked_to_another_slack_account_links_nobody(running: Running) -> None:
    running.slack.emails[BOB] = "alice@example.com"  # Alice is linked to UALICE already
    assert (await running.post(dm("EvTwin", "hi", user=BOB, channel=BOB_DM))).status_code == 200
    await until(lambda: bool(running.slack.posted(BOB_DM)))
    assert running.texts(BOB_DM) == [EN("core.not_linked")]  # ask for a link code: nothing is moved by email
    linked = await identities(running)
    assert BOB not in linked and linked[ALICE].employee_id is not None


async def test_a_manager_found_by_email_on_an_account_we_know_as_someone_else_gets_nothing_there(running: Running) -> None:
    running.slack.emails["UOTTO"] = "maria@example.com"  # the directory says so, but our records say UOTTO is Otto
    database = Database(running.database_url)
    try:
        async with database.transaction() as session:
            otto = await people.find_by_email(session, "otto@example.com")
            assert otto is not None
            await people.link_identity(session, otto, "slack", "UOTTO")
    finally:
        await database.dispose()
    assert (await running.post(dm("EvLeave2", "annual leave from 14 December to 18 December"))).status_code == 200
    await until(lambda: any(block["type"] == "actions" for args in running.slack.posted(ALICE_DM) for block in args["blocks"]))
    (channel, ts), question = next(
        (key, args) for key, args in running.slack.messages.items() if any(b["type"] == "actions" for b in args["blocks"])
    )
    yes = next(block for block in question["blocks"] if block["type"] == "actions")["elements"][0]
    assert (await running.press(block_actions(yes["value"], yes["text"]["text"], message_ts=ts, channel=channel))).status_code == 200
    await until(lambda: bool(running.slack.calls_to("users.lookupByEmail")))
    await asyncio.sleep(0.5)
    assert running.slack.posted("DUOTTO") == [] and running.slack.calls_to("conversations.open") == []
    assert "UOTTO" in await identities(running) and MARIA not in await identities(running)
