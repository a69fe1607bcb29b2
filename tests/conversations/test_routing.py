"""Where a turn's replies go, and what happens when things go wrong around a turn.

Private answers never reach a group (the private chat gets them, or the group gets only a pointer); a retried
delivery gets the replies recorded the first time and runs nothing; a turn that fails is rolled back and answered
with an apology quoting an error id; messages with live buttons sent in a turn are remembered, so a decision edits
them. Everything runs through the router and the recording channel, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from actions import default_routes
from actions.context import ActionContext
from actions.i18n import Translator
from actions.replies import Reply
from bot.dialogue import Dialogue
from bot.messages import Incoming
from nlu import Interpreter
from storage.conversations import ConversationState, SeenEvent
from storage.database import Database
from storage.leave import LeaveRequest
from storage.live import LiveMessage
from storage.outbox import OutboxMessage
from storage.people import ChatIdentity, Employee
from tests.channels.recording import RecordingChannel
from tests.conversations.conftest import NOW, Chat, private_chat
from tests.factories import Company

EN, RU = Translator("en"), Translator("ru")
GROUP = "group:general"
BALANCE = "how many vacation days do I have left?"


async def identity_of(database: Database, who: Employee) -> ChatIdentity:
    async with database.sessions() as session:
        identity = await session.scalar(
            select(ChatIdentity).where(ChatIdentity.platform == "console", ChatIdentity.external_id == who.email)
        )
    assert identity is not None
    return identity


async def count(database: Database, model: Any) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def version_of(database: Database, who: Employee) -> int:
    async with database.sessions() as session:
        version = await session.scalar(select(ConversationState.version).where(ConversationState.user_id == who.email))
    return int(version or 0)


class CountingParser:
    """The real NLU, counting how often it is asked."""

    def __init__(self, interpreter: Interpreter) -> None:
        self.interpreter = interpreter
        self.calls = 0

    def parse(self, text: str, *, today: date | None = None, language_hint: str | None = None) -> dict[str, Any]:
        self.calls += 1
        return self.interpreter.parse(text, today=today, language_hint=language_hint)


# --- private means private ---------------------------------------------------------------------------------


async def test_a_private_answer_to_a_group_message_goes_to_the_private_chat_and_the_group_gets_a_notice(
    chat: Chat, company: Company
) -> None:
    await chat.say(company.alice, "hi")  # she has written to the assistant privately before
    said = await chat.say(company.alice, BALANCE, group=True)

    [notice] = chat.channel.to(GROUP)
    assert notice.text == EN("core.answering_privately") and not notice.blocks
    balance = chat.channel.to(private_chat(company.alice))[-1]
    assert balance.private and balance.blocks and balance.text == EN("leave.balance_intro", year="2026")
    assert said.replies == [notice, balance]
    assert [sent.address.chat_id for sent in said.sent] == [GROUP, private_chat(company.alice)]


async def test_the_private_chat_is_opened_by_the_channel_when_the_person_never_wrote_there(
    chat: Chat, company: Company, database: Database
) -> None:
    chat.channel.private_chats[company.alice.email] = "im:alice-opened"
    said = await chat.say(company.alice, BALANCE, group=True)

    assert [sent.address.chat_id for sent in said.sent] == [GROUP, "im:alice-opened"]
    assert chat.channel.to(GROUP) == [Reply(EN("core.answering_privately"))]
    assert (await identity_of(database, company.alice)).private_address == "im:alice-opened"  # asked once, kept


async def test_without_a_private_chat_the_group_gets_only_a_pointer_and_the_identity_is_unreachable(
    chat: Chat, company: Company, database: Database
) -> None:
    chat.channel.no_private_chat.add(company.alice.email)
    said = await chat.say(company.alice, BALANCE, group=True)

    assert [message.address.chat_id for message in chat.channel.sent] == [GROUP]  # nothing went anywhere else
    assert said.replies == [Reply(EN("core.open_private_chat"))]
    identity = await identity_of(database, company.alice)
    assert identity.unreachable_at is not None and identity.unreachable_reason == "no private chat with the assistant"

    # She opens a direct chat and writes there: reachable again, and the next private answer gets through.
    chat.channel.no_private_chat.clear()
    await chat.say(company.alice, "hi")
    identity = await identity_of(database, company.alice)
    assert identity.unreachable_at is None and identity.private_address == private_chat(company.alice)
    said = await chat.say(company.alice, BALANCE, group=True)
    assert said.replies[0].text == EN("core.answering_privately") and said.replies[1].private


async def test_a_private_answer_that_gets_through_again_clears_an_earlier_unreachable_mark(
    chat: Chat, company: Company, database: Database
) -> None:
    await chat.say(company.alice, "hi")  # her private chat is known
    chat.channel.blocked.add(private_chat(company.alice))
    await chat.say(company.alice, BALANCE, group=True)  # blocked: marked unreachable
    assert (await identity_of(database, company.alice)).unreachable_at is not None
    chat.channel.blocked.clear()  # she unblocks the bot, and asks in the group again
    said = await chat.say(company.alice, BALANCE, group=True)
    assert said.replies[0].text == EN("core.answering_privately")
    assert (await identity_of(database, company.alice)).unreachable_at is None  # notifications reach her again


async def test_a_link_command_that_fails_unexpectedly_is_answered_with_an_error_id_not_raised(chat: Chat) -> None:
    # A platform the core does not know: the link code step fails, the adapter still gets an answer to send.
    channel = RecordingChannel("matrix")
    receipt = await chat.router().receive(Incoming("matrix", "!room", "@someone", True, text="/link 7KQ4M-2XH9P", at=NOW), channel)
    assert receipt.turn.error_id is not None
    assert [reply.text for reply in receipt.replies] == [EN("core.error", error_id=receipt.turn.error_id)]


async def test_a_blocked_private_chat_gets_the_group_a_pointer_in_the_person_s_language(
    chat: Chat, company: Company, database: Database
) -> None:
    await chat.say(company.bob, "привет")
    chat.channel.blocked.add(private_chat(company.bob))
    sent_before = len(chat.channel.sent)

    said = await chat.say(company.bob, "сколько у меня дней отпуска?", group=True)

    assert said.replies == [Reply(RU("core.open_private_chat"))]
    assert [message.address.chat_id for message in chat.channel.sent[sent_before:]] == [GROUP]
    identity = await identity_of(database, company.bob)
    assert identity.unreachable_at is not None and identity.unreachable_reason == "the bot was blocked"


async def test_nothing_private_is_held_back_in_a_private_chat(chat: Chat, company: Company) -> None:
    said = await chat.say(company.alice, BALANCE)
    assert [sent.address.chat_id for sent in said.sent] == [private_chat(company.alice)]
    assert said.replies[0].private and EN("core.answering_privately") not in said.text


# --- retried deliveries --------------------------------------------------------------------------------------


async def test_a_retried_delivery_gets_the_same_replies_and_runs_nothing(
    chat: Chat, company: Company, database: Database, interpreter: Interpreter
) -> None:
    asked = await chat.say(company.alice, "I need sick leave tomorrow", event_id="u-1")
    yes = asked.button(EN("button.yes")).payload
    done = await chat.press_payload(company.alice, yes, event_id="u-2")
    assert done.text.startswith("Done")
    requests, queued, version = await count(database, LeaveRequest), await count(database, OutboxMessage), await version_of(database, company.alice)

    parser = CountingParser(interpreter)
    chat.dialogue.parser = parser
    again = await chat.press_payload(company.alice, yes, event_id="u-2")  # the platform delivers the press again
    asked_again = await chat.say(company.alice, "I need sick leave tomorrow", event_id="u-1")

    assert again.replies == done.replies and asked_again.replies == asked.replies
    assert chat.channel.to(private_chat(company.alice)).count(done.replies[0]) == 2  # re-sent, as a lost post needs
    assert parser.calls == 0
    assert (await count(database, LeaveRequest), await count(database, OutboxMessage)) == (requests, queued)
    assert await version_of(database, company.alice) == version
    async with database.sessions() as session:
        recorded = await session.scalar(select(SeenEvent.replies).where(SeenEvent.event_id == "u-2"))
    assert recorded is not None and recorded["intent"] == "button"


async def test_a_retried_group_delivery_is_routed_privately_again(chat: Chat, company: Company) -> None:
    first = await chat.say(company.alice, BALANCE, group=True, event_id="g-1")
    again = await chat.say(company.alice, BALANCE, group=True, event_id="g-1")
    assert again.replies == first.replies
    assert [sent.address.chat_id for sent in again.sent] == [GROUP, private_chat(company.alice)]
    assert len(chat.channel.to(GROUP)) == 2 and all(not reply.blocks for reply in chat.channel.to(GROUP))


async def test_an_event_id_that_comes_again_from_someone_else_or_another_chat_never_gets_the_first_replies(
    chat: Chat, company: Company
) -> None:
    # An adapter whose ids are unique only per chat (or a forged id) must not replay one person's answer to another.
    alice = await chat.say(company.alice, BALANCE, event_id="same-id")
    bob = await chat.say(company.bob, "hello", event_id="same-id")
    assert alice.replies[-1].blocks and "Bob" in bob.text  # Bob is greeted, not shown Alice's balance
    assert all(reply not in alice.replies for reply in bob.replies)
    in_group = await chat.say(company.alice, "thanks a lot", group=True, event_id="same-id")
    assert in_group.replies and all(reply not in alice.replies for reply in in_group.replies)
    assert not any(reply.blocks for reply in chat.channel.to(GROUP))  # her balance table never went to the group


async def test_simultaneous_deliveries_of_one_message_run_it_once(
    chat: Chat, company: Company, database: Database, interpreter: Interpreter
) -> None:
    await chat.say(company.alice, "hello")
    first, second = (
        Dialogue(database, interpreter, default_routes(), clock=lambda: NOW, timezone="Asia/Tashkent") for _ in range(2)
    )
    message = Incoming("console", private_chat(company.alice), company.alice.email, True, text="thanks a lot", at=NOW, event_id="twice")

    turns = await asyncio.gather(first.handle(message), second.handle(message))

    assert sorted(turn.replayed for turn in turns) == [False, True]
    assert turns[0].replies == turns[1].replies == (Reply(EN("smalltalk.thanks", name="Alice")),)
    assert await version_of(database, company.alice) == 2


async def test_a_stranger_s_retried_delivery_is_not_answered_twice(chat: Chat, company: Company, database: Database) -> None:
    stranger = Incoming("console", "dm:ghost", "ghost@nowhere.example", True, text="hello, I need my payslip", at=NOW, event_id="s-1")
    first = await chat.router().receive(stranger, chat.channel)
    again = await chat.router().receive(stranger, chat.channel)
    assert first.replies == [Reply(EN("core.not_linked"))]
    assert again.replies == [] and again.turn.replayed
    assert chat.channel.to("dm:ghost") == first.replies
    async with database.sessions() as session:
        assert list(await session.scalars(select(SeenEvent.event_id))) == ["s-1"]


# --- the error boundary ------------------------------------------------------------------------------------


@pytest.fixture
def failing_chat(chat: Chat, database: Database, interpreter: Interpreter, company: Company) -> Chat:
    """A chat whose greeting handler queues a message, then breaks."""
    routes = default_routes()

    async def broken_greeting(ctx: ActionContext) -> None:
        await ctx.notify(ctx.employee, lambda t: Reply("never sent"))
        ctx.say("smalltalk.thanks", name="x")
        raise ValueError(f"cannot greet {ctx.message.text!r}")  # the message quotes what the person wrote

    routes.intents["greet"] = broken_greeting
    chat.dialogue = Dialogue(database, interpreter, routes, clock=lambda: NOW, timezone="Asia/Tashkent")
    return chat


async def test_a_turn_that_fails_is_rolled_back_and_apologised_for_with_an_error_id(
    failing_chat: Chat, company: Company, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await failing_chat.say(company.alice, "thanks")  # the conversation exists
    version = await version_of(database, company.alice)

    with caplog.at_level(logging.ERROR, logger="bot.dialogue"):
        said = await failing_chat.say(company.alice, "hello there my secret friend", event_id="e-1")
        bob_said = await failing_chat.say(company.bob, "привет")

    failures = {getattr(record, "error_id", None): record for record in caplog.records}
    [alice_error] = [record for error_id, record in failures.items() if error_id and error_id in said.text]
    [bob_error] = [record for error_id, record in failures.items() if error_id and error_id in bob_said.text]
    assert said.text == EN("core.error", error_id=getattr(alice_error, "error_id", None))
    assert bob_said.text == RU("core.error", error_id=getattr(bob_error, "error_id", None))
    logged = alice_error.getMessage()
    assert "ValueError" in logged and "broken_greeting" in logged  # the type and where: enough to find it
    assert "secret" not in logged and "hello there" not in logged  # never what the person wrote
    assert await count(database, OutboxMessage) == 0  # the notification queued before the fault was rolled back
    assert await version_of(database, company.alice) == version
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SeenEvent)) == 0  # a retry may try again

    failing_chat.dialogue.routes.intents["greet"] = default_routes().intents["greet"]  # fixed and redeployed
    retried = await failing_chat.say(company.alice, "hello there my secret friend", event_id="e-1")
    assert retried.text.startswith(EN("smalltalk.greet", name="Alice"))


# --- live messages -------------------------------------------------------------------------------------------


async def test_an_approval_listed_in_chat_is_remembered_and_edited_when_decided_by_text(
    chat: Chat, company: Company, database: Database
) -> None:
    await chat.say(company.alice, "I need annual leave from 1 to 2 December")
    await chat.press(company.alice, EN("button.yes"))
    async with database.sessions() as session:
        request_id = await session.scalar(select(LeaveRequest.id).where(LeaveRequest.employee_id == company.alice.id))
    assert request_id is not None

    listed = await chat.say(company.manager, "what do I need to approve?")
    [item] = [sent for sent in listed.sent if sent.reply.live_key == f"leave:{request_id}"]
    assert item.reply.buttons
    async with database.sessions() as session:
        remembered = list(await session.scalars(select(LiveMessage).where(LiveMessage.key == f"leave:{request_id}")))
    assert item.reference in {message.reference for message in remembered}

    await chat.say(company.manager, f"approve {request_id}")
    await chat.inbox(company.manager)
    [edited] = [edit for edit in chat.channel.edits if edit.reference == item.reference]
    assert not edited.reply.buttons and "Alice" in edited.reply.text


async def test_the_recording_channel_is_a_channel() -> None:
    from bot.channels.base import Channel

    assert isinstance(RecordingChannel(), Channel)
