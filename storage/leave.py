"""Leave: types, yearly balances, requests and the rules for filing, deciding and cancelling them.

Concurrency: filing locks the employee row (PostgreSQL `FOR UPDATE`; SQLite serializes writers at BEGIN) so
the overlap and balance checks see every earlier request, and balances move only through conditional UPDATEs,
so two requests can never spend the same days. Decisions are a conditional UPDATE on `status = 'pending'`,
so of two simultaneous decisions exactly one wins.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage import audit
from storage.base import Base, Timestamped, str_enum, utcnow
from storage.database import dialect_insert
from storage.errors import Conflict, InsufficientBalance, InvalidRequest, NotFound, PermissionDenied
from storage.holidays import holidays_between, working_days
from storage.people import Employee, Role

PAST_GRACE_DAYS = 3
"""How far back a leave may start: people file sick days once they are back."""
MAX_DAYS_AHEAD = 366
MAX_LEAVE_DAYS = 366
"""The longest one request may be, in calendar days (a year, leap day included): longer absences are several
requests, and counting a request's days must stay cheap (a request to the year 9999 would take seconds)."""
DAYS = Numeric(6, 1)


class LeaveStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (LeaveStatus.PENDING, LeaveStatus.APPROVED)


class LeaveType(Base):
    __tablename__ = "leave_types"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    yearly_allowance: Mapped[Decimal | None] = mapped_column(DAYS, doc="None: no limit (e.g. unpaid leave).")
    needs_approval: Mapped[bool] = mapped_column(default=True)


DEFAULT_LEAVE_TYPES = (
    LeaveType(code="annual", name="Annual leave", yearly_allowance=Decimal(24), needs_approval=True),
    LeaveType(code="sick", name="Sick leave", yearly_allowance=Decimal(14), needs_approval=False),
    LeaveType(code="unpaid", name="Unpaid leave", yearly_allowance=None, needs_approval=True),
    LeaveType(code="parental", name="Parental leave", yearly_allowance=Decimal(90), needs_approval=True),
    LeaveType(code="study", name="Study leave", yearly_allowance=Decimal(10), needs_approval=True),
)


class LeaveBalance(Base):
    __tablename__ = "leave_balances"
    __table_args__ = (
        UniqueConstraint("employee_id", "leave_type", "year"),
        CheckConstraint("taken >= 0 AND pending >= 0", name="non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    leave_type: Mapped[str] = mapped_column(ForeignKey("leave_types.code"))
    year: Mapped[int]
    entitled: Mapped[Decimal] = mapped_column(DAYS, default=Decimal(0))
    carried_over: Mapped[Decimal] = mapped_column(DAYS, default=Decimal(0))
    taken: Mapped[Decimal] = mapped_column(DAYS, default=Decimal(0))
    pending: Mapped[Decimal] = mapped_column(DAYS, default=Decimal(0))

    @property
    def remaining(self) -> Decimal:
        """Days still free to request: pending requests already hold theirs."""
        return self.entitled + self.carried_over - self.taken - self.pending


class LeaveRequest(Timestamped, Base):
    __tablename__ = "leave_requests"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates_in_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    leave_type: Mapped[str] = mapped_column(ForeignKey("leave_types.code"))
    start_date: Mapped[date]
    end_date: Mapped[date]
    half_day_start: Mapped[bool] = mapped_column(default=False)
    half_day_end: Mapped[bool] = mapped_column(default=False)
    days: Mapped[Decimal] = mapped_column(DAYS)
    days_by_year: Mapped[dict[str, Any]] = mapped_column(
        default=dict, doc="Working days counted against each year's balance when filed, e.g. {'2026': '4'}."
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[LeaveStatus] = mapped_column(str_enum(LeaveStatus), index=True)
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_comment: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class LeavePreview:
    """What a request would cost, shown before the person confirms."""

    leave_type: LeaveType
    start: date
    end: date
    days: Decimal
    days_by_year: dict[int, Decimal]
    remaining_after: Decimal | None
    holidays: dict[date, str]


async def leave_types(session: AsyncSession) -> list[LeaveType]:
    return list(await session.scalars(select(LeaveType).order_by(LeaveType.code)))


async def get_leave_type(session: AsyncSession, code: str) -> LeaveType:
    leave_type = await session.get(LeaveType, code)
    if leave_type is None:
        raise NotFound(f"Unknown leave type {code!r}.", code="unknown_leave_type", leave_type=code)
    return leave_type


async def ensure_leave_types(session: AsyncSession) -> None:
    for template in DEFAULT_LEAVE_TYPES:
        if await session.get(LeaveType, template.code) is None:
            session.add(
                LeaveType(
                    code=template.code,
                    name=template.name,
                    yearly_allowance=template.yearly_allowance,
                    needs_approval=template.needs_approval,
                )
            )
    await session.flush()


async def balance(session: AsyncSession, employee: Employee, leave_type: str, year: int) -> LeaveBalance:
    """The employee's balance for a type and year, created from the type's allowance on first use."""
    found = await _find_balance(session, employee.id, leave_type, year)
    if found is not None:
        return found
    kind = await get_leave_type(session, leave_type)
    await _create_balances(session, employee.id, year, [(kind.code, kind.yearly_allowance)])
    created = await _find_balance(session, employee.id, leave_type, year)
    assert created is not None
    return created


async def balances(session: AsyncSession, employee: Employee, year: int) -> list[LeaveBalance]:
    """Balances of every type with an allowance, for showing 'how many days do I have'."""
    rows = (
        await session.execute(
            select(LeaveType.code, LeaveType.yearly_allowance, LeaveBalance)
            .outerjoin(
                LeaveBalance,
                and_(
                    LeaveBalance.leave_type == LeaveType.code,
                    LeaveBalance.employee_id == employee.id,
                    LeaveBalance.year == year,
                ),
            )
            .where(LeaveType.yearly_allowance.is_not(None))
            .order_by(LeaveType.code)
        )
    ).all()
    missing = [(code, allowance) for code, allowance, found in rows if found is None]
    if not missing:
        return [found for _, _, found in rows]
    await _create_balances(session, employee.id, year, missing)
    return list(
        await session.scalars(
            select(LeaveBalance)
            .join(LeaveType, LeaveType.code == LeaveBalance.leave_type)
            .where(LeaveBalance.employee_id == employee.id, LeaveBalance.year == year, LeaveType.yearly_allowance.is_not(None))
            .order_by(LeaveType.code)
        )
    )


async def _find_balance(session: AsyncSession, employee_id: int, leave_type: str, year: int) -> LeaveBalance | None:
    return await session.scalar(
        select(LeaveBalance).where(
            LeaveBalance.employee_id == employee_id, LeaveBalance.leave_type == leave_type, LeaveBalance.year == year
        )
    )


async def _create_balances(
    session: AsyncSession, employee_id: int, year: int, kinds: list[tuple[str, Decimal | None]]
) -> None:
    """Create the missing balances of these (type, allowance) in one statement; rows a concurrent transaction
    created meanwhile are kept as they are."""
    await session.execute(
        dialect_insert(session, LeaveBalance)
        .values(
            [
                {
                    "employee_id": employee_id,
                    "leave_type": code,
                    "year": year,
                    "entitled": allowance or Decimal(0),
                    "carried_over": Decimal(0),
                    "taken": Decimal(0),
                    "pending": Decimal(0),
                }
                for code, allowance in kinds
            ]
        )
        .on_conflict_do_nothing(index_elements=[LeaveBalance.employee_id, LeaveBalance.leave_type, LeaveBalance.year])
    )


def _split_by_year(start: date, end: date) -> list[tuple[int, date, date]]:
    parts = []
    year = start.year
    while year <= end.year:
        parts.append((year, max(start, date(year, 1, 1)), min(end, date(year, 12, 31))))
        year += 1
    return parts


async def preview(
    session: AsyncSession,
    employee: Employee,
    *,
    leave_type: str,
    start: date,
    end: date,
    today: date,
    half_day_start: bool = False,
    half_day_end: bool = False,
) -> LeavePreview:
    """Validate a request (dates, overlap with the person's own leave, balance) and compute its working days and
    the balance left, without filing it."""
    kind = await get_leave_type(session, leave_type)
    if end < start:
        raise InvalidRequest("The leave ends before it starts.", code="end_before_start", start=start, end=end)
    if (end - start).days >= MAX_LEAVE_DAYS:
        raise InvalidRequest(
            f"One request can't be longer than {MAX_LEAVE_DAYS} days.", code="leave_too_long", start=start, end=end, days=MAX_LEAVE_DAYS
        )
    if start < today - timedelta(days=PAST_GRACE_DAYS):
        raise InvalidRequest(
            f"The leave starts on {start.isoformat()}, which is in the past.", code="start_in_past", start=start
        )
    if start > today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidRequest("That is more than a year ahead.", code="too_far_ahead", start=start)
    clash = await _overlapping(session, employee.id, start, end)
    if clash is not None:
        raise Conflict(
            f"You already have {clash.status.value} leave from {clash.start_date} to {clash.end_date}.",
            code="leave_overlap",
            request_id=clash.id,
            start=clash.start_date,
            end=clash.end_date,
            status=clash.status.value,
        )
    free_days = await holidays_between(session, employee.calendar, start, end)
    parts = _split_by_year(start, end)
    days_by_year = {
        year: working_days(
            part_start,
            part_end,
            free_days,
            half_day_start=half_day_start and index == 0,
            half_day_end=half_day_end and index == len(parts) - 1,
        )
        for index, (year, part_start, part_end) in enumerate(parts)
    }
    total = sum(days_by_year.values(), Decimal(0))
    if total <= 0:
        raise InvalidRequest(
            "There are no working days in that period.", code="no_working_days", start=start, end=end
        )
    remaining_after = None
    if kind.yearly_allowance is not None:
        remaining_after = Decimal(0)
        for year, days in days_by_year.items():
            left = (await balance(session, employee, kind.code, year)).remaining
            if days > left:
                raise InsufficientBalance(
                    f"Only {left} days of {kind.name.lower()} are left for {year}; this request needs {days}.",
                    leave_type=kind.code,
                    year=year,
                    remaining=left,
                    requested=days,
                )
            remaining_after = left - days
    return LeavePreview(kind, start, end, total, days_by_year, remaining_after, free_days)


async def _overlapping(session: AsyncSession, employee_id: int, start: date, end: date) -> LeaveRequest | None:
    return await session.scalar(
        select(LeaveRequest)
        .where(
            LeaveRequest.employee_id == employee_id,
            LeaveRequest.status.in_(ACTIVE_STATUSES),
            LeaveRequest.start_date <= end,
            LeaveRequest.end_date >= start,
        )
        .limit(1)
    )


async def _move_days(
    session: AsyncSession,
    employee_id: int,
    leave_type: str,
    year: int,
    *,
    pending: Decimal = Decimal(0),
    taken: Decimal = Decimal(0),
    check_allowance: bool = False,
) -> None:
    """Shift days between a balance's pending and taken columns in one conditional UPDATE."""
    statement = (
        update(LeaveBalance)
        .where(
            LeaveBalance.employee_id == employee_id,
            LeaveBalance.leave_type == leave_type,
            LeaveBalance.year == year,
        )
        .values(pending=LeaveBalance.pending + pending, taken=LeaveBalance.taken + taken)
    )
    if check_allowance:
        needed = pending + taken
        statement = statement.where(
            LeaveBalance.entitled + LeaveBalance.carried_over - LeaveBalance.taken - LeaveBalance.pending >= needed
        )
    result = await session.execute(statement.execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InsufficientBalance(
            f"Not enough {leave_type} leave left for {year}.", leave_type=leave_type, year=year, requested=pending
        )


async def _lock_employee(session: AsyncSession, employee_id: int) -> None:
    await session.execute(select(Employee.id).where(Employee.id == employee_id).with_for_update())


async def request_leave(
    session: AsyncSession,
    employee: Employee,
    *,
    leave_type: str,
    start: date,
    end: date,
    today: date,
    half_day_start: bool = False,
    half_day_end: bool = False,
    reason: str = "",
) -> LeaveRequest:
    """File a request: pending (days reserved) or, for types that need no approval, approved at once."""
    await _lock_employee(session, employee.id)  # so preview's overlap and balance checks see every earlier request
    plan = await preview(
        session,
        employee,
        leave_type=leave_type,
        start=start,
        end=end,
        today=today,
        half_day_start=half_day_start,
        half_day_end=half_day_end,
    )
    approved_now = not plan.leave_type.needs_approval
    for year, days in plan.days_by_year.items():
        await balance(session, employee, leave_type, year)
        await _move_days(
            session,
            employee.id,
            leave_type,
            year,
            pending=Decimal(0) if approved_now else days,
            taken=days if approved_now else Decimal(0),
            check_allowance=plan.leave_type.yearly_allowance is not None,
        )
    request = LeaveRequest(
        employee_id=employee.id,
        leave_type=leave_type,
        start_date=start,
        end_date=end,
        half_day_start=half_day_start,
        half_day_end=half_day_end,
        days=plan.days,
        days_by_year={str(year): str(days) for year, days in plan.days_by_year.items()},
        reason=reason.strip()[:2000],
        status=LeaveStatus.APPROVED if approved_now else LeaveStatus.PENDING,
        decided_at=utcnow() if approved_now else None,
    )
    session.add(request)
    await session.flush()
    await audit.record(
        session,
        actor_id=employee.id,
        action="leave.requested",
        entity="leave_request",
        entity_id=request.id,
        details={"status": request.status.value, "type": leave_type, "start": str(start), "end": str(end), "days": str(plan.days)},
    )
    return request


async def get_request(session: AsyncSession, request_id: int) -> LeaveRequest:
    request = await session.get(LeaveRequest, request_id, populate_existing=True)
    if request is None:
        raise NotFound(f"There is no leave request #{request_id}.", code="leave_not_found", request_id=request_id)
    return request


def _reserved_days(request: LeaveRequest) -> dict[int, Decimal]:
    """The days this request holds in each year's balance, as counted when it was filed (holidays added
    later don't change what it gives back)."""
    return {int(year): Decimal(days) for year, days in request.days_by_year.items()}


async def _change_status(
    session: AsyncSession, request_id: int, expected: LeaveStatus, *, refusal: str, **values: object
) -> None:
    """Move a request on from `expected` in one conditional UPDATE: of two concurrent changes exactly one wins,
    the other is refused with the status it found."""
    result = await session.execute(
        update(LeaveRequest)
        .where(LeaveRequest.id == request_id, LeaveRequest.status == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = await get_request(session, request_id)
        raise Conflict(
            f"Request #{current.id} is already {current.status.value}.",
            code=refusal,
            request_id=current.id,
            status=current.status.value,
        )


def can_decide(decider: Employee, requester: Employee) -> bool:
    """The requester's manager or HR, never the requester. Admin is not enough: it runs the system (imports,
    identities), it doesn't manage people, so an admin decides only as someone's manager or as HR."""
    if decider.id == requester.id:
        return False
    return requester.manager_id == decider.id or decider.has_role(Role.HR)


async def decide(
    session: AsyncSession,
    decider: Employee,
    request_id: int,
    *,
    approve: bool,
    comment: str = "",
    now: datetime | None = None,
) -> LeaveRequest:
    """Approve or reject a pending request; only the requester's manager or HR, and only once."""
    request = await get_request(session, request_id)
    requester = await session.get(Employee, request.employee_id)
    assert requester is not None
    if not can_decide(decider, requester):
        raise PermissionDenied(
            f"Only {requester.name}'s manager or HR can decide on request #{request.id}.",
            code="not_your_approval",
            request_id=request.id,
        )
    new_status = LeaveStatus.APPROVED if approve else LeaveStatus.REJECTED
    decided_at = now or utcnow()
    await _change_status(
        session,
        request.id,
        LeaveStatus.PENDING,
        refusal="leave_already_decided",
        status=new_status,
        approver_id=decider.id,
        decided_at=decided_at,
        decision_comment=comment.strip()[:2000],
        updated_at=decided_at,
    )
    for year, days in _reserved_days(request).items():
        await _move_days(session, requester.id, request.leave_type, year, pending=-days, taken=days if approve else Decimal(0))
    await audit.record(
        session,
        actor_id=decider.id,
        action="leave.approved" if approve else "leave.rejected",
        entity="leave_request",
        entity_id=request.id,
        details={"comment": comment.strip()[:200]} if comment.strip() else {},
        at=decided_at,
    )
    return await get_request(session, request.id)


async def cancel(
    session: AsyncSession, employee: Employee, request_id: int, *, today: date, now: datetime | None = None
) -> LeaveRequest:
    """The requester withdraws a pending request, or approved leave that hasn't started (days come back)."""
    request = await get_request(session, request_id)
    if request.employee_id != employee.id and not employee.has_role(Role.HR):  # admin is not enough (see can_decide)
        raise PermissionDenied(
            f"Request #{request.id} isn't yours to cancel.", code="not_your_request", request_id=request.id
        )
    if request.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"Request #{request.id} is already {request.status.value}.",
            code="leave_not_cancellable",
            request_id=request.id,
            status=request.status.value,
        )
    if request.status is LeaveStatus.APPROVED and request.start_date <= today:
        raise Conflict(
            f"Leave #{request.id} has already started; ask HR to change it.",
            code="leave_already_started",
            request_id=request.id,
        )
    previous = request.status
    changed_at = now or utcnow()
    await _change_status(
        session, request.id, previous, refusal="leave_not_cancellable", status=LeaveStatus.CANCELLED, updated_at=changed_at
    )
    for year, days in _reserved_days(request).items():
        if previous is LeaveStatus.PENDING:
            await _move_days(session, request.employee_id, request.leave_type, year, pending=-days)
        else:
            await _move_days(session, request.employee_id, request.leave_type, year, taken=-days)
    await audit.record(
        session,
        actor_id=employee.id,
        action="leave.cancelled",
        entity="leave_request",
        entity_id=request.id,
        details={"was": previous.value},
        at=changed_at,
    )
    return await get_request(session, request.id)


async def requests_of(
    session: AsyncSession, employee: Employee, *, statuses: tuple[LeaveStatus, ...] | None = None
) -> list[LeaveRequest]:
    query = select(LeaveRequest).where(LeaveRequest.employee_id == employee.id)
    if statuses:
        query = query.where(LeaveRequest.status.in_(statuses))
    return list(await session.scalars(query.order_by(LeaveRequest.start_date.desc())))


async def pending_for(session: AsyncSession, decider: Employee) -> list[LeaveRequest]:
    """Pending requests this person may decide: their reports', or everyone's (but their own) for HR."""
    query = select(LeaveRequest).where(LeaveRequest.status == LeaveStatus.PENDING)
    if decider.has_role(Role.HR):
        query = query.where(LeaveRequest.employee_id != decider.id)
    else:
        query = query.join(Employee, Employee.id == LeaveRequest.employee_id).where(Employee.manager_id == decider.id)
    return list(await session.scalars(query.order_by(LeaveRequest.created_at, LeaveRequest.id)))


async def absences(
    session: AsyncSession, employee_ids: list[int], start: date, end: date, *, statuses: tuple[LeaveStatus, ...]
) -> list[LeaveRequest]:
    """These people's requests in these statuses that overlap start–end (inclusive), earliest first: who is off when."""
    if not employee_ids:
        return []
    query = select(LeaveRequest).where(
        LeaveRequest.employee_id.in_(employee_ids),
        LeaveRequest.status.in_(statuses),
        LeaveRequest.start_date <= end,
        LeaveRequest.end_date >= start,
    )
    return list(await session.scalars(query.order_by(LeaveRequest.start_date, LeaveRequest.id)))
