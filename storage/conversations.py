"""Conversation state per (platform, chat, user), versioned for optimistic concurrency, and seen inbound ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint, and_, bindparam, select, update
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
    """Inbound event ids already handled (Slack event ids, Telegram update ids): retries are dropped."""

    __tablename__ = "seen_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


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
class Opening:
    """What a turn starts from: who speaks (with their roles) and where the conversation is."""

    employee: Employee
    snapshot: Snapshot


# Built once: these run on every message, and building a statement costs about as much CPU as compiling it.
_OPEN_TURN = (
    select(Employee, ConversationState.data, ConversationState.version)
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
    .where(
        ChatIdentity.platform == bindparam("identity_platform"),
        ChatIdentity.external_id == bindparam("user_id"),
        Employee.active,
    )
    .options(joinedload(Employee.role_rows))
)
_STATES = ConversationState.__table__
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


async def open_turn(session: AsyncSession, key: ConversationKey) -> Opening | None:
    """The active employee linked to the chat user, with their roles, and their conversation, in one statement;
    None when the chat user is linked to nobody active."""
    # One statement: this runs on every message, and each statement costs more CPU than the rows it returns.
    found = (
        await session.execute(
            _OPEN_TURN,
            {
                "platform": key.platform,
                "chat_id": key.chat_id,
                "user_id": key.user_id,
                "identity_platform": Platform(key.platform),
            },
        )
    ).unique().first()
    if found is None:
        return None
    employee, data, version = found
    snapshot = Snapshot(key) if version is None else Snapshot(key, dict(data), version)
    return Opening(employee, snapshot)


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


_FIRST_SIGHTINGS: dict[str, Any] = {}
"""The seen-event INSERT per dialect, built on first use."""


async def first_sighting(session: AsyncSession, platform: str, event_id: str, *, now: datetime | None = None) -> bool:
    """True the first time an inbound id is seen, False for every retry of it."""
    # One INSERT .. ON CONFLICT DO NOTHING (SQLite and PostgreSQL alike) instead of a savepoint around an ORM
    # insert: this runs on every message, and the savepoint and unit-of-work flush cost more than the insert.
    dialect = session.get_bind().dialect.name
    statement = _FIRST_SIGHTINGS.get(dialect)
    if statement is None:
        statement = _FIRST_SIGHTINGS[dialect] = (
            dialect_insert(session, SeenEvent.__table__)  # Core: the ORM would take bound values as a bulk insert
            .values(platform=bindparam("event_platform"), event_id=bindparam("event_key"), seen_at=bindparam("at"))
            .on_conflict_do_nothing(index_elements=[SeenEvent.platform, SeenEvent.event_id])
        )
    result = await session.execute(statement, {"event_platform": platform, "event_key": event_id, "at": now or utcnow()})
    return result.rowcount == 1  # type: ignore[attr-defined]
