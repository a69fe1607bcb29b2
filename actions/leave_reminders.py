""""Your leave starts tomorrow": sent to the employee on the last working day before approved leave begins (on
Friday for a Monday start, on Wednesday when Thursday is a public holiday of their calendar), at the policy's hour in
their time zone, with who approved it. Leave that needed no approval (sick leave) gets no such reminder: the person
registered it themselves. Leave approved only after that day has passed gets none either (they know already).

Missed while the assistant was down (all of Friday, say), the reminder goes out when it is back, up to the day before
the leave: at night it waits for the morning like any other message, and then says the day ("starts on Monday")
rather than "tomorrow". Its key names the notice day's instant, so it is queued once however late it is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

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
        local_now = ctx.local(employee)
        notice = notice_day(request.start_date, await ctx.holidays(employee.calendar))
        notice_at = datetime.combine(notice, time(ctx.policy.hour))
        delivered_on = ctx.policy.quiet.morning_after(local_now).date()
        if local_now < notice_at or delivered_on >= request.start_date:
            continue
        if request.decided_at is not None and ctx.local(employee, request.decided_at).date() > notice:
            continue
        approver = await leave_chat.name_of(ctx.session, request.approver_id)
        tomorrow = request.start_date == delivered_on + timedelta(days=1)
        due = ctx.instant(employee, notice_at)
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
