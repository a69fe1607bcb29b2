""""Your leave starts tomorrow": sent to the employee on the last working day before approved leave begins (on
Friday for a Monday start, on Wednesday when Thursday is a public holiday of their calendar), at the policy's hour in
their time zone, with who approved it. Leave that needed no approval (sick leave) gets no such reminder: the person
registered it themselves. Leave approved only after that day has passed gets none either (they know already).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import select

from actions import leave as leave_chat
from actions.i18n import Translator
from actions.replies import Reply
from actions.scheduled import JobContext, Jobs, job_key
from storage.leave import LeaveRequest, LeaveStatus
from storage.people import Employee
from storage.schedules import is_working_day

jobs = Jobs()

KIND = "leave_starts"
LOOK_AHEAD = timedelta(days=21)
"""Leave starting this far ahead at most can have its notice day today (a long run of holidays before it)."""


@jobs.job(KIND, every="FREQ=MINUTELY;INTERVAL=15")
async def leave_starts(ctx: JobContext) -> None:
    today = ctx.now.date()
    starting = await ctx.session.scalars(
        select(LeaveRequest)
        .where(
            LeaveRequest.status == LeaveStatus.APPROVED,
            LeaveRequest.approver_id.is_not(None),
            LeaveRequest.start_date > today - timedelta(days=1),
            LeaveRequest.start_date <= today + LOOK_AHEAD,
        )
        .order_by(LeaveRequest.start_date, LeaveRequest.id)
    )
    for request in starting:
        employee = await ctx.session.get(Employee, request.employee_id)
        if employee is None or not employee.active:
            continue
        local_today = ctx.local(employee).date()
        if request.start_date <= local_today or notice_day(request.start_date, await ctx.holidays(employee.calendar)) != local_today:
            continue
        due = await ctx.daily_due(employee)
        if due is None:
            continue
        approver = await leave_chat.name_of(ctx.session, request.approver_id)
        tomorrow = request.start_date == local_today + timedelta(days=1)
        await ctx.send(employee, _notice(request, approver, tomorrow=tomorrow), key=job_key(KIND, employee, due, request.id))


def notice_day(start: date, holidays: frozenset[date]) -> date:
    """The last working day before `start` (weekends and the calendar's holidays skipped)."""
    day = start - timedelta(days=1)
    for _ in range(int(LOOK_AHEAD.days)):
        if is_working_day(day, holidays):
            return day
        day -= timedelta(days=1)
    return day


def _notice(request: LeaveRequest, approver: str, *, tomorrow: bool) -> Callable[[Translator], list[Reply]]:
    def build(t: Translator) -> list[Reply]:
        params = leave_chat.describe(t, request)
        if tomorrow:
            return [Reply(t("leave_starts.tomorrow", approver=approver, **params), private=True)]
        return [Reply(t("leave_starts.on_day", approver=approver, day=t.day_month(request.start_date), **params), private=True)]

    return build
