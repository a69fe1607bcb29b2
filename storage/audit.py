"""Audit log: who did what to which record, and when. Never holds amounts or secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ForeignKey, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


_INSERT = insert(cast(Table, AuditEntry.__table__))
"""Core, built once: an audit row is written on every change and every payslip view, and the ORM's unit of work
would cost more than the row."""


async def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: object,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Write one audit row in the session's transaction (it is rolled back with the change it records)."""
    await session.execute(
        _INSERT,
        {
            "actor_id": actor_id,
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id),
            "details": details or {},
            "at": at or utcnow(),
        },
    )


async def entries_for(session: AsyncSession, entity: str, entity_id: object) -> list[AuditEntry]:
    rows = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.id)
    )
    return list(rows)
