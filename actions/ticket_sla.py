"""IT tickets near or past their SLA: the assignee is told (or, while nobody has the ticket, every IT agent, with a
Take button) once when most of the time is used (the policy's share, 80 % by default) and once when it has run out.
A warning for one due time is sent once; a ticket whose priority changes has a new due time and is watched anew.
When the assistant was down through both moments, only "past its deadline" is sent. A critical ticket's warning
goes out even at night; the others wait for the morning.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from actions import tickets as ticket_chat
from actions.i18n import Translator
from actions.payloads import TicketAction, TicketVerb, encode
from actions.replies import Button, Reply
from actions.scheduled import JobContext, Jobs, job_key
from storage import people
from storage.people import Employee, Role
from storage.tickets import OPEN_STATUSES, SLA, Priority, Ticket

jobs = Jobs()

KIND = "ticket_sla"


@jobs.job(KIND, every="FREQ=MINUTELY;INTERVAL=5")
async def ticket_sla(ctx: JobContext) -> None:
    share = ctx.policy.sla_warning
    tickets = await ctx.session.scalars(
        select(Ticket)
        .where(Ticket.status.in_(OPEN_STATUSES), Ticket.sla_due_at <= ctx.now + max(SLA.values()) * (1 - share))
        .order_by(Ticket.sla_due_at, Ticket.id)
    )
    for ticket in tickets:
        warn_at = ticket.created_at + (ticket.sla_due_at - ticket.created_at) * share
        if ctx.now < warn_at:
            continue
        past = ctx.now > ticket.sla_due_at
        stage = "past" if past else "near"
        for agent in await people.handler_or_team(ctx.session, ticket.assignee_id, Role.IT_AGENT):
            await ctx.send(
                agent,
                _warning(ticket, agent, past=past),
                key=job_key(KIND, agent, ticket.sla_due_at, ticket.number, stage),
                explicit=ticket.priority is Priority.CRITICAL,
            )


def _warning(ticket: Ticket, reader: Employee, *, past: bool) -> Callable[[Translator], list[Reply]]:
    number, title, priority, due, unassigned = ticket.number, ticket.title, ticket.priority, ticket.sla_due_at, ticket.assignee_id is None

    def build(t: Translator) -> list[Reply]:
        text = t(
            "ticket_sla.past" if past else "ticket_sla.near",
            number=number, title=ticket_chat.quote(title), priority=ticket_chat.priority_label(t, priority),
            **ticket_chat.due_params(t, due, reader),
        )
        if unassigned:
            take = Button(t("tickets.button_take"), encode(TicketAction(TicketVerb.TAKE, number)))
            return [Reply(text, buttons=(take,), live_key=ticket_chat.live_key(number))]
        return [Reply(text, buttons=(Button(f"#{number}", encode(TicketAction(TicketVerb.SHOW, number))),))]

    return build
