"""Who is who, for channels: they never touch the database themselves.

The console trusts its terminal: whoever runs it may be anyone in the company (`sign_in`). Slack and Telegram
never sign people in this way; their users are linked by code (bot/linking.py) or by the employees import.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import people
from storage.database import Database
from storage.people import Employee


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    roles: tuple[str, ...]
    """Sorted role names, 'employee' included."""

    @classmethod
    def of(cls, employee: Employee) -> Person:
        return cls(employee.name, employee.email, tuple(sorted(role.value for role in employee.roles)))


class Directory:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def sign_in(self, platform: str, email: str) -> Person | None:
        """The active employee with this email, their chat identity on `platform` being their email (linked now
        if it wasn't); None if there is no such active employee. Only for a channel that trusts its user to say
        who they are — the console."""
        async with self.database.transaction() as session:
            employee = await people.find_by_email(session, email)
            if employee is None or not employee.active:
                return None
            if await people.employee_for_identity(session, platform, employee.email) is None:
                await people.link_identity(session, employee, platform, employee.email)
            return Person.of(employee)

    async def person(self, platform: str, external_id: str) -> Person | None:
        """The active employee a chat user is linked to, if any."""
        async with self.database.reading() as session:
            employee = await people.employee_for_identity(session, platform, external_id)
            return None if employee is None else Person.of(employee)
