"""HR cases left unanswered: when an employee's last message in an open case has waited longer than the policy
allows, the HR person handling it (or all of HR, while nobody has taken it) is reminded, with the same Reply and
Close buttons as the case's own messages. Once per unanswered message, on HR's working days, never at night.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from actions import escalations as case_chat
from actions.i18n import Translator
from actions.replies import Reply
from actions.scheduled import JobContext, Jobs, job_key
from storage import people
from storage.escalations import Direction, Escalation, EscalationMessage, EscalationStatus
from storage.people import Employee, Role

jobs = Jobs()

KIND = "hr_follow_up"


@jobs.job(KIND, every="FREQ=MINUTELY;INTERVAL=15")
async def hr_follow_up(ctx: JobContext) -> None:
    cases = await ctx.session.scalars(select(Escalation).where(Escalation.status == EscalationStatus.OPEN).order_by(Escalation.id))
    for case in cases:
        last = await ctx.session.scalar(
            select(EscalationMessage).where(EscalationMessage.escalation_id == case.id).order_by(EscalationMessage.id.desc()).limit(1)
        )
        if last is None or last.direction is not Direction.TO_HR or last.at > ctx.now - ctx.policy.hr_after:
            continue
        employee = await ctx.session.get(Employee, case.employee_id)
        name = employee.name if employee is not None else ""
        for hr in await people.handler_or_team(ctx.session, case.assigned_hr_id, Role.HR):
            local = ctx.local(hr)
            if hr.id == case.employee_id or ctx.policy.quiet.contains(local.time()) or not await ctx.working_day(hr, local.date()):
                continue
            await ctx.send(hr, _reminder(case, name, ctx.local(hr, last.at)), key=job_key(KIND, hr, last.at, case.id, last.id))


def _reminder(case: Escalation, name: str, since: datetime) -> Callable[[Translator], list[Reply]]:
    case_id, subject = case.id, case.subject

    def build(t: Translator) -> list[Reply]:
        text = t("hr_follow_up.waiting", id=case_id, subject=subject, name=name, day=t.day_month(since.date()), time=t.time(since))
        return [Reply(text, buttons=case_chat.hr_buttons(t, case_id), private=True)]

    return build
