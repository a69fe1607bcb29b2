"""Live messages: sent messages whose buttons act on a record, remembered so they can be edited once it is decided.

A message about a record (the manager's Approve/Reject for leave request 42, the Take button sent to every IT
agent for ticket 7) carries a stable key (`leave:42`, `ticket:7`). Once it is sent, the platform's reference is
kept here. When the record is decided by any path, `close` marks every open message with that key and returns
them, so the caller can queue an edit of each one to the outcome (see `actions.context.ActionContext.close_live`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow
from storage.database import dialect_insert
from storage.people import Employee

MAX_KEY = 100


class LiveMessage(Base):
    __tablename__ = "live_messages"
    __table_args__ = (UniqueConstraint("platform", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY), index=True, doc="What the buttons act on, e.g. 'leave:42'.")
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), doc="Who it was sent to.")
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    reference: Mapped[str] = mapped_column(String(200), doc="The channel's reference of the sent message (for edit).")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(doc="When the record was decided and the message queued for an edit.")


async def record(
    session: AsyncSession,
    *,
    key: str,
    employee_id: int,
    platform: str,
    chat_id: str,
    reference: str,
    now: datetime | None = None,
) -> LiveMessage:
    """Remember a sent message with live buttons about `key`. A reference the platform hands out again now names
    this message: the row is taken over (an older message's row must not make a decision edit this one)."""
    values = {
        "key": key[:MAX_KEY],
        "employee_id": employee_id,
        "platform": platform,
        "chat_id": chat_id,
        "reference": reference,
        "created_at": now or utcnow(),
        "closed_at": None,
    }
    insert = dialect_insert(session, LiveMessage).values(**values)
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["platform", "reference"],
            set_={name: insert.excluded[name] for name in ("key", "employee_id", "chat_id", "created_at", "closed_at")},
        )
    )
    found = await session.scalar(
        select(LiveMessage).where(LiveMessage.platform == platform, LiveMessage.reference == reference)
    )
    assert found is not None
    return found


async def tracked(session: AsyncSession, platform: str, reference: str) -> bool:
    """Whether a message was sent with live buttons (open or closed since): deciding its record edits it, so
    nothing else should."""
    found = await session.scalar(
        select(LiveMessage.id).where(LiveMessage.platform == platform, LiveMessage.reference == reference).limit(1)
    )
    return found is not None


async def open_messages(session: AsyncSession, key: str) -> list[LiveMessage]:
    rows = await session.scalars(
        select(LiveMessage).where(LiveMessage.key == key, LiveMessage.closed_at.is_(None)).order_by(LiveMessage.id)
    )
    return list(rows)


async def close(session: AsyncSession, key: str, *, now: datetime | None = None) -> list[tuple[LiveMessage, str]]:
    """Mark every open message about `key` closed; returns them with their reader's language (to write the edit in).

    Locks the rows (PostgreSQL), so two decisions racing on one record edit each message once."""
    rows = await session.execute(
        select(LiveMessage, Employee.language)
        .join(Employee, Employee.id == LiveMessage.employee_id)
        .where(LiveMessage.key == key, LiveMessage.closed_at.is_(None))
        .order_by(LiveMessage.id)
        .with_for_update(of=LiveMessage)
    )
    closed = [(message, language) for message, language in rows]
    at = now or utcnow()
    for message, _ in closed:
        message.closed_at = at
    await session.flush()
    return closed
