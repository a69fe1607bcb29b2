"""The managers' digest: leave requests that have waited too long for a decision, each with the same typed
Approve/Reject buttons as in chat (and, like them, edited to the outcome once the request is decided by any path).

It goes to each request's decider (the requester's manager, else HR) on the decider's working days, at the policy's
hour in the decider's own time zone: one digest a day at most, whatever the number of sweeps, restarts or replicas,
since its idempotency key is the decider and that day's due instant. A day the assistant was down until the night
gets no late digest; the next working morning's lists the same requests.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from actions import leave as leave_chat
from actions.i18n import Translator
from actions.replies import Reply
from actions.scheduled import JobContext, Jobs, job_key
from storage.leave import LeaveRequest, LeaveStatus
from storage.people import Employee

jobs = Jobs()

KIND = "approval_digest"
MAX_LISTED = 10


@jobs.job(KIND, every="FREQ=MINUTELY;INTERVAL=15")
async def approval_digest(ctx: JobContext) -> None:
    waiting = await ctx.session.scalars(
        select(LeaveRequest)
        .where(LeaveRequest.status == LeaveStatus.PENDING, LeaveRequest.created_at <= ctx.now - ctx.policy.digest_after)
        .order_by(LeaveRequest.created_at, LeaveRequest.id)
    )
    by_decider: dict[int, tuple[Employee, list[tuple[LeaveRequest, str]]]] = {}
    for request in waiting:
        requester = await ctx.session.get(Employee, request.employee_id)
        if requester is None or not requester.active:
            continue
        decider = await leave_chat.decider_for(ctx.session, requester)
        if decider is not None:
            by_decider.setdefault(decider.id, (decider, []))[1].append((request, requester.name))
    for decider, requests in by_decider.values():
        due = await ctx.daily_due(decider)
        if due is not None:
            await ctx.send(decider, _digest(requests), key=job_key(KIND, decider, due))


def _digest(requests: list[tuple[LeaveRequest, str]]) -> Callable[[Translator], list[Reply]]:
    def build(t: Translator) -> list[Reply]:
        replies = [Reply(t("digest.intro", count=t.number(len(requests))), private=True)]
        for request, name in requests[:MAX_LISTED]:
            replies.append(
                Reply(
                    t("approvals.item", name=name, **leave_chat.describe(t, request)),
                    buttons=leave_chat.decision_buttons(t, request.id),
                    private=True,
                    live_key=leave_chat.live_key(request.id),
                )
            )
        if len(requests) > MAX_LISTED:
            replies.append(Reply(t("approvals.more", count=t.number(len(requests) - MAX_LISTED)), private=True))
        return replies

    return build
