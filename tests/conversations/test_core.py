"""The dialogue core across turns: state that outlives the process, simultaneous turns, interrupted forms, language."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select

from actions import default_routes
from actions.i18n import Translator
from bot.dialogue import Dialogue
from bot.messages import Incoming
from nlu import Interpreter
from storage.conversations import ConversationState
from storage.database import Database
from tests.conversations.conftest import NOW, Chat
from tests.factories import Company

EN, RU, EL = (Translator(language) for language in ("en", "ru", "el"))


async def conversation_of(database: Database, email: str) -> ConversationState:
    async with database.sessions() as session:
        state = await session.scalar(select(ConversationState).where(ConversationState.user_id == email))
    assert state is not None
    return state


def fresh_dialogue(database: Database, interpreter: Interpreter) -> Dialogue:
    return Dialogue(database, interpreter, default_routes(), clock=lambda: NOW, timezone="Asia/Tashkent")


async def test_a_form_survives_a_restart(chat: Chat, company: Company, database: Database, interpreter: Interpreter) -> None:
    assert (await chat.say(company.alice, "remind me to call the bank")).text == EN("reminders.ask_time")
    state = await conversation_of(database, company.alice.email)
    assert [frame["name"] for frame in state.data["forms"]] == ["reminder_set"]

    chat.dialogue = fresh_dialogue(database, interpreter)  # a new process: nothing kept in memory
    said = await chat.say(company.alice, "17:30")
    assert said.text == EN("reminders.confirm", when="today at 17:30", what="call the bank")
    assert (await conversation_of(database, company.alice.email)).version == 2


async def test_two_dialogues_serving_one_person_at_once_never_corrupt_the_state(
    chat: Chat, company: Company, database: Database, interpreter: Interpreter
) -> None:
    await chat.say(company.alice, "hello")  # the conversation exists (version 1)
    first, second = fresh_dialogue(database, interpreter), fresh_dialogue(database, interpreter)

    def message(text: str, event_id: str) -> Incoming:
        return Incoming("console", f"dm:{company.alice.email}", company.alice.email, True, text=text, at=NOW, event_id=event_id)

    thanks, help_ = await asyncio.gather(
        first.handle(message("thanks a lot", "concurrent-1")), second.handle(message("help", "concurrent-2"))
    )
    assert [reply.text for reply in thanks.replies] == [EN("smalltalk.thanks", name="Alice")]
    assert help_.replies[0].text.startswith(EN("smalltalk.help_intro", name="Alice"))
    state = await conversation_of(database, company.alice.email)
    assert state.version == 3
    assert state.data["lang"] == "en" and state.data["forms"] == []


async def test_a_form_interrupted_by_a_question_resumes(chat: Chat, company: Company, database: Database) -> None:
    assert (await chat.say(company.alice, "remind me to call the bank")).text == EN("reminders.ask_time")
    said = await chat.say(company.alice, "what reminders do I have?")
    assert [reply.text for reply in said.replies] == [EN("reminders.none"), EN("core.form_resume"), EN("reminders.ask_time")]
    said = await chat.say(company.alice, "17:30")
    assert said.text == EN("reminders.confirm", when="today at 17:30", what="call the bank")


async def test_a_leave_request_interrupted_by_a_balance_question_resumes(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "I need leave")
    assert said.replies[-1].text == EN("leave.ask_type")
    asked_type = said.replies[-1].buttons
    said = await chat.say(company.alice, "how many days do I have?")
    assert said.replies[0].text == EN("leave.balance_intro", year="2026") and said.replies[0].blocks
    assert [reply.text for reply in said.replies[1:]] == [EN("core.form_resume"), EN("leave.ask_type")]
    assert said.replies[-1].buttons == asked_type
    state = await conversation_of(database, company.alice.email)
    assert [frame["name"] for frame in state.data["forms"]] == ["leave_request"]
    assert state.data["forms"][0]["awaiting"] == "leave_type"


async def test_the_reply_follows_the_language_of_the_message(chat: Chat, company: Company, database: Database) -> None:
    # Alice prefers English but writes in Russian; Bob prefers Russian but writes in English.
    assert (await chat.say(company.alice, "спасибо")).text == RU("smalltalk.thanks", name="Alice")
    assert (await chat.say(company.bob, "thank you so much")).text == EN("smalltalk.thanks", name="Bob")
    assert (await chat.say(company.manager, "ευχαριστώ πολύ")).text == EL("smalltalk.thanks", name="Maria")
    assert (await conversation_of(database, company.alice.email)).data["lang"] == "ru"


async def test_without_a_clear_language_the_reply_is_in_the_preferred_one(chat: Chat, company: Company) -> None:
    assert (await chat.say(company.bob, "🙃🙃")).text == RU("core.not_understood")
    assert (await chat.say(company.alice, "🙃🙃")).text == EN("core.not_understood")


async def test_a_choice_button_from_a_closed_form_fills_nothing(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "I need leave")
    annual = said.buttons[0]
    assert annual.payload.startswith("slot:")
    await chat.say(company.alice, "cancel")
    await chat.say(company.alice, "remind me to call the bank")  # another form is now open
    state_before = (await conversation_of(database, company.alice.email)).data
    said = await chat.press_payload(company.alice, annual.payload)
    assert said.text == EN("core.button_expired")
    state_after = (await conversation_of(database, company.alice.email)).data
    assert state_after["forms"] == state_before["forms"]  # the reminder form got no leave type


@pytest.mark.parametrize(
    ("text", "most"),
    [("thanks", 3), ("how many vacation days do I have left?", 8), ("I need sick leave tomorrow", 9)],
)
async def test_a_turn_stays_within_its_statement_budget(chat: Chat, company: Company, database: Database, text: str, most: int) -> None:
    # CPU per message grows with SQL statements (~0.1-0.2 ms each through the ORM): guard the hot path. The counts
    # include SQLite's BEGIN IMMEDIATE; the chat harness sends no event ids, so there is no seen-event insert.
    await chat.say(company.alice, "hi")  # the conversation exists, as for most messages
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        said = await chat.say(company.alice, text)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert said.replies
    assert len(statements) <= most, statements


async def test_a_platform_delivery_adds_one_statement_and_its_retry_runs_two(chat: Chat, company: Company, database: Database) -> None:
    # With an event id the turn records its replies (one insert); the retry check rides on the opening read, so a
    # retry is BEGIN and that read, then the stored replies go out again.
    await chat.say(company.alice, "hi")
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        first = await chat.say(company.alice, "thanks", event_id="budget-1")
        on_first = len(statements)
        again = await chat.say(company.alice, "thanks", event_id="budget-1")
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert again.replies == first.replies and first.replies
    assert on_first <= 4, statements
    assert len(statements) - on_first <= 2, statements[on_first:]
