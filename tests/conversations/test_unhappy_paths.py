"""The core's unhappy paths: nonsense, huge or hostile input, strangers, stray yes/no, repeated failures, retries.

Each test checks the replies and that nothing but the conversation state changed in the database.
"""

from __future__ import annotations

from sqlalchemy import func, select, text

from actions.i18n import Translator
from bot.messages import Incoming
from storage.audit import AuditEntry
from storage.conversations import ConversationState, SeenEvent
from storage.database import Database
from storage.models import Base
from storage.people import Employee
from storage.schedules import Schedule
from tests.conversations.conftest import NOW, Chat
from tests.factories import Company

EN, RU, VI = (Translator(language) for language in ("en", "ru", "vi"))
CONVERSATION_TABLES = {"conversation_states", "seen_events"}


async def business_rows(database: Database) -> dict[str, int]:
    """Row counts of every table except the conversation's own bookkeeping."""
    counts = {}
    async with database.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name not in CONVERSATION_TABLES:
                counts[table.name] = int(await session.scalar(select(func.count()).select_from(table)) or 0)
    return counts


async def conversation_of(database: Database, email: str) -> ConversationState | None:
    async with database.sessions() as session:
        return await session.scalar(select(ConversationState).where(ConversationState.user_id == email))


async def test_gibberish_is_not_understood_and_changes_nothing(chat: Chat, company: Company, database: Database) -> None:
    before = await business_rows(database)
    said = await chat.say(company.alice, "qwzx plomk vrrtt")
    assert said.text == EN("core.not_understood")
    assert await business_rows(database) == before
    state = await conversation_of(database, company.alice.email)
    assert state is not None and state.data["fails"] == 1 and state.version == 1


async def test_emoji_only_is_answered_in_the_employee_s_language(chat: Chat, company: Company, database: Database) -> None:
    before = await business_rows(database)
    assert (await chat.say(company.alice, "🙃🙃")).text == EN("core.not_understood")
    assert (await chat.say(company.bob, "🙃🙃")).text == RU("core.not_understood")  # Bob prefers Russian
    assert await business_rows(database) == before


async def test_a_ten_thousand_character_message_is_handled_and_not_stored(chat: Chat, company: Company, database: Database) -> None:
    before = await business_rows(database)
    huge = ("lorem ipsum dolor sit amet " * 400)[:10_000]
    said = await chat.say(company.alice, huge)
    assert len(said.replies) == 1 and said.text == EN("core.not_understood")
    assert await business_rows(database) == before
    state = await conversation_of(database, company.alice.email)
    assert state is not None and "lorem" not in str(state.data)

    longer = await chat.say(company.alice, "x" * 50_000)  # over the limit: cut, not refused
    assert len(longer.replies) == 1


async def test_sql_looking_text_is_just_text(chat: Chat, company: Company, database: Database) -> None:
    before = await business_rows(database)
    said = await chat.say(company.alice, "'; DROP TABLE employees; --")
    assert said.text == EN("core.not_understood")
    assert await business_rows(database) == before
    async with database.sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM employees")) == before["employees"]


async def test_an_unlinked_user_is_told_in_the_language_of_the_message(chat: Chat, company: Company, database: Database) -> None:
    before = await business_rows(database)

    def stranger(message: str, event_id: str | None = None) -> Incoming:
        return Incoming(platform="console", chat_id="dm:ghost", user_id="ghost@nowhere.example", private=True, text=message, at=NOW, event_id=event_id)

    [reply] = (await chat.dialogue.handle(stranger("Здравствуйте, хочу оформить отпуск"))).replies
    assert reply.text == RU("core.not_linked")
    [reply] = (await chat.dialogue.handle(stranger("hello, I need my payslip"))).replies
    assert reply.text == EN("core.not_linked")
    [reply] = (await chat.dialogue.handle(stranger("tôi muốn xin nghỉ phép", event_id="ghost-1"))).replies
    assert reply.text == VI("core.not_linked")
    assert (await chat.dialogue.handle(stranger("tôi muốn xin nghỉ phép", event_id="ghost-1"))).replies == ()  # a retry

    assert await business_rows(database) == before
    assert await conversation_of(database, "ghost@nowhere.example") is None


async def test_yes_no_or_cancel_with_nothing_pending(chat: Chat, company: Company, database: Database) -> None:
    before = await business_rows(database)
    assert (await chat.say(company.alice, "yes")).text == EN("core.nothing_to_confirm")
    assert (await chat.say(company.alice, "no")).text == EN("core.nothing_to_confirm")
    assert (await chat.say(company.alice, "cancel")).text == EN("core.nothing_to_cancel")
    assert (await chat.say(company.bob, "да")).text == RU("core.nothing_to_confirm")
    assert (await chat.say(company.bob, "отмена")).text == RU("core.nothing_to_cancel")
    assert await business_rows(database) == before
    state = await conversation_of(database, company.alice.email)
    assert state is not None and state.data.get("forms") == []


async def test_two_failures_in_a_row_offer_hr_with_buttons(chat: Chat, company: Company, database: Database) -> None:
    before = await business_rows(database)
    assert (await chat.say(company.alice, "qwzx plomk vrrtt")).text == EN("core.not_understood")
    said = await chat.say(company.alice, "blorp fnarg zzyzx")
    assert said.text == EN("core.offer_human")
    assert [button.label for button in said.buttons] == [EN("core.button_human"), EN("core.button_help")]
    assert [button.payload for button in said.buttons] == ["intent:hr_escalate", "intent:help"]
    assert await business_rows(database) == before

    said = await chat.press(company.alice, EN("core.button_help"))
    assert said.text.startswith(EN("smalltalk.help_intro", name="Alice"))
    state = await conversation_of(database, company.alice.email)
    assert state is not None and state.data["fails"] == 0  # understood again: the count starts over

    assert (await chat.say(company.alice, "blorp fnarg zzyzx")).text == EN("core.not_understood")


async def test_the_offer_of_hr_in_russian_and_pressing_it(chat: Chat, company: Company, database: Database) -> None:
    await chat.say(company.bob, "🙃")
    said = await chat.say(company.bob, "🙃🙃🙃")
    assert said.text == RU("core.offer_human")
    said = await chat.press(company.bob, RU("core.button_human"))
    assert said.text and said.text != RU("core.button_expired")  # the HR form takes over
    state = await conversation_of(database, company.bob.email)
    assert state is not None and [frame["name"] for frame in state.data["forms"]] == ["hr_escalate"]


async def test_a_retried_delivery_gets_the_same_answer_and_is_done_once(chat: Chat, company: Company, database: Database) -> None:
    first = await chat.say(company.alice, "remind me at 5pm to submit the report", event_id="evt-1")
    assert first.text.startswith("Shall I remind you")
    again = await chat.say(company.alice, "remind me at 5pm to submit the report", event_id="evt-1")
    assert again.replies == first.replies  # re-sent as recorded (the first post may have been lost)

    state = await conversation_of(database, company.alice.email)
    assert state is not None and state.version == 1

    # The person pressed Yes once; the platform delivered the press twice.
    yes = first.button(EN("button.yes")).payload
    done = await chat.press_payload(company.alice, yes, event_id="evt-2")
    assert done.text.startswith("Done")
    assert (await chat.press_payload(company.alice, yes, event_id="evt-2")).replies == done.replies

    async with database.sessions() as session:
        reminders = list(await session.scalars(select(Schedule).where(Schedule.owner_id == company.alice.id)))
        seen = list(await session.scalars(select(SeenEvent.event_id).order_by(SeenEvent.event_id)))
    assert len(reminders) == 1
    assert seen == ["evt-1", "evt-2"]
    state = await conversation_of(database, company.alice.email)
    assert state is not None and state.version == 2 and state.data["forms"] == []


async def test_someone_who_has_left_is_no_longer_served(chat: Chat, company: Company, database: Database) -> None:
    await chat.say(company.bob, "hi")
    async with database.transaction() as session:
        bob = await session.get(Employee, company.bob.id)
        assert bob is not None
        bob.active = False
    said = await chat.say(company.bob, "show my payslip")
    assert [reply.text for reply in said.replies] == [EN("core.not_linked")]
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0  # nothing was read for him
