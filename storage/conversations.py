"""Conversation state per (platform, chat, user), versioned for optimistic concurrency, and seen inbound ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, UniqueConstraint, and_, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, joinedload, mapped_column

from storage.base import Base, utcnow
from storage.database import dialect_insert
from storage.errors import StaleState
from storage.people import ChatIdentity, Employee, Platform


class ConversationState(Base):
    __tablename__ = "conversation_states"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SeenEvent(Base):
    """Inbound event ids already handled (Slack event ids, Telegram update ids), with the replies of their turn:
    a retry gets those replies again and runs nothing.

    Keyed by the chat and the sender too: the replies may be private, so an id that came again from another person
    or another chat (an adapter whose ids are unique only per chat, say) is never answered with them."""

    __tablename__ = "seen_events"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "user_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    replies: Mapped[dict[str, Any] | None] = mapped_column(
        doc="What the turn answered (as the dialogue recorded it); None: a retry is dropped, not answered again."
    )


@dataclass(frozen=True)
class ConversationKey:
    platform: str
    chat_id: str
    user_id: str


@dataclass
class Snapshot:
    key: ConversationKey
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0


async def load(session: AsyncSession, key: ConversationKey) -> Snapshot:
    row = await session.execute(
        select(ConversationState.data, ConversationState.version).where(
            ConversationState.platform == key.platform,
            ConversationState.chat_id == key.chat_id,
            ConversationState.user_id == key.user_id,
        )
    )
    found = row.first()
    if found is None:
        return Snapshot(key)
    return Snapshot(key, dict(found.data), found.version)


@dataclass(frozen=True)
class SpeakerIdentity:
    """The chat identity a turn comes from, as far as routing its replies needs it."""

    id: int
    private_address: str | None
    unreachable: bool


@dataclass(frozen=True)
class SeenTurn:
    """The event was handled before: `replies` is what its turn recorded (None: drop the retry)."""

    replies: dict[str, Any] | None


@dataclass(frozen=True)
class Opening:
    """What a turn starts from: who speaks (with their roles), where the conversation is, and whether this
    delivery was handled before."""

    employee: Employee
    snapshot: Snapshot
    identity: SpeakerIdentity
    seen: SeenTurn | None = None


# Built once: these run on every message, and building a statement costs about as much CPU as compiling it.
_OPEN_TURN = (
    select(
        Employee,
        ConversationState.data,
        ConversationState.version,
        ChatIdentity.id,
        ChatIdentity.private_address,
        ChatIdentity.unreachable_at,
        SeenEvent.id,
        SeenEvent.replies,
    )
    .select_from(ChatIdentity)
    .join(Employee, Employee.id == ChatIdentity.employee_id)
    .outerjoin(
        ConversationState,
        and_(
            ConversationState.platform == bindparam("platform"),
            ConversationState.chat_id == bindparam("chat_id"),
            ConversationState.user_id == bindparam("user_id"),
        ),
    )
    # The retry check rides on the same statement; an absent event id (None) matches no row.
    .outerjoin(
        SeenEvent,
        and_(
            SeenEvent.platform == bindparam("platform"),
            SeenEvent.chat_id == bindparam("chat_id"),
            SeenEvent.user_id == bindparam("user_id"),
            SeenEvent.event_id == bindparam("event_id"),
        ),
    )
    .where(
        ChatIdentity.platform == bindparam("identity_platform"),
        ChatIdentity.external_id == bindparam("user_id"),
        Employee.active,
    )
    .options(joinedload(Employee.role_rows))
)
_STATES = cast(Table, ConversationState.__table__)
# Core, not ORM, statements: an ORM-enabled UPDATE goes through the bulk-update machinery on every message.
_SAVE = (
    update(_STATES)
    .where(
        _STATES.c.platform == bindparam("key_platform"),
        _STATES.c.chat_id == bindparam("key_chat_id"),
        _STATES.c.user_id == bindparam("key_user_id"),
        _STATES.c.version == bindparam("saved_version"),
    )
    .values(data=bindparam("new_data", type_=_STATES.c.data.type), version=bindparam("new_version"), updated_at=bindparam("at"))
)


async def open_turn(session: AsyncSession, key: ConversationKey, *, event_id: str | None = None) -> Opening | None:
    """The active employee linked to the chat user, with their roles, their conversation and whether `event_id`
    was handled before, in one statement; None when the chat user is linked to nobody active."""
    # One statement: this runs on every message, and each statement costs more CPU than the rows it returns.
    found = (
        await session.execute(
            _OPEN_TURN,
            {
                "platform": key.platform,
                "chat_id": key.chat_id,
                "user_id": key.user_id,
                "identity_platform": Platform(key.platform),
                "event_id": event_id,
            },
        )
    ).unique().first()
    if found is None:
        return None
    employee, data, version, identity_id, private_address, unreachable_at, seen_id, replies = found
    snapshot = Snapshot(key) if version is None else Snapshot(key, dict(data), version)
    identity = SpeakerIdentity(identity_id, private_address, unreachable_at is not None)
    return Opening(employee, snapshot, identity, None if seen_id is None else SeenTurn(replies))


async def save(session: AsyncSession, snapshot: Snapshot, *, now: datetime | None = None) -> Snapshot:
    """Store new data if nobody saved since `snapshot` was loaded; else raise StaleState."""
    at = now or utcnow()
    key = snapshot.key
    if snapshot.version == 0:
        # A conversation someone else started meanwhile is a conflict, found without a savepoint.
        created = await session.execute(
            dialect_insert(session, _STATES)
            .values(platform=key.platform, chat_id=key.chat_id, user_id=key.user_id, data=snapshot.data, version=1, updated_at=at)
            .on_conflict_do_nothing(index_elements=[_STATES.c.platform, _STATES.c.chat_id, _STATES.c.user_id])
        )
        if created.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleState("The conversation was changed meanwhile.")
        return Snapshot(key, snapshot.data, 1)
    result = await session.execute(
        _SAVE,
        {
            "key_platform": key.platform,
            "key_chat_id": key.chat_id,
            "key_user_id": key.user_id,
            "saved_version": snapshot.version,
            "new_data": snapshot.data,
            "new_version": snapshot.version + 1,
            "at": at,
        },
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleState("The conversation was changed meanwhile.")
    return Snapshot(key, snapshot.data, snapshot.version + 1)


_FIRST_SIGHTINGS: dict[tuple[str, bool], Any] = {}
"""The seen-event INSERT per dialect (with or without replies), built on first use."""
_EVENTS = cast(Table, SeenEvent.__table__)


async def first_sighting(
    session: AsyncSession,
    key: ConversationKey,
    event_id: str,
    *,
    now: datetime | None = None,
    replies: dict[str, Any] | None = None,
) -> bool:
    """Record an inbound id from this sender in this chat (with the replies of its turn, if given): True the first
    time it is seen, False for every retry of it (and then nothing is recorded)."""
    # One INSERT .. ON CONFLICT DO NOTHING (SQLite and PostgreSQL alike) instead of a savepoint around an ORM
    # insert: this runs on every message, and the savepoint and unit-of-work flush cost more than the insert.
    dialect = session.get_bind().dialect.name
    with_replies = replies is not None
    statement = _FIRST_SIGHTINGS.get((dialect, with_replies))
    if statement is None:
        values: dict[str, Any] = {
            "platform": bindparam("event_platform"),
            "chat_id": bindparam("event_chat"),
            "user_id": bindparam("event_user"),
            "event_id": bindparam("event_key"),
            "seen_at": bindparam("at"),
        }
        if with_replies:
            values["replies"] = bindparam("replies", type_=_EVENTS.c.replies.type)
        statement = _FIRST_SIGHTINGS[(dialect, with_replies)] = (
            dialect_insert(session, _EVENTS)  # Core: the ORM would take bound values as a bulk insert
            .values(**values)
            .on_conflict_do_nothing(index_elements=[_EVENTS.c.platform, _EVENTS.c.chat_id, _EVENTS.c.user_id, _EVENTS.c.event_id])
        )
    parameters: dict[str, Any] = {
        "event_platform": key.platform,
        "event_chat": key.chat_id,
        "event_user": key.user_id,
        "event_key": event_id,
        "at": now or utcnow(),
    }
    if with_replies:
        parameters["replies"] = replies
    result = await session.execute(statement, parameters)
    return result.rowcount == 1  # type: ignore[attr-defined]


async def forget_events(session: AsyncSession, *, seen_before: datetime) -> int:
    """Delete the inbound ids (and the replies kept with them) seen before a moment; returns how many. Platforms
    retry within minutes or hours, and the replies may be private (a payslip): keep them no longer than needed."""
    result = await session.execute(delete(_EVENTS).where(_EVENTS.c.seen_at < seen_before))
    return int(result.rowcount)  # type: ignore[attr-defined]


_IDENTITIES = cast(Table, ChatIdentity.__table__)


async def remember_private_chat(session: AsyncSession, identity_id: int, chat_id: str) -> None:
    """Private messages for this chat identity go to `chat_id` (the person wrote to us there, or a message got
    there): they are reachable again. (A failed delivery marks them unreachable: `storage.outbox.mark_unreachable`.)"""
    await session.execute(
        update(_IDENTITIES)
        .where(_IDENTITIES.c.id == identity_id)
        .values(private_address=chat_id, unreachable_at=None, unreachable_reason="")
    )
