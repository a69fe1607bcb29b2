"""Inbox: inbound updates written down before the platform is acknowledged, processed afterwards.

A channel adapter stores each update (Slack event or interaction, Telegram update) with the platform's delivery
id as its key, then acknowledges; a retried delivery finds the key taken and makes no second row. The inbox worker
(bot/inbox.py) claims pending rows with a lease (`locked_until`, held by `claimed_by`), so a process that died
after the acknowledgement leaves work that a restart or another replica picks up; PostgreSQL additionally skips
rows another worker holds (`FOR UPDATE SKIP LOCKED`). One chat's updates are processed strictly in order: a row
is claimable only while no earlier row of its chat is still pending (held, backed off or waiting). A row that keeps
failing is dead-lettered with its reason after MAX_ATTEMPTS, never dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column

from storage.base import Base, str_enum, utcnow
from storage.database import dialect_insert
from storage.redaction import redact_secrets

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=2)
MAX_ERROR = 1000
MAX_KEY = 200


class InboxStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"
    """Given up: attempts exhausted or unreadable (`last_error` says why)."""


class InboxUpdate(Base):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "key"),
        Index("ix_inbox_chat", "platform", "chat_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(MAX_KEY), doc="The platform's delivery id (Slack event id, Telegram update id).")
    chat_id: Mapped[str] = mapped_column(String(100), doc="Updates of one chat are processed in the order received.")
    incoming: Mapped[dict[str, Any]] = mapped_column(doc="The update as `Incoming.to_dict()`.")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[InboxStatus] = mapped_column(str_enum(InboxStatus), default=InboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(40), doc="The worker holding the lease.")
    locked_until: Mapped[datetime | None]
    processed_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


_INBOX = cast(Table, InboxUpdate.__table__)
_ACCEPTS: dict[str, Any] = {}
"""The accepting INSERT per dialect, built on first use."""


async def accept(session: AsyncSession, *, platform: str, key: str, chat_id: str, incoming: dict[str, Any], now: datetime | None = None) -> bool:
    """Store an inbound update; True if it is new, False for a retried delivery of one already stored."""
    if not key or len(key) > MAX_KEY:
        raise ValueError(f"an inbox key must be 1 to {MAX_KEY} characters")
    at = now or utcnow()
    # One INSERT .. ON CONFLICT DO NOTHING: a retry racing the first delivery can't fail or make a second row.
    # Built once per dialect with bound values: this runs on every acknowledgement, and building the statement
    # anew (and its cache key) costs about as much as running it.
    dialect = session.get_bind().dialect.name
    statement = _ACCEPTS.get(dialect)
    if statement is None:
        statement = _ACCEPTS[dialect] = (
            dialect_insert(session, _INBOX)  # Core, like conversations.first_sighting: one row, not an ORM bulk insert
            .values(
                platform=bindparam("update_platform"), key=bindparam("update_key"), chat_id=bindparam("update_chat"),
                incoming=bindparam("update_incoming", type_=_INBOX.c.incoming.type), received_at=bindparam("at"),
                due_at=bindparam("at"), status=InboxStatus.PENDING, attempts=0, last_error="",
            )
            .on_conflict_do_nothing(index_elements=[_INBOX.c.platform, _INBOX.c.key])
        )
    result = await session.execute(
        statement,
        {"update_platform": platform, "update_key": key, "update_chat": chat_id[:100], "update_incoming": incoming, "at": at},
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _claimable(at: datetime) -> tuple[ColumnElement[bool], ...]:
    """Pending, due, not leased (or its lease ran out: the worker died), and the first still pending in its chat."""
    earlier = aliased(InboxUpdate)
    return (
        InboxUpdate.status == InboxStatus.PENDING,
        InboxUpdate.due_at <= at,
        or_(InboxUpdate.locked_until.is_(None), InboxUpdate.locked_until <= at),
        ~exists().where(
            earlier.platform == InboxUpdate.platform,
            earlier.chat_id == InboxUpdate.chat_id,
            earlier.status == InboxStatus.PENDING,
            earlier.id < InboxUpdate.id,
        ),
    )


async def has_due(session: AsyncSession, *, now: datetime | None = None) -> bool:
    """Whether anything is waiting to be claimed (a cheap read before taking a write transaction)."""
    return await session.scalar(select(InboxUpdate.id).where(*_claimable(now or utcnow())).limit(1)) is not None


async def claim(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 20, worker: str | None = None, lease: timedelta = LEASE
) -> list[InboxUpdate]:
    """Lease up to `limit` updates to `worker`, oldest first, at most one per chat; commit before processing them."""
    at = now or utcnow()
    rows = await session.scalars(
        select(InboxUpdate)
        .where(*_claimable(at))
        .order_by(InboxUpdate.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=InboxUpdate)
    )
    claimed = list(rows)
    for row in claimed:
        row.locked_until = at + lease
        row.claimed_by = worker
    await session.flush()
    return claimed


def _still_held(update_id: int, worker: str | None) -> tuple[ColumnElement[bool], ...]:
    """The row is pending and, when a worker is named, still leased to it (a lease that ran out may be another's now)."""
    held = [InboxUpdate.id == update_id, InboxUpdate.status == InboxStatus.PENDING]
    if worker is not None:
        held.append(InboxUpdate.claimed_by == worker)
    return tuple(held)


async def _set(session: AsyncSession, update_id: int, worker: str | None, **values: Any) -> bool:
    result = await session.execute(
        update(InboxUpdate).where(*_still_held(update_id, worker)).values(**values).execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_done(session: AsyncSession, update_id: int, *, worker: str | None = None, now: datetime | None = None) -> bool:
    """Record an update as processed; False if it was no longer this worker's to record."""
    return await _set(session, update_id, worker, status=InboxStatus.DONE, processed_at=now or utcnow(), locked_until=None, claimed_by=None)


async def mark_done_many(session: AsyncSession, update_ids: Iterable[int], *, worker: str, now: datetime | None = None) -> set[int]:
    """Record several updates as processed in one statement (the inbox worker's results, gathered while the write
    lock was busy); returns the ids recorded: those still leased to `worker` and pending."""
    ids = list(update_ids)
    if not ids:
        return set()
    # The rows still held, locked until the commit, then updated by id (UPDATE .. RETURNING would need SQLite 3.35).
    held = set(
        await session.scalars(
            select(InboxUpdate.id)
            .where(InboxUpdate.id.in_(ids), InboxUpdate.status == InboxStatus.PENDING, InboxUpdate.claimed_by == worker)
            .with_for_update()
        )
    )
    if held:
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.id.in_(held))
            .values(status=InboxStatus.DONE, processed_at=now or utcnow(), locked_until=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        )
    return held


def back_off(attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: 5, 10, 20, 40 s — short, since the chat's later updates wait."""
    return timedelta(seconds=5 * 2 ** min(max(attempts - 1, 0), 10))


async def mark_failed(
    session: AsyncSession, update_id: int, reason: str, *, worker: str | None = None, now: datetime | None = None
) -> InboxStatus | None:
    """Record a failed attempt (the reason's tokens redacted; it must not quote the message) and retry after a
    back-off; the last attempt dead-letters it. Returns its status now (None if it was no longer ours)."""
    at = now or utcnow()
    row = await session.scalar(select(InboxUpdate).where(*_still_held(update_id, worker)).with_for_update())
    if row is None:
        return None
    row.attempts += 1
    row.last_error = redact_secrets(reason)[:MAX_ERROR]
    row.locked_until = row.claimed_by = None
    if row.attempts >= MAX_ATTEMPTS:
        row.status, row.processed_at = InboxStatus.DEAD, at
    else:
        row.due_at = at + back_off(row.attempts)
    await session.flush()
    return row.status


async def mark_dead(session: AsyncSession, update_id: int, reason: str, *, worker: str | None = None, now: datetime | None = None) -> bool:
    """Give up on an update (unreadable, say): kept with its reason, never dropped."""
    return await _set(
        session, update_id, worker,
        status=InboxStatus.DEAD, processed_at=now or utcnow(), last_error=redact_secrets(reason)[:MAX_ERROR], locked_until=None, claimed_by=None,
    )


async def postpone(session: AsyncSession, update_id: int, until: datetime, reason: str, *, worker: str | None = None) -> bool:
    """Not this worker's to process (no channel here for its platform): look again later, no attempt counted."""
    return await _set(session, update_id, worker, due_at=until, last_error=redact_secrets(reason)[:MAX_ERROR], locked_until=None, claimed_by=None)


async def release(session: AsyncSession, worker: str, *, ids: Iterable[int] | None = None) -> int:
    """Give back the leases `worker` still holds (all, or those of `ids`): another worker may take them at once."""
    held = [InboxUpdate.claimed_by == worker, InboxUpdate.status == InboxStatus.PENDING]
    if ids is not None:
        held.append(InboxUpdate.id.in_(list(ids)))
    result = await session.execute(
        update(InboxUpdate).where(*held).values(locked_until=None, claimed_by=None).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def forget_done(session: AsyncSession, *, before: datetime) -> int:
    """Delete updates processed before a moment; returns how many. Until then a retried delivery still finds its
    key; after, the text they hold (maybe private) is gone."""
    result = await session.execute(
        delete(InboxUpdate).where(InboxUpdate.status == InboxStatus.DONE, InboxUpdate.processed_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
