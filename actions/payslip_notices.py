"""Tells each employee "your payslip for MONTH is available", once per period, after payroll publishes it (a CSV
import, `backoffice import payslips`, or any other way a payslip row appears).

A sweep rather than a hook in the importer: storage does not reach up into actions, an import runs in its own
process (often while `backoffice run` is elsewhere), and the outbox is the one way out either way. Every quarter of
an hour the leader looks at payslips published in the last few days and queues a notice under the key
(employee, period), so a re-import that replaces a period's payslip, a restart or a second replica tells no one
twice. Only payslips this recent count: turning the scheduler on over years of history must not bring them all up.
The notice has no figures (those stay behind the owner's own request) and a button that shows the payslip; it waits
out the night in the employee's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from actions.i18n import Translator
from actions.payloads import PayslipChoice, encode
from actions.payslips import month_name
from actions.replies import Button, Reply
from actions.scheduled import JobContext, Jobs
from storage.payroll import Payslip
from storage.people import Employee

jobs = Jobs()

KIND = "payslip_notice"
RECENT = timedelta(days=3)
"""Payslips published longer ago than this are not announced (the sweep runs every 15 minutes; a leader may have
been missing for a while, not for days)."""


@jobs.job(KIND, every="FREQ=MINUTELY;INTERVAL=15")
async def payslip_notices(ctx: JobContext) -> None:
    published = list(await ctx.session.execute(
        select(Payslip.employee_id, Payslip.period)
        .where(Payslip.published_at > ctx.now - RECENT, Payslip.published_at <= ctx.now)
        .order_by(Payslip.published_at, Payslip.id)
    ))
    if not published:
        return
    owners = {
        employee.id: employee
        for employee in await ctx.session.scalars(select(Employee).where(Employee.id.in_({row.employee_id for row in published})))
    }
    for employee_id, period in published:
        await ctx.send(owners[employee_id], _notice(period), key=f"{KIND}:{employee_id}:{period}")  # not to the inactive


def _notice(period: str) -> Callable[[Translator], list[Reply]]:
    def build(t: Translator) -> list[Reply]:
        show = Button(t("payslip_notice.show"), encode(PayslipChoice(period, None)))
        return [Reply(t("payslip_notice.available", month=month_name(t, period)), buttons=(show,), private=True)]

    return build
