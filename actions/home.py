"""The person's home page (Slack's App Home): where they stand, at a glance, in their own language.

One reply summarises what the other answers tell piecemeal, with the same queries and tables: the leave balance
(`leave.balance_table`), their requests awaiting a decision (`leave.requests_table`), their open IT tickets
(`tickets.ticket_table`), for IT agents their queue (assigned to them or not taken yet) and, for managers and HR,
the requests waiting for their decision with Approve/Reject buttons. Those buttons are `home:approve:<id>` /
`home:reject:<id>`: decided by `approvals.decide`, exactly as the `leave:` buttons of a direct message are (the
requester is told, the decider's messages about it are edited to the outcome), and answered with the home again, the
outcome on top — a home page has no message to replace.

The page speaks the language of the person's profile, like the notifications they get, whatever the language of
their last chat. Which of its replies reach the home page is the core's business (bot/home.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from actions import approvals
from actions import leave as leave_chat
from actions import tickets as tickets_chat
from actions.context import ActionContext
from actions.i18n import Translator
from actions.payloads import HomeDecision, ShowHome, encode
from actions.registry import Routes
from actions.replies import Block, Button, Reply, Table
from storage import leave, tickets
from storage.leave import LeaveRequest, LeaveStatus
from storage.people import Role

routes = Routes()

MAX_LISTED = 10
"""Requests (and tickets) listed in each part of the page: two buttons per approval keeps it well inside Slack's
100 blocks and 25 buttons per row of actions."""


@routes.button(ShowHome)
async def show_home(ctx: ActionContext, press: ShowHome) -> None:
    _in_their_language(ctx)
    ctx.replies.append(await summary(ctx))


@routes.button(HomeDecision)
async def decide_from_home(ctx: ActionContext, press: HomeDecision) -> None:
    _in_their_language(ctx)
    before = len(ctx.replies)
    await approvals.decide(ctx, press.request_id, approve=press.approve, comment="", from_button=True)
    outcome = [reply.text for reply in ctx.replies[before:]]  # "Approved: …", or why not
    del ctx.replies[before:]
    ctx.replies.append(await summary(ctx, outcome))


def _in_their_language(ctx: ActionContext) -> None:
    if ctx.employee.language and ctx.employee.language != ctx.language:
        ctx.t = Translator(ctx.employee.language)


async def summary(ctx: ActionContext, notes: Sequence[str] = ()) -> Reply:
    """The whole home page as one reply: notes first (what a press just did), then one line per empty part and a
    table per part with something in it; the approvals' buttons last, right under their table."""
    t = ctx.t
    lines = [t("home.intro", name=ctx.employee.name), *notes]
    blocks: list[Block] = []
    balances = await leave.balances(ctx.session, ctx.employee, ctx.today.year)
    if balances:
        blocks.append(leave_chat.balance_table(t, balances, title=t("leave.balance_intro", year=str(ctx.today.year))))
    else:
        lines.append(t("leave.balance_none"))
    pending = sorted(await leave.requests_of(ctx.session, ctx.employee, statuses=(LeaveStatus.PENDING,)), key=lambda r: r.start_date)
    if pending:
        title = t("home.pending_title", count=t.number(len(pending)))
        blocks.append(await leave_chat.requests_table(ctx, pending[:MAX_LISTED], title=title))
    else:
        lines.append(t("home.pending_none"))
    mine = await tickets.open_tickets_of(ctx.session, ctx.employee)
    if mine:
        blocks.append(tickets_chat.ticket_table(ctx, mine[:MAX_LISTED], title=t("tickets.open_list", count=len(mine))))
    else:
        lines.append(t("home.tickets_none"))
    if ctx.employee.has_role(Role.IT_AGENT):
        queue = await tickets.queue_of(ctx.session, ctx.employee)
        if queue:
            blocks.append(tickets_chat.ticket_table(ctx, queue, holder=True, title=t("tickets.queue_list", count=len(queue))))
        else:
            lines.append(t("tickets.queue_empty"))
    buttons: list[Button] = []
    waiting = await leave.pending_for(ctx.session, ctx.employee)
    if waiting:
        blocks.append(await _approvals_table(ctx, waiting))
        for request in waiting[:MAX_LISTED]:
            buttons.append(Button(t("home.button.approve", id=request.id), encode(HomeDecision(request.id, approve=True))))
            buttons.append(Button(t("home.button.reject", id=request.id), encode(HomeDecision(request.id, approve=False))))
    elif ctx.employee.has_role(Role.MANAGER, Role.HR):
        lines.append(t("approvals.none"))
    return Reply("\n".join(lines), tuple(buttons), tuple(blocks), private=True)


async def _approvals_table(ctx: ActionContext, waiting: list[LeaveRequest]) -> Table:
    """One row per request: '#12 Alice Able' as its lead, then what, when and how long."""
    t = ctx.t
    title = t("approvals.intro", count=t.number(len(waiting)))
    if len(waiting) > MAX_LISTED:
        title = f"{title} {t('home.approvals_first', shown=t.number(MAX_LISTED))}"
    rows = []
    for request in waiting[:MAX_LISTED]:
        described = leave_chat.describe(t, request)
        name = await leave_chat.name_of(ctx.session, request.employee_id)
        rows.append((f"#{request.id} {name}", leave_chat.capitalized(described["what"]), described["dates"], t.days(request.days)))
    header = ("#", t("leave.col.type"), t("leave.col.dates"), t("leave.col.days"))
    return Table(header, tuple(rows), title)
