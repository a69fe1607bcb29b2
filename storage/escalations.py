"""HR escalations: an employee's matter handed to a person in HR, with messages both ways."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage import audit
from storage.base import Base, Timestamped, str_enum, utcnow
from storage.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from storage.people import Employee, Role


class EscalationStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Direction(enum.StrEnum):
    TO_HR = "to_hr"
    TO_EMPLOYEE = "to_employee"


class Escalation(Timestamped, Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[EscalationStatus] = mapped_column(str_enum(EscalationStatus), index=True)
    assigned_hr_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]

    messages: Mapped[list[EscalationMessage]] = relationship(lazy="selectin", order_by="EscalationMessage.id")


class EscalationMessage(Base):
    __tablename__ = "escalation_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


def _clean(text: str) -> str:
    body = text.strip()
    if not body:
        raise InvalidRequest("The message is empty.", code="empty_message")
    return body[:10_000]


async def open_escalation(
    session: AsyncSession, employee: Employee, *, subject: str, message: str = "", now: datetime | None = None
) -> Escalation:
    at = now or utcnow()
    escalation = Escalation(
        employee_id=employee.id,
        subject=_clean(subject)[:200],
        status=EscalationStatus.OPEN,
        created_at=at,
        updated_at=at,
    )
    session.add(escalation)
    await session.flush()
    if message.strip():
        session.add(EscalationMessage(escalation_id=escalation.id, author_id=employee.id, direction=Direction.TO_HR, text=_clean(message), at=at))
    await audit.record(session, actor_id=employee.id, action="escalation.opened", entity="escalation", entity_id=escalation.id, at=at)
    await session.flush()
    return await get_escalation(session, employee, escalation.id)


async def get_escalation(session: AsyncSession, viewer: Employee, escalation_id: int) -> Escalation:
    escalation = await session.get(Escalation, escalation_id, populate_existing=True)
    if escalation is None:
        raise NotFound(f"There is no HR case #{escalation_id}.", code="escalation_not_found", escalation_id=escalation_id)
    if escalation.employee_id != viewer.id and not viewer.has_role(Role.HR):
        raise PermissionDenied(f"HR case #{escalation_id} isn't yours.", code="not_your_escalation", escalation_id=escalation_id)
    return escalation


async def reply(
    session: AsyncSession, author: Employee, escalation_id: int, text: str, *, now: datetime | None = None
) -> EscalationMessage:
    """The employee writes to HR, or HR to the employee; the first HR reply takes the case."""
    escalation = await get_escalation(session, author, escalation_id)
    if escalation.status is EscalationStatus.CLOSED:
        raise Conflict(f"HR case #{escalation.id} is closed.", code="escalation_closed", escalation_id=escalation.id)
    from_hr = author.id != escalation.employee_id
    at = now or utcnow()
    message = EscalationMessage(
        escalation_id=escalation.id,
        author_id=author.id,
        direction=Direction.TO_EMPLOYEE if from_hr else Direction.TO_HR,
        text=_clean(text),
        at=at,
    )
    session.add(message)
    if from_hr and escalation.assigned_hr_id is None:
        await session.execute(
            update(Escalation).where(Escalation.id == escalation.id, Escalation.assigned_hr_id.is_(None))
            .values(assigned_hr_id=author.id).execution_options(synchronize_session=False)
        )
    await session.execute(
        update(Escalation).where(Escalation.id == escalation.id).values(updated_at=at).execution_options(synchronize_session=False)
    )
    await audit.record(session, actor_id=author.id, action="escalation.replied", entity="escalation", entity_id=escalation.id, details={"direction": message.direction.value}, at=at)
    await session.flush()
    return message


async def close(session: AsyncSession, actor: Employee, escalation_id: int, *, now: datetime | None = None) -> Escalation:
    """HR closes a case (the employee may also close their own)."""
    escalation = await get_escalation(session, actor, escalation_id)
    at = now or utcnow()
    result = await session.execute(
        update(Escalation).where(Escalation.id == escalation.id, Escalation.status == EscalationStatus.OPEN)
        .values(status=EscalationStatus.CLOSED, closed_at=at, updated_at=at).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"HR case #{escalation.id} is already closed.", code="escalation_closed", escalation_id=escalation.id)
    await audit.record(session, actor_id=actor.id, action="escalation.closed", entity="escalation", entity_id=escalation.id, at=at)
    return await get_escalation(session, actor, escalation.id)


async def open_escalations(session: AsyncSession, *, employee: Employee | None = None) -> list[Escalation]:
    query = select(Escalation).where(Escalation.status == EscalationStatus.OPEN)
    if employee is not None:
        query = query.where(Escalation.employee_id == employee.id)
    return list(await session.scalars(query.order_by(Escalation.id)))
