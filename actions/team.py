"""Who is off in my team: a manager sees their reports' approved and pending leave for a week or a month; anyone
else sees only their teammates' (same manager, and that manager) approved time off, without its type.

Why the limit: a leave's type can be health data (sick leave) and a pending request is between the person and their
manager, but colleagues planning work together may know who is away when. People with no manager and no reports
have no team on record and are told so.
"""

from __future__ import annotations

from datetime import date, timedelta

from actions import leave as leave_chat
from actions.context import ActionContext
from actions.registry import Routes
from actions.replies import Table
from storage import leave, people
from storage.leave import LeaveRequest, LeaveStatus
from storage.people import Employee

routes = Routes()

MAX_SPAN_DAYS = 62
"""The longest window one answer covers (about two months): longer lists don't read on a phone."""
MAX_ROWS = 30


def period_of(ctx: ActionContext) -> tuple[date, date]:
    """The window asked about: the dates said ("next week", "1–5 December"), a month ("in December", the rest of
    it when it is this month), else this week (Monday to Sunday)."""
    starts, ends = leave_chat.dates_of(ctx, "start_date"), leave_chat.dates_of(ctx, "end_date")
    if starts:
        start = starts[0]
        end = ends[-1] if ends else starts[-1]
        if end < start:
            end = start
        return start, min(end, start + timedelta(days=MAX_SPAN_DAYS - 1))
    month = ctx.message.entity("month")
    if isinstance(month, str) and len(month) >= 7:
        try:
            first = date(int(month[:4]), int(month[5:7]), 1)
        except ValueError:
            first = None
        if first is not None:
            this_month = ctx.today.replace(day=1)
            while first < this_month:  # the extractor reads a bare month as past (payslips); absences are ahead
                first = first.replace(year=first.year + 1)
            following = (first + timedelta(days=32)).replace(day=1)
            return max(first, ctx.today), following - timedelta(days=1)
    monday = ctx.today - timedelta(days=ctx.today.weekday())
    return monday, monday + timedelta(days=6)


async def _teammates(ctx: ActionContext) -> list[Employee]:
    """The person's manager and the manager's other active reports."""
    me = ctx.employee
    if me.manager_id is None:
        return []
    found = [p for p in await people.direct_reports(ctx.session, me.manager_id) if p.id != me.id]
    manager = await ctx.session.get(Employee, me.manager_id)
    if manager is not None and manager.active:
        found.insert(0, manager)
    return found


@routes.intent("team_absence")
async def team_absence(ctx: ActionContext) -> None:
    start, end = period_of(ctx)
    period = leave_chat.span(ctx.t, start, end, today=ctx.today)
    reports = await people.direct_reports(ctx.session, ctx.employee.id)
    if reports:
        await _manager_view(ctx, reports, start, end, period)
        return
    teammates = await _teammates(ctx)
    if not teammates:
        ctx.say("team_absence.no_team")
        return
    names = {p.id: p.name for p in teammates}
    found = await leave.absences(ctx.session, list(names), start, end, statuses=(LeaveStatus.APPROVED,))
    if not found:
        ctx.say("team_absence.none_colleague", period=period)
        return
    t = ctx.t
    rows = tuple((names[r.employee_id], _dates(ctx, r)) for r in found[:MAX_ROWS])
    table = Table((t("team_absence.col.who"), t("leave.col.dates")), rows)
    ctx.say("team_absence.intro_colleague", period=period, blocks=(table,), private=True)


async def _manager_view(ctx: ActionContext, reports: list[Employee], start: date, end: date, period: str) -> None:
    names = {p.id: p.name for p in reports}
    statuses = (LeaveStatus.APPROVED, LeaveStatus.PENDING)
    found = await leave.absences(ctx.session, list(names), start, end, statuses=statuses)
    if not found:
        ctx.say("team_absence.none_manager", period=period, private=True)
        return
    t = ctx.t
    rows = tuple(
        (
            names[r.employee_id],
            _dates(ctx, r),
            leave_chat.capitalized(leave_chat.type_name(t, r.leave_type)),
            t(f"leave.status.{r.status.value}"),
        )
        for r in found[:MAX_ROWS]
    )
    header = (t("team_absence.col.who"), t("leave.col.dates"), t("leave.col.type"), t("leave.col.status"))
    ctx.say("team_absence.intro_manager", period=period, blocks=(Table(header, rows),), private=True)
    if len(found) > MAX_ROWS:
        ctx.say("team_absence.more", count=ctx.t.number(len(found) - MAX_ROWS), private=True)


def _dates(ctx: ActionContext, request: LeaveRequest) -> str:
    return leave_chat.span(ctx.t, request.start_date, request.end_date, today=ctx.today)
