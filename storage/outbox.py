"""Outbox: notifications written in the same transaction as the change they announce, delivered later.

A message is addressed to an employee; the delivery worker (bot/delivery.py) picks which of their chat identities
it goes to when it sends, and records the one it used. It claims due messages with a lease (`locked_until`, held
by `claimed_by`), so several replicas never send the same message at once; PostgreSQL additionally skips rows
another worker holds (`FOR UPDATE SKIP LOCKED`). A message that can't be delivered is never dropped: after its
last attempt, or with nobody left to deliver it to, it is dead-lettered (status `dead`, with the reason) until
`backoffice outbox retry` re-queues it.

Besides sending, a message can be an edit: replace a live message sent earlier (storage/live.py) with the outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, ForeignKey, String, Table, Text, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage import audit
from storage.base import Base, str_enum, utcnow
from storage.database import dialect_insert
from storage.errors import InvalidRequest, NotFound
from storage.live import LiveMessage
from storage.people import ChatIdentity, Employee
from storage.redaction import redact_secrets as redact_secrets  # re-exported for callers that used it from here

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
MAX_ERROR = 1000


class OutboxKind(enum.StrEnum):
    SEND = "send"
    EDIT = "edit"
    """Replace a live message sent earlier (`live_message_id`) with the payload."""


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    """Given up: attempts exhausted or nobody left to deliver to (`last_error` says why); retried only by hand."""


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
    kind: Mapped[OutboxKind] = mapped_column(str_enum(OutboxKind), default=OutboxKind.SEND)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus), default=OutboxStatus.PENDING, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(40), doc="The worker holding the lease.")
    live_key: Mapped[str | None] = mapped_column(
        String(100), index=True, doc="The record its buttons act on (e.g. 'leave:42'), while they are live."
    )
    live_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_messages.id", ondelete="CASCADE"), doc="An edit: the message it replaces."
    )
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_identities.id", ondelete="SET NULL"), doc="The chat identity it went (or last tried to go) to."
    )
    platform: Mapped[str | None] = mapped_column(String(20))
    chat_id: Mapped[str | None] = mapped_column(String(100))
    reference: Mapped[str | None] = mapped_column(String(200), doc="The channel's reference of the sent message.")


async def enqueue(
    session: AsyncSession,
    recipient_id: int,
    payload: dict[str, Any],
    *,
    due_at: datetime | None = None,
    idempotency_key: str | None = None,
    live_key: str | None = None,
) -> OutboxMessage:
    """Queue a notification; with an idempotency key, queuing the same one twice returns the first (`queue_once`:
    a retry racing the first can't fail or make a second row). A `live_key` marks a message whose buttons act on that
    record: once sent, it is remembered for editing (storage/live.py)."""
    if idempotency_key is None:
        message = OutboxMessage(recipient_id=recipient_id, payload=payload, due_at=due_at or utcnow(), live_key=live_key)
        session.add(message)
        await session.flush()
        return message
    await queue_once(session, recipient_id, payload, due_at=due_at or utcnow(), idempotency_key=idempotency_key, live_key=live_key)
    queued = await session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key))
    assert queued is not None  # inserted now, or by the first; nothing deletes it in between
    return queued


_OUTBOX = cast(Table, OutboxMessage.__table__)
_QUEUE_ONCE: dict[str, Any] = {}
"""`queue_once`'s INSERT per dialect, built on first use."""


async def queue_once(
    session: AsyncSession, recipient_id: int, payload: dict[str, Any], *, due_at: datetime, idempotency_key: str, live_key: str | None = None
) -> bool:
    """Queue a notification unless one with this idempotency key was queued before; True if queued now.

    One INSERT .. ON CONFLICT DO NOTHING (Core, built once per dialect): no lookup first, no savepoint, no ORM unit
    of work — the scheduler queues thousands in a round this way (a third of the CPU a fired reminder cost before,
    tests/benchmarks/scheduler_benchmark.py); `enqueue` too, then reads the row back."""
    dialect = session.get_bind().dialect.name
    statement = _QUEUE_ONCE.get(dialect)
    if statement is None:
        statement = _QUEUE_ONCE[dialect] = (
            dialect_insert(session, _OUTBOX)
            .values(
                recipient_id=bindparam("queue_recipient"), payload=bindparam("queue_payload", type_=_OUTBOX.c.payload.type),
                idempotency_key=bindparam("queue_key"), live_key=bindparam("queue_live_key"), due_at=bindparam("queue_due"),
                created_at=bindparam("queue_created"), attempts=0, last_error="", kind=OutboxKind.SEND, status=OutboxStatus.PENDING,
            )
            .on_conflict_do_nothing(index_elements=[_OUTBOX.c.idempotency_key])
        )
    result = await session.execute(
        statement,
        {"queue_recipient": recipient_id, "queue_payload": payload, "queue_key": idempotency_key, "queue_live_key": live_key,
         "queue_due": due_at, "queue_created": utcnow()},
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def enqueue_edit(session: AsyncSession, message: LiveMessage, payload: dict[str, Any], *, now: datetime | None = None) -> None:
    """Queue replacing a live message sent earlier with `payload` (its reader's view of the outcome)."""
    session.add(
        OutboxMessage(
            recipient_id=message.employee_id,
            payload=payload,
            due_at=now or utcnow(),
            kind=OutboxKind.EDIT,
            live_message_id=message.id,
            platform=message.platform,
            chat_id=message.chat_id,
            reference=message.reference,
        )
    )
    await session.flush()


async def queued_with_live_key(session: AsyncSession, key: str) -> list[tuple[OutboxMessage, str]]:
    """Messages about `key` not delivered yet (some may be in a worker's hands right now), with their reader's
    language; locked, so a worker recording one of them as sent waits for this transaction (PostgreSQL)."""
    rows = await session.execute(
        select(OutboxMessage, Employee.language)
        .join(Employee, Employee.id == OutboxMessage.recipient_id)
        .where(OutboxMessage.live_key == key, OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.id)
        .with_for_update(of=OutboxMessage)
    )
    return [(message, language) for message, language in rows]


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime | None = None,
    limit: int = 50,
    worker: str | None = None,
    lease: timedelta = LEASE,
) -> list[OutboxMessage]:
    """Take up to `limit` due, pending messages for delivery, leased to `worker`; commit before sending."""
    at = now or utcnow()
    rows = await session.scalars(
        select(OutboxMessage)
        .where(*_claimable(at))
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(rows)
    for message in claimed:
        message.locked_until = at + lease
        message.claimed_by = worker
    await session.flush()
    return claimed


async def has_due(session: AsyncSession, *, now: datetime | None = None) -> bool:
    """Whether anything is waiting to be claimed (a cheap read before taking a write transaction)."""
    found = await session.scalar(select(OutboxMessage.id).where(*_claimable(now or utcnow())).limit(1))
    return found is not None


def _claimable(at: datetime) -> tuple[ColumnElement[bool], ...]:
    """Pending, due, and not leased to a worker (or its lease ran out: it died)."""
    return (
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.due_at <= at,
        or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= at),
    )


async def release(session: AsyncSession, worker: str, *, ids: Iterable[int] | None = None) -> int:
    """Give back the leases `worker` still holds (all, or those of `ids`): another worker may take them at once."""
    held = [OutboxMessage.claimed_by == worker, OutboxMessage.status == OutboxStatus.PENDING]
    if ids is not None:
        held.append(OutboxMessage.id.in_(list(ids)))
    result = await session.execute(
        update(OutboxMessage)
        .where(*held)
        .values(locked_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Target:
    """Where a message went: the chat identity (if any), platform, chat and the channel's reference."""

    platform: str
    chat_id: str | None = None
    identity_id: int | None = None
    reference: str | None = None


async def mark_delivered(
    session: AsyncSession, message_id: int, *, now: datetime | None = None, target: Target | None = None
) -> OutboxMessage | None:
    """Record a delivery; returns the message as it is now (None if it is gone or no longer pending)."""
    values: dict[str, Any] = {"delivered_at": now or utcnow(), "locked_until": None, "claimed_by": None, "status": OutboxStatus.DELIVERED}
    if target is not None:
        values.update(platform=target.platform, chat_id=target.chat_id, identity_id=target.identity_id, reference=target.reference)
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return None
    return await session.get(OutboxMessage, message_id, populate_existing=True)


def back_off(attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: 1, 2, 4 … minutes, at most about 8½ hours."""
    return timedelta(seconds=30 * 2 ** min(attempts, 10))


async def mark_failed(
    session: AsyncSession,
    message_id: int,
    error: str,
    *,
    now: datetime | None = None,
    retry_after: float | None = None,
    target: Target | None = None,
) -> OutboxStatus | None:
    """Record a failed attempt (tokens in the error text redacted) and retry later: after `retry_after` seconds when
    the platform said when, else with exponential back-off. The last attempt dead-letters it. Returns its status."""
    at = now or utcnow()
    message = await session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None or message.status is not OutboxStatus.PENDING:
        return None
    message.attempts += 1
    message.last_error = redact_secrets(error)[:MAX_ERROR]
    message.locked_until = None
    message.claimed_by = None
    if target is not None and message.kind is OutboxKind.SEND:
        message.platform, message.chat_id, message.identity_id = target.platform, target.chat_id, target.identity_id
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.DEAD
    else:
        wait = timedelta(seconds=retry_after) if retry_after is not None and retry_after >= 0 else back_off(message.attempts)
        message.due_at = at + wait
    await session.flush()
    return message.status


async def mark_dead(session: AsyncSession, message_id: int, reason: str) -> None:
    """Give up on a message (nobody to deliver it to, or it can't be done): kept with its reason, never dropped."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.DEAD, last_error=redact_secrets(reason)[:MAX_ERROR], locked_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )


async def postpone(session: AsyncSession, message_id: int, until: datetime, reason: str) -> None:
    """Not this worker's to deliver yet (no channel running for the person's platforms): try again later,
    without counting an attempt."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(due_at=until, last_error=redact_secrets(reason)[:MAX_ERROR], locked_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )


async def requeue(session: AsyncSession, message_id: int, *, now: datetime | None = None) -> OutboxMessage:
    """Send a dead-lettered message again (`backoffice outbox retry ID`), with a fresh set of attempts; audited."""
    at = now or utcnow()
    message = await session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        raise NotFound(f"No outbox message {message_id}.", code="outbox_not_found", message_id=message_id)
    if message.status is not OutboxStatus.DEAD:
        raise InvalidRequest(
            f"Outbox message {message_id} is {message.status.value}, not failed: only a failed message can be retried.",
            code="outbox_not_dead",
            message_id=message_id,
        )
    message.status, message.attempts, message.due_at = OutboxStatus.PENDING, 0, at
    message.locked_until = message.claimed_by = None
    # The operator says "try again": the person's chats marked unreachable (bot blocked, say) are tried again too.
    await session.execute(
        update(ChatIdentity)
        .where(ChatIdentity.employee_id == message.recipient_id)
        .values(unreachable_at=None, unreachable_reason="")
        .execution_options(synchronize_session=False)
    )
    await audit.record(
        session, actor_id=None, action="outbox.retry", entity="outbox", entity_id=message.id,
        details={"last_error": message.last_error}, at=at,
    )
    await session.flush()
    return message


async def mark_unreachable(session: AsyncSession, identity_id: int, reason: str, *, now: datetime | None = None) -> None:
    """A delivery to this chat identity failed for good (bot blocked, no private chat): skip it until the person
    writes again."""
    await session.execute(
        update(ChatIdentity)
        .where(ChatIdentity.id == identity_id)
        .values(unreachable_at=now or utcnow(), unreachable_reason=redact_secrets(reason)[:200])
        .execution_options(synchronize_session=False)
    )


async def learn_private_address(session: AsyncSession, identity_id: int, chat_id: str) -> None:
    """Keep the private chat a channel found for this identity, so the next delivery needn't ask again."""
    await session.execute(
        update(ChatIdentity)
        .where(ChatIdentity.id == identity_id, ChatIdentity.private_address.is_(None))
        .values(private_address=chat_id[:100])
        .execution_options(synchronize_session=False)
    )


async def pending_for(session: AsyncSession, recipient_id: int) -> list[OutboxMessage]:
    rows = await session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.recipient_id == recipient_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.kind == OutboxKind.SEND,
        )
        .order_by(OutboxMessage.id)
    )
    return list(rows)


@dataclass(frozen=True)
class Listed:
    """One row of `backoffice outbox`: everything but the message itself."""

    id: int
    status: OutboxStatus
    kind: OutboxKind
    recipient: str
    platform: str | None
    attempts: int
    due_at: datetime
    reason: str
    scheduled: bool  # as `scheduled()` counts it


def _scheduled(now: datetime) -> ColumnElement[bool]:
    """Pending, never tried yet, for a later time: a reminder deferred past someone's quiet hours, say — not a
    message waiting to be tried again after a failure."""
    return and_(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at > now,
        OutboxMessage.attempts == 0, OutboxMessage.last_error == "",
    )


async def listing(
    session: AsyncSession,
    statuses: Iterable[OutboxStatus] = (OutboxStatus.PENDING, OutboxStatus.DEAD),
    *,
    now: datetime | None = None,
    limit: int = 200,
) -> list[Listed]:
    rows = await session.execute(
        select(
            OutboxMessage.id, OutboxMessage.status, OutboxMessage.kind, Employee.email, OutboxMessage.platform,
            OutboxMessage.attempts, OutboxMessage.due_at, OutboxMessage.last_error, _scheduled(now or utcnow()),
        )
        .join(Employee, Employee.id == OutboxMessage.recipient_id)
        .where(OutboxMessage.status.in_(list(statuses)))
        .order_by(OutboxMessage.status, OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )
    return [Listed(*row[:-1], scheduled=bool(row[-1])) for row in rows]  # SQLite answers 0/1, PostgreSQL a bool


async def scheduled(session: AsyncSession, *, now: datetime | None = None) -> int:
    """How many pending messages wait for a later time, never tried yet (see `_scheduled`)."""
    query = select(func.count()).select_from(OutboxMessage).where(_scheduled(now or utcnow()))
    return int(await session.scalar(query) or 0)


async def depth(session: AsyncSession) -> dict[OutboxStatus, int]:
    """How many messages are pending and dead (for metrics and the command line)."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.DEAD]))
        .group_by(OutboxMessage.status)
    )
    counts = {OutboxStatus.PENDING: 0, OutboxStatus.DEAD: 0}
    counts.update({OutboxStatus(status): int(count) for status, count in rows})
    return counts
