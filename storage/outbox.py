"""Outbox: notifications written in the same transaction as the change they announce, delivered later.

A delivery worker claims due messages with a lease (`locked_until`), so several replicas never send the same
message at once; PostgreSQL additionally skips rows another worker holds (`FOR UPDATE SKIP LOCKED`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, String, Text, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    locked_until: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


async def enqueue(
    session: AsyncSession,
    recipient_id: int,
    payload: dict[str, Any],
    *,
    due_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> OutboxMessage:
    """Queue a notification; with an idempotency key, queuing the same one twice returns the first."""
    if idempotency_key is not None:
        existing = await session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key))
        if existing is not None:
            return existing
    message = OutboxMessage(recipient_id=recipient_id, payload=payload, due_at=due_at or utcnow(), idempotency_key=idempotency_key)
    try:
        async with session.begin_nested():
            session.add(message)
    except IntegrityError:
        found = await session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key))
        if found is None:
            raise
        return found
    return message


async def claim_due(session: AsyncSession, *, now: datetime | None = None, limit: int = 50) -> list[OutboxMessage]:
    """Take up to `limit` due, undelivered messages for delivery; commit before sending."""
    at = now or utcnow()
    rows = await session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.delivered_at.is_(None),
            OutboxMessage.due_at <= at,
            OutboxMessage.attempts < MAX_ATTEMPTS,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= at),
        )
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(rows)
    for message in claimed:
        message.locked_until = at + LEASE
    await session.flush()
    return claimed


async def mark_delivered(session: AsyncSession, message_id: int, *, now: datetime | None = None) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id)
        .values(delivered_at=now or utcnow(), locked_until=None).execution_options(synchronize_session=False)
    )


_SECRETS = re.compile(
    r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}"  # a Telegram bot token, e.g. inside an API URL
    r"|\bx(?:ox[a-z]|app)-[A-Za-z0-9-]{10,}"  # Slack bot, user and app tokens
    r"|(?i:\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"  # an Authorization header value
)


def redact_secrets(text: str) -> str:
    """The text with chat platform tokens replaced: HTTP client errors quote request URLs, which carry them."""
    return _SECRETS.sub("[redacted]", text)


async def mark_failed(session: AsyncSession, message_id: int, error: str, *, now: datetime | None = None) -> None:
    """Record a failed attempt (tokens in the error text redacted) and retry later with exponential back-off."""
    at = now or utcnow()
    message = await session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        return
    message.attempts += 1
    message.last_error = redact_secrets(error)[:1000]
    message.locked_until = None
    message.due_at = at + timedelta(seconds=30 * 2 ** min(message.attempts, 10))
    await session.flush()


async def pending_for(session: AsyncSession, recipient_id: int) -> list[OutboxMessage]:
    rows = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient_id == recipient_id, OutboxMessage.delivered_at.is_(None)).order_by(OutboxMessage.id)
    )
    return list(rows)
