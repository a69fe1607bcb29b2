"""IT tickets in chat: report a problem (category and priority inferred from the words), follow one's tickets,
and — for IT agents — move a ticket along by saying so ("ticket 42 resolved: replaced the cable")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from actions.context import ActionContext
from actions.forms import CONFIRM, Form
from actions.i18n import Translator, keyword_table, words_of
from actions.payloads import TicketAction, TicketVerb, encode, record_id
from actions.registry import Routes
from actions.replies import Button, Fields, Reply, Table
from storage import people, tickets
from storage.errors import DomainError
from storage.people import Employee, Role
from storage.tickets import Category, Priority, Ticket, TicketStatus

routes = Routes()

CATEGORY_PRECEDENCE = (Category.ACCESS, Category.NETWORK, Category.HARDWARE, Category.SOFTWARE)
"""When a message has as many words of two categories, the first one here wins ("vpn password" is access)."""
PRIORITY_PRECEDENCE = (Priority.CRITICAL, Priority.HIGH, Priority.LOW)
MIN_DETAIL_WORDS = 2
"""Fewer meaningful words than this (and no category word) and the message is too thin to be a description."""
MAX_LISTED = 10
QUOTE_LENGTH = 160
LOCALIZED_STATUS_ERRORS = frozenset({"ticket_same_status", "ticket_bad_transition"})
"""Errors whose status params are codes ("in_progress"): said with the reader's words for them."""


# --- reading the words ----------------------------------------------------------------------------------------


def infer_category(text: str) -> Category | None:
    words = words_of(text)
    scores = {category: keyword_table(f"tickets.keywords.{category.value}").count(words) for category in CATEGORY_PRECEDENCE}
    best = max(scores.values())
    if best == 0:
        return None
    return next(category for category in CATEGORY_PRECEDENCE if scores[category] == best)


def infer_priority(text: str) -> Priority:
    words = words_of(text)
    for priority in PRIORITY_PRECEDENCE:
        if keyword_table(f"tickets.keywords.priority_{priority.value}").count(words):
            return priority
    return Priority.NORMAL


def is_too_thin(text: str) -> bool:
    """'I need IT help', 'open a ticket': a request for a ticket, but nothing IT could act on."""
    if infer_category(text) is not None:
        return False
    filler = keyword_table("tickets.keywords.filler")
    meaningful = [word for word in words_of(text) if len(word) > 1 and not filler.matches(word)]
    return len(meaningful) < MIN_DETAIL_WORDS


# --- formatting -------------------------------------------------------------------------------------------------


def _local(moment: datetime, timezone: str) -> datetime:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)


class DueParams(TypedDict):
    due_day: str
    due_time: str


def due_params(t: Translator, due: datetime, reader: Employee) -> DueParams:
    local = _local(due, reader.timezone)
    return {"due_day": t.day_month(local.date()), "due_time": t.time(local)}


def quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_LENGTH else flat[: QUOTE_LENGTH - 1].rstrip() + "…"


def status_label(t: Translator, status: TicketStatus | str) -> str:
    return t(f"tickets.status.{TicketStatus(status).value}")


def category_label(t: Translator, category: Category | str) -> str:
    return t(f"tickets.category.{Category(category).value}")


def priority_label(t: Translator, priority: Priority | str) -> str:
    return t(f"tickets.priority.{Priority(priority).value}")


def _number(value: Any) -> int | None:
    return record_id(value) if value is not None else None


def _button(label: str, verb: TicketVerb, number: int) -> Button:
    return Button(label, encode(TicketAction(verb, number)))


def _is_agent(employee: Employee) -> bool:
    return employee.has_role(Role.IT_AGENT, Role.ADMIN)


# --- creating a ticket ------------------------------------------------------------------------------------------


class TicketCreateForm(Form):
    name = "ticket_create"
    required = ("description",)
    free_text = frozenset({"description"})

    def extract(self, ctx: ActionContext, awaiting: str | None) -> dict[str, Any]:
        said_priority = ctx.message.entity("priority")
        if awaiting == CONFIRM:
            return {"priority": said_priority} if said_priority in set(Priority) else {}
        text = ctx.message.text.strip()
        if awaiting is None and is_too_thin(text):
            return {"priority": said_priority} if said_priority in set(Priority) else {}
        if not text:
            return {}
        priority = said_priority if said_priority in set(Priority) else ctx.slots.get("priority") or infer_priority(text)
        return {
            "description": text,
            "category": (infer_category(text) or Category.OTHER).value,
            "priority": Priority(priority).value,
        }

    def ask(self, ctx: ActionContext, slot: str) -> None:
        ctx.say("tickets.ask_description")

    async def confirm(self, ctx: ActionContext) -> None:
        ctx.say(
            "tickets.confirm",
            category=category_label(ctx.t, ctx.slots["category"]),
            priority=priority_label(ctx.t, ctx.slots["priority"]),
            description=quote(ctx.slots["description"]),
        )

    async def submit(self, ctx: ActionContext) -> None:
        ticket = await tickets.create_ticket(
            ctx.session,
            ctx.employee,
            description=ctx.slots["description"],
            category=ctx.slots["category"],
            priority=ctx.slots["priority"],
            now=ctx.now,
        )
        ctx.say(
            "tickets.created",
            number=ticket.number,
            category=category_label(ctx.t, ticket.category),
            priority=priority_label(ctx.t, ticket.priority),
            **due_params(ctx.t, ticket.sla_due_at, ctx.employee),
        )
        await _tell_agents(ctx, ticket)


routes.form(TicketCreateForm())


class TicketAnswerForm(Form):
    """The requester's answer to IT on a ticket waiting for them; started by the Answer button (`number` filled)."""

    name = "ticket_answer"
    required = ("number", "text")
    free_text = frozenset({"text"})
    confirm_first = False  # typing the answer after pressing Answer is the decision to send it
    needs_prefill = True

    def extract(self, ctx: ActionContext, awaiting: str | None) -> dict[str, Any]:
        if awaiting == "text":
            return {"text": ctx.message.text.strip()}
        return {}

    def ask(self, ctx: ActionContext, slot: str) -> None:
        ctx.say("tickets.ask_answer", number=ctx.slots.get("number", ""))

    async def submit(self, ctx: ActionContext) -> None:
        number = int(ctx.slots["number"])
        comment = await tickets.add_comment(ctx.session, ctx.employee, number, str(ctx.slots["text"]), now=ctx.now)
        ticket = await tickets.get_ticket(ctx.session, ctx.employee, number)
        requester = ctx.employee.name
        for agent in await people.handler_or_team(ctx.session, ticket.assignee_id, Role.IT_AGENT):
            if agent.id == ctx.employee.id:
                continue

            def build(t: Translator) -> Reply:
                return Reply(
                    t("tickets.requester_answered", number=ticket.number, requester=requester, text=quote(comment.text)),
                    buttons=(_button(f"#{ticket.number}", TicketVerb.SHOW, ticket.number),),
                )

            await ctx.notify(agent, build, idempotency_key=f"ticket-comment:{comment.id}:{agent.id}", due_at=ctx.now)
        ctx.say("tickets.answer_sent", number=ticket.number, status=status_label(ctx.t, ticket.status))


routes.form(TicketAnswerForm())


async def _tell_agents(ctx: ActionContext, ticket: Ticket) -> None:
    urgent = ticket.priority in (Priority.HIGH, Priority.CRITICAL)
    for agent in await people.with_role(ctx.session, Role.IT_AGENT):
        if agent.id == ticket.requester_id:
            continue

        def build(t: Translator, agent: Employee = agent) -> Reply:
            return Reply(
                t(
                    "tickets.agent_new_urgent" if urgent else "tickets.agent_new",
                    number=ticket.number,
                    requester=ctx.employee.name,
                    category=category_label(t, ticket.category),
                    priority=priority_label(t, ticket.priority),
                    title=quote(ticket.title),
                    **due_params(t, ticket.sla_due_at, agent),
                ),
                buttons=(_button(t("tickets.button_take"), TicketVerb.TAKE, ticket.number),),
                live_key=live_key(ticket.number),
            )

        await ctx.notify(agent, build, idempotency_key=f"ticket:{ticket.number}:new:{agent.id}", due_at=ctx.now)


def live_key(number: int) -> str:
    """The key of messages with a Take button for this ticket (edited to the outcome once someone has it)."""
    return f"ticket:{number}"


async def _close_take_buttons(ctx: ActionContext, ticket: Ticket) -> None:
    """The ticket is no longer open: every Take button sent about it becomes who has it (or its new status)."""
    agent = await ctx.session.get(Employee, ticket.assignee_id) if ticket.assignee_id else None
    agent_name = agent.name if agent is not None else ""

    def outcome(t: Translator) -> Reply:
        if agent_name and ticket.status is TicketStatus.IN_PROGRESS:
            return Reply(t("live.ticket_taken", number=ticket.number, title=quote(ticket.title), agent=agent_name))
        return Reply(t("live.ticket_status", number=ticket.number, title=quote(ticket.title), status=status_label(t, ticket.status)))

    await ctx.close_live(live_key(ticket.number), outcome)


# --- status: looking and changing ------------------------------------------------------------------------------


@routes.intent("ticket_status")
async def ticket_status(ctx: ActionContext) -> None:
    number = _number(ctx.message.entity("ticket_id"))
    wanted = ctx.message.entity("ticket_status")
    try:
        async with ctx.session.begin_nested():
            if number is not None and wanted:
                await _change(ctx, number, str(wanted), comment=_comment_of(ctx))
            elif number is not None:
                await _show(ctx, number)
            elif wanted:
                ctx.say("tickets.which_ticket")
            else:
                await _list_mine(ctx)
    except DomainError as error:
        explain(ctx, error)


def explain(ctx: ActionContext, error: DomainError) -> None:
    """Like `ctx.say_error`, with ticket statuses in the reader's words rather than as codes."""
    if error.code not in LOCALIZED_STATUS_ERRORS:
        ctx.say_error(error)
        return
    params: dict[str, Any] = {
        name: status_label(ctx.t, value) if name in ("status", "current", "wanted") else value for name, value in error.params.items()
    }
    ctx.say(f"error.{error.code}", **params)


def _comment_of(ctx: ActionContext) -> str:
    """What follows the ticket number and status words: "ticket 42 waiting for user: please restart"."""
    spans = [found for found in ctx.message.entities if found.get("entity") in ("ticket_id", "ticket_status") and "end" in found]
    if not spans:
        return ""
    end = max(int(found["end"]) for found in spans)
    return ctx.message.text[end:].strip(" \t\n:;,.-–—").strip()


async def _show(ctx: ActionContext, number: int) -> None:
    ticket = await tickets.get_ticket(ctx.session, ctx.employee, number)
    t = ctx.t
    assignee = await ctx.session.get(Employee, ticket.assignee_id) if ticket.assignee_id else None
    rows = [
        (t("tickets.field_status"), status_label(t, ticket.status)),
        (t("tickets.field_category"), category_label(t, ticket.category)),
        (t("tickets.field_priority"), priority_label(t, ticket.priority)),
        (t("tickets.field_assignee"), assignee.name if assignee else t("tickets.nobody_yet")),
    ]
    if ticket.status in tickets.OPEN_STATUSES:
        due = due_params(t, ticket.sla_due_at, ctx.employee)
        key = "tickets.due_overdue" if ticket.overdue(ctx.now) else "tickets.due_at"
        rows.append((t("tickets.field_due"), t(key, **due)))
    if ticket.comments:
        last = ticket.comments[-1]
        author = await ctx.session.get(Employee, last.author_id) if last.author_id else None
        rows.append((t("tickets.field_last_comment"), t("tickets.comment_line", author=author.name if author else "—", text=quote(last.text))))
    buttons: list[Button] = []
    if ticket.requester_id == ctx.employee.id and ticket.status is TicketStatus.RESOLVED:
        buttons = [
            _button(t("tickets.button_close"), TicketVerb.CLOSE, ticket.number),
            _button(t("tickets.button_reopen"), TicketVerb.REOPEN, ticket.number),
        ]
    elif _is_agent(ctx.employee) and ticket.status is TicketStatus.OPEN:
        buttons = [_button(t("tickets.button_take"), TicketVerb.TAKE, ticket.number)]
    taking = ticket.status is TicketStatus.OPEN and bool(buttons)
    ctx.say(
        "tickets.one",
        number=ticket.number,
        title=quote(ticket.title),
        blocks=(Fields(tuple(rows)),),
        buttons=buttons,
        live_key=live_key(ticket.number) if taking else None,
    )


async def _list_mine(ctx: ActionContext) -> None:
    mine = await tickets.open_tickets_of(ctx.session, ctx.employee)
    if _is_agent(ctx.employee):
        await _list_queue(ctx)
        if not mine:
            return  # an agent's "my tickets" is their queue; their own requests follow only if they have any
    if not mine:
        ctx.say("tickets.none_open")
        return
    table = ticket_table(ctx, mine)
    buttons = [_button(f"#{ticket.number}", TicketVerb.SHOW, ticket.number) for ticket in mine[:5]]
    ctx.say("tickets.open_list", count=len(mine), blocks=(table,), buttons=buttons)


async def _list_queue(ctx: ActionContext) -> None:
    queue = await tickets.queue_of(ctx.session, ctx.employee)
    if not queue:
        ctx.say("tickets.queue_empty")
        return
    t = ctx.t
    buttons = [
        _button(f"#{ticket.number}", TicketVerb.SHOW, ticket.number)
        if ticket.assignee_id == ctx.employee.id
        else _button(t("tickets.button_take_number", number=ticket.number), TicketVerb.TAKE, ticket.number)
        for ticket in queue[:5]
    ]
    ctx.say("tickets.queue_list", count=len(queue), blocks=(ticket_table(ctx, queue, holder=True),), buttons=buttons)


def ticket_table(ctx: ActionContext, listed: list[Ticket], *, holder: bool = False, title: str = "") -> Table:
    """Number, subject, status, (who has it, for an agent's queue,) and when it is due, for the first few (the
    ticket lists, and the home page)."""
    t = ctx.t
    header = [t("tickets.column_number"), t("tickets.column_subject"), t("tickets.column_status"), t("tickets.column_due")]
    if holder:
        header.insert(3, t("tickets.column_assignee"))
    rows = []
    for ticket in listed[:MAX_LISTED]:
        row = [f"#{ticket.number}", quote(ticket.title)[:60], status_label(t, ticket.status), t("tickets.due_short", **due_params(t, ticket.sla_due_at, ctx.employee))]
        if holder:
            row.insert(3, t("tickets.queue_you") if ticket.assignee_id == ctx.employee.id else t("tickets.queue_nobody"))
        rows.append(tuple(row))
    return Table(tuple(header), tuple(rows), title)


async def _change(ctx: ActionContext, number: int, wanted: str, *, comment: str = "", replaces_source: bool = False) -> None:
    before = await tickets.get_ticket(ctx.session, ctx.employee, number)
    previous_assignee, was_open = before.assignee_id, before.status is TicketStatus.OPEN
    ticket = await tickets.change_status(ctx.session, ctx.employee, number, wanted, comment=comment, now=ctx.now)
    change_id = ticket.history[-1].id
    if was_open and ticket.status is not TicketStatus.OPEN:
        await _close_take_buttons(ctx, ticket)
    requester = await ctx.session.get(Employee, ticket.requester_id)
    if requester is not None and requester.id != ctx.employee.id:
        await _tell_requester(ctx, ticket, requester, comment, change_id)
        ctx.say("tickets.changed_told", number=ticket.number, status=status_label(ctx.t, ticket.status), requester=requester.name, replaces_source=replaces_source)
        return
    assignee_id = ticket.assignee_id or previous_assignee
    assignee = await ctx.session.get(Employee, assignee_id) if assignee_id and assignee_id != ctx.employee.id else None
    if assignee is not None:
        await _tell_assignee(ctx, ticket, assignee, change_id)
    ctx.say("tickets.changed", number=ticket.number, status=status_label(ctx.t, ticket.status), replaces_source=replaces_source)


async def _tell_requester(ctx: ActionContext, ticket: Ticket, requester: Employee, comment: str, change_id: int) -> None:
    actor = ctx.employee.name

    def build(t: Translator) -> Reply:
        text = t("tickets.requester_changed", number=ticket.number, title=quote(ticket.title), status=status_label(t, ticket.status))
        if ticket.status is TicketStatus.WAITING_ON_USER:
            text = t("tickets.requester_waiting", number=ticket.number, title=quote(ticket.title))
        if comment:
            text += "\n" + t("tickets.comment_line", author=actor, text=quote(comment))
        buttons: tuple[Button, ...] = ()
        if ticket.status is TicketStatus.WAITING_ON_USER:
            buttons = (_button(t("tickets.button_answer"), TicketVerb.ANSWER, ticket.number),)
        if ticket.status is TicketStatus.RESOLVED:
            buttons = (
                _button(t("tickets.button_close"), TicketVerb.CLOSE, ticket.number),
                _button(t("tickets.button_reopen"), TicketVerb.REOPEN, ticket.number),
            )
        return Reply(text, buttons)

    await ctx.notify(requester, build, idempotency_key=f"ticket-change:{change_id}", due_at=ctx.now)


async def _tell_assignee(ctx: ActionContext, ticket: Ticket, assignee: Employee, change_id: int) -> None:
    requester = ctx.employee.name

    def build(t: Translator) -> Reply:
        return Reply(t("tickets.assignee_changed", number=ticket.number, requester=requester, status=status_label(t, ticket.status)))

    await ctx.notify(assignee, build, idempotency_key=f"ticket-change:{change_id}", due_at=ctx.now)


BUTTON_STATUS = {TicketVerb.TAKE: TicketStatus.IN_PROGRESS, TicketVerb.CLOSE: TicketStatus.CLOSED, TicketVerb.REOPEN: TicketStatus.IN_PROGRESS}


@routes.button(TicketAction)
async def ticket_button(ctx: ActionContext, press: TicketAction) -> None:
    """ticket:show:42, ticket:take:42 (IT), ticket:close:42 / ticket:reopen:42 (the requester, once resolved),
    ticket:answer:42 (the requester, while IT waits for them)."""
    number = press.number
    try:
        async with ctx.session.begin_nested():
            if press.verb is TicketVerb.SHOW:
                await _show(ctx, number)
            elif press.verb is TicketVerb.ANSWER:
                await _start_answer(ctx, number)
            else:
                await _change(ctx, number, BUTTON_STATUS[press.verb].value, replaces_source=True)
    except DomainError as error:
        explain(ctx, error)


async def _start_answer(ctx: ActionContext, number: int) -> None:
    ticket = await tickets.get_ticket(ctx.session, ctx.employee, number)
    if ticket.status is not TicketStatus.WAITING_ON_USER or ticket.requester_id != ctx.employee.id:
        ctx.say("tickets.not_waiting", number=ticket.number, status=status_label(ctx.t, ticket.status))
        return
    ctx.start_form("ticket_answer", number=ticket.number)
