"""Payslips: per employee per period, with itemised lines; only the owner or HR may read one."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage import audit
from storage.base import Base, str_enum, utcnow
from storage.errors import InvalidRequest, NotFound, PermissionDenied
from storage.people import Employee, Role

MONEY = Numeric(16, 2)
PERIOD = re.compile(r"[12][0-9]{3}-(?:0[1-9]|1[0-2])\Z")
"""YYYY-MM in ASCII digits (`\\d` would take '２０２６'), a year a date can hold, nothing after it (not even '\\n')."""


class LineKind(enum.StrEnum):
    EARNING = "earning"
    DEDUCTION = "deduction"
    TAX = "tax"


class Payslip(Base):
    __tablename__ = "payslips"
    __table_args__ = (UniqueConstraint("employee_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(7), doc="YYYY-MM")
    currency: Mapped[str] = mapped_column(String(3))
    gross: Mapped[Decimal] = mapped_column(MONEY)
    net: Mapped[Decimal] = mapped_column(MONEY)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    lines: Mapped[list[PayslipLine]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="PayslipLine.position"
    )


class PayslipLine(Base):
    __tablename__ = "payslip_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    payslip_id: Mapped[int] = mapped_column(ForeignKey("payslips.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[LineKind] = mapped_column(str_enum(LineKind))
    label: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(MONEY)


@dataclass(frozen=True)
class LineInput:
    kind: LineKind
    label: str
    amount: Decimal


def validate_period(period: str) -> str:
    if not PERIOD.match(period):
        raise InvalidRequest(f"{period!r} is not a month in the form YYYY-MM.", code="bad_period", period=period)
    return period


def totals(lines: Iterable[LineInput | PayslipLine]) -> tuple[Decimal, Decimal]:
    """Gross is the sum of earnings; net is gross less deductions and taxes."""
    gross = Decimal(0)
    withheld = Decimal(0)
    for line in lines:
        # LineKind(...) so a kind given as its plain string value ("earning") is not taken for a deduction.
        if LineKind(line.kind) is LineKind.EARNING:
            gross += line.amount
        else:
            withheld += line.amount
    return gross, gross - withheld


async def publish_payslip(
    session: AsyncSession,
    employee: Employee,
    *,
    period: str,
    currency: str,
    lines: list[LineInput],
    published_at: datetime | None = None,
    actor_id: int | None = None,
) -> Payslip:
    """Create (or replace) an employee's payslip for a period from its lines."""
    validate_period(period)
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidRequest(f"{currency!r} is not a currency code like EUR.", code="bad_currency", currency=currency)
    if not lines:
        raise InvalidRequest("A payslip needs at least one line.", code="empty_payslip")
    for line in lines:
        if line.kind not in set(LineKind):
            raise InvalidRequest(f"{line.kind!r} is not a kind of payslip line.", code="bad_line_kind", kind=line.kind)
        if line.amount < 0:
            raise InvalidRequest(f"The amount of {line.label!r} is negative.", code="negative_amount", label=line.label)
    gross, net = totals(lines)
    existing = await session.scalar(
        select(Payslip).where(Payslip.employee_id == employee.id, Payslip.period == period)
    )
    if existing is not None:
        await session.delete(existing)
        await session.flush()
    payslip = Payslip(
        employee_id=employee.id,
        period=period,
        currency=currency,
        gross=gross,
        net=net,
        published_at=published_at or utcnow(),
        lines=[
            PayslipLine(position=index, kind=line.kind, label=line.label, amount=line.amount)
            for index, line in enumerate(lines)
        ],
    )
    session.add(payslip)
    await session.flush()
    await audit.record(
        session,
        actor_id=actor_id,
        action="payslip.published",
        entity="payslip",
        entity_id=payslip.id,
        details={"employee_id": employee.id, "period": period},
    )
    return payslip


def _check_may_read(viewer: Employee, owner_id: int) -> None:
    if viewer.id != owner_id and not viewer.has_role(Role.HR):
        raise PermissionDenied("Payslips are visible only to their owner and HR.", code="not_your_payslip")


async def read_payslip(
    session: AsyncSession, viewer: Employee, *, employee_id: int | None = None, period: str | None = None
) -> Payslip:
    """The latest payslip (or the given period's) of `employee_id` (default: the viewer); every read is audited."""
    owner_id = viewer.id if employee_id is None else employee_id
    _check_may_read(viewer, owner_id)
    query = select(Payslip).where(Payslip.employee_id == owner_id)
    if period is not None:
        query = query.where(Payslip.period == validate_period(period))
    payslip = await session.scalar(query.order_by(Payslip.period.desc()).limit(1))
    if payslip is None:
        raise NotFound(
            f"No payslip for {period}." if period else "No payslips yet.", code="payslip_not_found", period=period
        )
    await audit.record(
        session,
        actor_id=viewer.id,
        action="payslip.viewed",
        entity="payslip",
        entity_id=payslip.id,
        details={"employee_id": owner_id, "period": payslip.period},
    )
    return payslip


async def periods_of(session: AsyncSession, viewer: Employee, *, employee_id: int | None = None) -> list[str]:
    owner_id = viewer.id if employee_id is None else employee_id
    _check_may_read(viewer, owner_id)
    rows = await session.scalars(
        select(Payslip.period).where(Payslip.employee_id == owner_id).order_by(Payslip.period.desc())
    )
    return list(rows)
