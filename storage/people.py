"""Employees, their roles and the chat identities that link Slack/Telegram users to them."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from storage.base import Base, Timestamped, str_enum, utcnow
from storage.errors import Conflict, NotFound, PermissionDenied

LANGUAGES = ("en", "ru", "uz", "az", "el", "vi")


class Role(enum.StrEnum):
    EMPLOYEE = "employee"
    MANAGER = "manager"
    HR = "hr"
    IT_AGENT = "it_agent"
    STOCK_KEEPER = "stock_keeper"
    ADMIN = "admin"


class Platform(enum.StrEnum):
    SLACK = "slack"
    TELEGRAM = "telegram"
    CONSOLE = "console"


class Employee(Timestamped, Base):
    __tablename__ = "employees"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(100), default="")
    job_title: Mapped[str] = mapped_column(String(100), default="")
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    calendar: Mapped[str] = mapped_column(String(16), default="", doc="Public-holiday calendar, e.g. a country code.")
    active: Mapped[bool] = mapped_column(default=True)

    role_rows: Mapped[list[EmployeeRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", back_populates="employee"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset({Role.EMPLOYEE, *(row.role for row in self.role_rows)})

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    def set_roles(self, roles: Iterable[Role | str]) -> None:
        wanted = {Role(r) for r in roles} - {Role.EMPLOYEE}
        self.role_rows[:] = [row for row in self.role_rows if row.role in wanted]
        present = {row.role for row in self.role_rows}
        self.role_rows.extend(EmployeeRole(role=role) for role in sorted(wanted - present))

    def __repr__(self) -> str:
        return f"<Employee {self.id} {self.email}>"


class EmployeeRole(Base):
    __tablename__ = "employee_roles"

    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role), primary_key=True)
    employee: Mapped[Employee] = relationship(back_populates="role_rows")


class ChatIdentity(Base):
    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[Platform] = mapped_column(str_enum(Platform))
    external_id: Mapped[str] = mapped_column(String(100))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[str | None] = mapped_column(String(32), doc="Slack: the workspace (team) the user belongs to.")
    private_address: Mapped[str | None] = mapped_column(
        String(100), doc="The person's one-to-one chat with the assistant on this platform, once known."
    )
    unreachable_at: Mapped[datetime | None] = mapped_column(
        doc="When a delivery failed for good (bot blocked, chat gone); cleared when the person writes again."
    )
    unreachable_reason: Mapped[str] = mapped_column(String(200), default="")
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


async def get_employee(session: AsyncSession, employee_id: int) -> Employee:
    employee = await session.get(Employee, employee_id)
    if employee is None:
        raise NotFound(f"No employee with id {employee_id}.", code="employee_not_found", employee_id=employee_id)
    return employee


async def employee_with_roles(session: AsyncSession, employee_id: int) -> Employee | None:
    """The employee with their roles in one statement (the default loads the roles with a second one)."""
    return await session.get(Employee, employee_id, options=[joinedload(Employee.role_rows)])


async def find_by_email(session: AsyncSession, email: str) -> Employee | None:
    return await session.scalar(select(Employee).where(func.lower(Employee.email) == email.strip().lower()))


async def employee_for_identity(session: AsyncSession, platform: Platform | str, external_id: str) -> Employee | None:
    return await session.scalar(
        select(Employee)
        .join(ChatIdentity, ChatIdentity.employee_id == Employee.id)
        .where(ChatIdentity.platform == Platform(platform), ChatIdentity.external_id == external_id, Employee.active)
    )


async def identities_of(session: AsyncSession, employee_id: int) -> list[ChatIdentity]:
    rows = await session.scalars(select(ChatIdentity).where(ChatIdentity.employee_id == employee_id))
    return list(rows)


async def link_identity(
    session: AsyncSession, employee: Employee, platform: Platform | str, external_id: str
) -> ChatIdentity:
    """Point a chat user at an employee (re-linking an existing chat user moves it)."""
    platform = Platform(platform)
    identity = await session.scalar(
        select(ChatIdentity).where(ChatIdentity.platform == platform, ChatIdentity.external_id == external_id)
    )
    if identity is None:
        identity = ChatIdentity(platform=platform, external_id=external_id, employee_id=employee.id)
        session.add(identity)
    else:
        identity.employee_id = employee.id
    await session.flush()
    return identity


async def identities_on(session: AsyncSession, employee_id: int, platform: Platform | str) -> list[ChatIdentity]:
    rows = await session.scalars(
        select(ChatIdentity)
        .where(ChatIdentity.employee_id == employee_id, ChatIdentity.platform == Platform(platform))
        .order_by(ChatIdentity.id)
    )
    return list(rows)


async def claim_identity(
    session: AsyncSession,
    employee: Employee,
    platform: Platform | str,
    external_id: str,
    *,
    team_id: str | None = None,
    private_address: str | None = None,
) -> tuple[ChatIdentity, list[ChatIdentity]]:
    """Make `external_id` the person's one account on the platform; returns it and their other accounts there,
    removed (a new phone or a new Slack user replaces the old one). An account linked to someone else is refused
    (Conflict `identity_taken`): moving it is an explicit unlink first."""
    platform = Platform(platform)
    identity = await session.scalar(
        select(ChatIdentity).where(ChatIdentity.platform == platform, ChatIdentity.external_id == external_id)
    )
    if identity is not None and identity.employee_id != employee.id:
        raise Conflict(
            f"{platform.value} user {external_id} is linked to another employee.",
            code="identity_taken",
            platform=platform.value,
            external_id=external_id,
        )
    replaced = [other for other in await identities_on(session, employee.id, platform) if other is not identity]
    for other in replaced:
        await session.delete(other)
    if identity is None:
        identity = ChatIdentity(platform=platform, external_id=external_id, employee_id=employee.id)
        session.add(identity)
    if team_id is not None:
        identity.team_id = team_id
    if private_address is not None:
        identity.private_address = private_address
    identity.unreachable_at = None
    identity.unreachable_reason = ""
    await session.flush()
    return identity, replaced


async def remove_identities(session: AsyncSession, employee_id: int, platform: Platform | str) -> list[ChatIdentity]:
    """Delete the person's accounts on a platform; returns what was removed."""
    removed = await identities_on(session, employee_id, platform)
    for identity in removed:
        await session.delete(identity)
    await session.flush()
    return removed


async def with_role(session: AsyncSession, role: Role) -> list[Employee]:
    if role is Role.EMPLOYEE:
        rows = await session.scalars(select(Employee).where(Employee.active).order_by(Employee.id))
    else:
        rows = await session.scalars(
            select(Employee)
            .join(EmployeeRole)
            .where(EmployeeRole.role == role, Employee.active)
            .order_by(Employee.id)
        )
    return list(rows)


async def handler_or_team(session: AsyncSession, handler_id: int | None, role: Role) -> list[Employee]:
    """Who hears about a case: the person handling it while they are active, else everyone with the role."""
    if handler_id is not None:
        handler = await session.get(Employee, handler_id)
        if handler is not None and handler.active:
            return [handler]
    return await with_role(session, role)


async def directory(session: AsyncSession) -> list[tuple[int, str, str]]:
    """(id, name, email) of every active employee: enough to recognise who a message names, without loading them."""
    rows = await session.execute(select(Employee.id, Employee.name, Employee.email).where(Employee.active).order_by(Employee.id))
    return [(employee_id, name, email) for employee_id, name, email in rows]


async def direct_reports(session: AsyncSession, manager_id: int) -> list[Employee]:
    """The active people reporting to a manager (someone who left still points at their last manager)."""
    rows = await session.scalars(
        select(Employee).where(Employee.manager_id == manager_id, Employee.active).order_by(Employee.name)
    )
    return list(rows)


async def departments(session: AsyncSession) -> list[str]:
    """The departments active people belong to: what "approve all from the sales team" may name."""
    rows = await session.scalars(select(Employee.department).where(Employee.active, Employee.department != "").distinct())
    return sorted(rows)


def require_role(employee: Employee, *roles: Role, action: str) -> None:
    if not employee.has_role(*roles, Role.ADMIN):
        raise PermissionDenied(
            f"{employee.name} may not {action}.", code="role_required", action=action, roles=[r.value for r in roles]
        )
