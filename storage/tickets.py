"""IT tickets: creation with an SLA, validated status transitions, comments, assignment."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ForeignKey, String, Text, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from storage import audit
from storage.base import Base, Timestamped, str_enum, utcnow
from storage.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from storage.people import Employee, Role

AnyEnum = TypeVar("AnyEnum", bound=enum.StrEnum)


class Category(enum.StrEnum):
    HARDWARE = "hardware"
    SOFTWARE = "software"
    ACCESS = "access"
    NETWORK = "network"
    OTHER = "other"


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_ON_USER = "waiting_on_user"
    RESOLVED = "resolved"
    CLOSED = "closed"


SLA = {
    Priority.CRITICAL: timedelta(hours=4),
    Priority.HIGH: timedelta(hours=8),
    Priority.NORMAL: timedelta(hours=24),
    Priority.LOW: timedelta(hours=72),
}

TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.WAITING_ON_USER, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.IN_PROGRESS: frozenset({TicketStatus.WAITING_ON_USER, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.WAITING_ON_USER: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}
REQUESTER_TRANSITIONS = frozenset({TicketStatus.CLOSED, TicketStatus.IN_PROGRESS})
"""A requester may close their own ticket, or reopen a resolved one (back to in progress)."""
OPEN_STATUSES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_ON_USER)


class Ticket(Timestamped, Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[Category] = mapped_column(str_enum(Category))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority))
    status: Mapped[TicketStatus] = mapped_column(str_enum(TicketStatus), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"), index=True)
    sla_due_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]

    number = synonym("id")
    comments: Mapped[list[TicketComment]] = relationship(lazy="selectin", order_by="TicketComment.id")
    history: Mapped[list[TicketStatusChange]] = relationship(lazy="selectin", order_by="TicketStatusChange.id")

    def overdue(self, now: datetime) -> bool:
        return self.status in OPEN_STATUSES and now > self.sla_due_at


class TicketComment(Base):
    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketStatusChange(Base):
    __tablename__ = "ticket_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    from_status: Mapped[TicketStatus | None] = mapped_column(str_enum(TicketStatus))
    to_status: Mapped[TicketStatus] = mapped_column(str_enum(TicketStatus))
    at: Mapped[datetime] = mapped_column(default=utcnow)


def _parse(kind: type[AnyEnum], value: AnyEnum | str, what: str) -> AnyEnum:
    """Turn a caller's value into the enum, refusing unknown ones as a request the person can correct."""
    try:
        return kind(value)
    except ValueError:
        choices = [member.value for member in kind]
        raise InvalidRequest(
            f"{value!r} is not a ticket {what}; use one of {', '.join(choices)}.", code=f"bad_{what}", value=value, choices=choices
        ) from None


def _is_agent(employee: Employee) -> bool:
    return employee.has_role(Role.IT_AGENT, Role.ADMIN)


async def create_ticket(
    session: AsyncSession,
    requester: Employee,
    *,
    description: str,
    category: Category | str = Category.OTHER,
    priority: Priority | str = Priority.NORMAL,
    title: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    text = description.strip()
    if not text:
        raise InvalidRequest("Please describe the problem.", code="empty_ticket")
    created_at = now or utcnow()
    priority = _parse(Priority, priority, "priority")
    ticket = Ticket(
        requester_id=requester.id,
        title=(title or text.splitlines()[0])[:200],
        description=text[:10_000],
        category=_parse(Category, category, "category"),
        priority=priority,
        status=TicketStatus.OPEN,
        sla_due_at=created_at + SLA[priority],
        created_at=created_at,
        updated_at=created_at,
    )
    session.add(ticket)
    await session.flush()
    session.add(TicketStatusChange(ticket_id=ticket.id, actor_id=requester.id, from_status=None, to_status=TicketStatus.OPEN, at=created_at))
    await audit.record(
        session,
        actor_id=requester.id,
        action="ticket.created",
        entity="ticket",
        entity_id=ticket.id,
        details={"category": ticket.category.value, "priority": priority.value},
        at=created_at,
    )
    await session.flush()
    return await get_ticket(session, requester, ticket.id)


async def get_ticket(session: AsyncSession, viewer: Employee, ticket_id: int) -> Ticket:
    """A ticket, for its requester or the IT staff only."""
    ticket = await session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:
        raise NotFound(f"There is no ticket #{ticket_id}.", code="ticket_not_found", ticket_id=ticket_id)
    if ticket.requester_id != viewer.id and not _is_agent(viewer):
        raise PermissionDenied(f"Ticket #{ticket_id} isn't yours.", code="not_your_ticket", ticket_id=ticket_id)
    return ticket


async def change_status(
    session: AsyncSession,
    actor: Employee,
    ticket_id: int,
    new_status: TicketStatus | str,
    *,
    comment: str = "",
    now: datetime | None = None,
) -> Ticket:
    ticket = await get_ticket(session, actor, ticket_id)
    new_status = _parse(TicketStatus, new_status, "status")
    current = ticket.status
    if new_status == current:
        raise Conflict(f"Ticket #{ticket.id} is already {current.value}.", code="ticket_same_status", ticket_id=ticket.id, status=current.value)
    if new_status not in TRANSITIONS[current]:
        raise InvalidRequest(
            f"Ticket #{ticket.id} can't go from {current.value} to {new_status.value}.",
            code="ticket_bad_transition",
            ticket_id=ticket.id,
            current=current.value,
            wanted=new_status.value,
        )
    if not _is_agent(actor):
        reopening = current is TicketStatus.RESOLVED and new_status is TicketStatus.IN_PROGRESS
        if new_status not in REQUESTER_TRANSITIONS or (new_status is TicketStatus.IN_PROGRESS and not reopening):
            raise PermissionDenied("Only IT staff can change that.", code="role_required", action="update tickets", roles=["it_agent"])
    changed_at = now or utcnow()
    values: dict[str, object] = {"status": new_status, "updated_at": changed_at}
    if new_status is TicketStatus.RESOLVED:
        values["resolved_at"] = changed_at
    elif new_status is not TicketStatus.CLOSED:
        values["resolved_at"] = None  # reopened: no longer resolved
    if new_status is TicketStatus.IN_PROGRESS and ticket.assignee_id is None and _is_agent(actor):
        values["assignee_id"] = actor.id
    result = await session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.status == current).values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"Ticket #{ticket.id} was changed by someone else; try again.", code="ticket_changed", ticket_id=ticket.id)
    session.add(TicketStatusChange(ticket_id=ticket.id, actor_id=actor.id, from_status=current, to_status=new_status, at=changed_at))
    if comment.strip():
        session.add(TicketComment(ticket_id=ticket.id, author_id=actor.id, text=comment.strip()[:10_000], at=changed_at))
    await audit.record(
        session,
        actor_id=actor.id,
        action="ticket.status_changed",
        entity="ticket",
        entity_id=ticket.id,
        details={"from": current.value, "to": new_status.value},
        at=changed_at,
    )
    await session.flush()
    return await get_ticket(session, actor, ticket.id)


async def add_comment(
    session: AsyncSession, author: Employee, ticket_id: int, text: str, *, now: datetime | None = None
) -> TicketComment:
    ticket = await get_ticket(session, author, ticket_id)
    body = text.strip()
    if not body:
        raise InvalidRequest("The comment is empty.", code="empty_comment")
    if ticket.status is TicketStatus.CLOSED:
        raise Conflict(f"Ticket #{ticket.id} is closed.", code="ticket_closed", ticket_id=ticket.id)
    at = now or utcnow()
    comment = TicketComment(ticket_id=ticket.id, author_id=author.id, text=body[:10_000], at=at)
    session.add(comment)
    await audit.record(session, actor_id=author.id, action="ticket.commented", entity="ticket", entity_id=ticket.id, at=at)
    await session.flush()
    if ticket.status is TicketStatus.WAITING_ON_USER and author.id == ticket.requester_id:
        # The requester answered what IT was waiting for: the ticket is back with IT.
        await session.execute(
            update(Ticket).where(Ticket.id == ticket.id, Ticket.status == TicketStatus.WAITING_ON_USER)
            .values(status=TicketStatus.IN_PROGRESS, updated_at=at).execution_options(synchronize_session=False)
        )
        session.add(TicketStatusChange(ticket_id=ticket.id, actor_id=author.id, from_status=TicketStatus.WAITING_ON_USER, to_status=TicketStatus.IN_PROGRESS, at=at))
        await audit.record(
            session,
            actor_id=author.id,
            action="ticket.status_changed",
            entity="ticket",
            entity_id=ticket.id,
            details={"from": TicketStatus.WAITING_ON_USER.value, "to": TicketStatus.IN_PROGRESS.value},
            at=at,
        )
        await session.flush()
    return comment


async def assign(
    session: AsyncSession, actor: Employee, ticket_id: int, assignee: Employee, *, now: datetime | None = None
) -> Ticket:
    if not _is_agent(actor):
        raise PermissionDenied("Only IT staff can assign tickets.", code="role_required", action="assign tickets", roles=["it_agent"])
    if not _is_agent(assignee):
        raise InvalidRequest(f"{assignee.name} is not in IT.", code="assignee_not_agent", name=assignee.name)
    ticket = await get_ticket(session, actor, ticket_id)
    if ticket.status is TicketStatus.CLOSED:
        raise Conflict(f"Ticket #{ticket.id} is closed.", code="ticket_closed", ticket_id=ticket.id)
    at = now or utcnow()
    ticket.assignee_id = assignee.id
    ticket.updated_at = at
    await audit.record(
        session, actor_id=actor.id, action="ticket.assigned", entity="ticket", entity_id=ticket.id, details={"assignee_id": assignee.id}, at=at
    )
    await session.flush()
    return ticket


async def open_tickets_of(session: AsyncSession, requester: Employee) -> list[Ticket]:
    rows = await session.scalars(
        select(Ticket).where(Ticket.requester_id == requester.id, Ticket.status.in_(OPEN_STATUSES)).order_by(Ticket.id)
    )
    return list(rows)


async def queue_of(session: AsyncSession, agent: Employee) -> list[Ticket]:
    """An IT agent's queue: open tickets assigned to them or to nobody yet, the soonest due first."""
    if not _is_agent(agent):
        raise PermissionDenied("Only IT staff have a ticket queue.", code="role_required", action="see the IT queue", roles=["it_agent"])
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.status.in_(OPEN_STATUSES), or_(Ticket.assignee_id == agent.id, Ticket.assignee_id.is_(None)))
        .order_by(Ticket.sla_due_at, Ticket.id)
    )
    return list(rows)


async def overdue_tickets(session: AsyncSession, now: datetime) -> list[Ticket]:
    rows = await session.scalars(
        select(Ticket).where(Ticket.status.in_(OPEN_STATUSES), Ticket.sla_due_at < now).order_by(Ticket.sla_due_at)
    )
    return list(rows)
