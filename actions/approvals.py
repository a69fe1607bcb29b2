"""Approvals in chat: a manager (or HR) sees the leave requests waiting for them and approves or rejects them,
by button (`leave:approve:<id>`, `leave:reject:<id>`) or by text ("approve 42", "reject 42 overlaps the audit"), or
all at once ("approve all pending", "approve all from the sales team", "approve all from Bob"): a confirmation lists
them first, then each is approved through `decide`, as if one by one. A "from" naming no team and no one whose
requests wait is answered with who does have some, never taken to mean everyone. Rejecting in bulk is not offered
(a rejection deserves a reason).

The requester's `leave:cancel:<id>` button is answered by `actions.leave`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from actions import leave as leave_chat
from actions.context import ActionContext
from actions.forms import Form
from actions.i18n import Keywords, Translator, keyword_table, words_of
from actions.payloads import LeaveDecision
from actions.registry import Routes
from actions.replies import Reply
from storage import leave, people
from storage.errors import DomainError
from storage.leave import LeaveRequest, LeaveStatus
from storage.people import Employee

routes = Routes()

COMMENT_TRIM = " \t\n,.;:-–—"
MAX_LISTED = 10
MAX_BULK = 20
"""The most one "approve all" confirms: a longer list is not read before saying yes."""
BULK_FORM = "approvals_bulk"


@routes.intent("approvals_pending")
async def approvals_pending(ctx: ActionContext) -> None:
    request_id = leave_chat.request_id_of(ctx)
    decision = ctx.message.entity("decision")
    if request_id is not None and decision in ("approve", "reject"):
        await decide(ctx, request_id, approve=decision == "approve", comment=_comment(ctx), from_button=False)
    elif decision == "approve" and keyword_table("approvals.keywords.all").count(words_of(ctx.message.text)):
        await _offer_bulk(ctx)
    elif request_id is not None:
        await _show_one(ctx, request_id)
    else:
        await _list_pending(ctx)


@routes.button(LeaveDecision)
async def leave_button(ctx: ActionContext, press: LeaveDecision) -> None:
    await decide(ctx, press.request_id, approve=press.approve, comment="", from_button=True)


async def _list_pending(ctx: ActionContext) -> None:
    waiting = await leave.pending_for(ctx.session, ctx.employee)
    if not waiting:
        ctx.say("approvals.none")
        return
    ctx.say("approvals.intro", count=ctx.t.number(len(waiting)), private=True)
    for request in waiting[:MAX_LISTED]:
        await _say_request(ctx, request)
    if len(waiting) > MAX_LISTED:
        ctx.say("approvals.more", count=ctx.t.number(len(waiting) - MAX_LISTED), private=True)


async def _show_one(ctx: ActionContext, request_id: int) -> None:
    try:
        request = await leave.get_request(ctx.session, request_id)
    except DomainError as error:
        ctx.say_error(error)
        return
    requester = await ctx.session.get(Employee, request.employee_id)
    assert requester is not None
    if not leave.can_decide(ctx.employee, requester):
        ctx.say("error.not_your_approval", request_id=request.id)
    elif request.status is not LeaveStatus.PENDING:
        await _already_decided(ctx, request, from_button=False)
    else:
        await _say_request(ctx, request)


async def _say_request(ctx: ActionContext, request: LeaveRequest) -> None:
    name = await leave_chat.name_of(ctx.session, request.employee_id)
    ctx.say(
        "approvals.item",
        name=name,
        buttons=leave_chat.decision_buttons(ctx.t, request.id),
        private=True,
        live_key=leave_chat.live_key(request.id),
        **leave_chat.describe(ctx.t, request),
    )


async def decide(ctx: ActionContext, request_id: int, *, approve: bool, comment: str, from_button: bool) -> None:
    try:
        async with ctx.session.begin_nested():
            request = await leave.decide(ctx.session, ctx.employee, request_id, approve=approve, comment=comment, now=ctx.now)
    except DomainError as error:
        if error.code == "leave_already_decided":
            await _already_decided(ctx, await leave.get_request(ctx.session, request_id), from_button=from_button)
        else:
            ctx.say_error(error)
        return
    requester = await ctx.session.get(Employee, request.employee_id)
    assert requester is not None
    t = ctx.t
    said = t("approvals.approved" if approve else "approvals.rejected", name=requester.name, **leave_chat.describe(t, request))
    note = t("approvals.comment", comment=request.decision_comment) if request.decision_comment else ""
    ctx.replies.append(Reply(leave_chat.sentences(said, note), replaces_source=from_button))
    decider, comment_text = ctx.employee.name, request.decision_comment

    def tell_requester(t: Translator) -> Reply:
        key = "approvals.notify_approved" if approve else "approvals.notify_rejected"
        text = t(key, decider=decider, **leave_chat.describe(t, request))
        return Reply(leave_chat.sentences(text, t("approvals.comment", comment=comment_text) if comment_text else ""))

    await ctx.notify(requester, tell_requester, idempotency_key=f"leave:{request.id}:decided", due_at=ctx.now)

    def outcome(t: Translator) -> Reply:
        key = "live.leave_approved" if approve else "live.leave_rejected"
        return Reply(t(key, name=requester.name, decider=decider, **leave_chat.describe(t, request)))

    await ctx.close_live(leave_chat.live_key(request.id), outcome)


async def _already_decided(ctx: ActionContext, request: LeaveRequest, *, from_button: bool) -> None:
    params = leave_chat.describe(ctx.t, request)
    if request.status is LeaveStatus.CANCELLED:
        name = await leave_chat.name_of(ctx.session, request.employee_id)
        ctx.say("approvals.already_cancelled", name=name, replaces_source=from_button, **params)
        return
    if request.approver_id is None:  # a type that needs no approval (sick leave) was approved when filed
        ctx.say("approvals.already_registered", replaces_source=from_button, **params)
        return
    decider = await leave_chat.name_of(ctx.session, request.approver_id)
    key = "approvals.already_approved" if request.status is LeaveStatus.APPROVED else "approvals.already_rejected"
    ctx.say(key, decider=decider, replaces_source=from_button, **params)


def _comment(ctx: ActionContext) -> str:
    """The words after the request id (and the decision word): "reject 42 overlaps the audit" → "overlaps the audit"."""
    ends = [
        int(found["end"])
        for found in ctx.message.entities
        if found.get("entity") in ("request_id", "decision") and isinstance(found.get("end"), int)
    ]
    if not ends:
        return ""
    return ctx.message.text[max(ends):].strip(COMMENT_TRIM)


# --- approving several at once ----------------------------------------------------------------------------------


async def _named_department(ctx: ActionContext) -> str | None:
    """The department the message names ("from the sales team"), if it names exactly one."""
    said = words_of(ctx.message.text)
    named = [name for name in await people.departments(ctx.session) if words_of(name) and Keywords((tuple(words_of(name)),)).count(said)]
    return named[0] if len(named) == 1 else None


MAX_NAMED = 60
MAX_WAITING_SHOWN = 10


def _table_words(key: str) -> frozenset[str]:
    return frozenset(word for phrase in keyword_table(key).phrases for word in phrase)


def _named_after_from(ctx: ActionContext) -> str:
    """Whose requests the message names after "from" ("approve all from the zebra team" → "the zebra team"), as
    typed; "" when it names no one in particular ("from my team") or has no "from"."""
    markers, anyone = _table_words("approvals.keywords.from"), _table_words("approvals.keywords.anyone_of_mine")
    tokens = ctx.message.text.split()
    starts = [at for at, token in enumerate(tokens) if markers.intersection(words_of(token))]
    if not starts:
        return ""
    named = tokens[starts[0] + 1 :]
    if all(word in anyone for token in named for word in words_of(token)):
        return ""
    said = " ".join(named).strip(COMMENT_TRIM + "?!\"'«»“”")
    return said if len(said) <= MAX_NAMED else said[: MAX_NAMED - 1] + "…"  # echoed back: not a whole long message


def _is_named(name: str, said: list[str]) -> bool:
    """Whether the words name this person: their full name or their first name."""
    full = tuple(words_of(name))
    return bool(full) and Keywords((full, full[:1])).count(said) > 0


def _who_is_waiting(requesters: list[Employee]) -> str:
    """Each person once, with their team where they have one: "Alice Able (Sales), Bob Baker" (the first few)."""
    shown = list(dict.fromkeys(f"{who.name} ({who.department})" if who.department else who.name for who in requesters))
    return ", ".join(shown[:MAX_WAITING_SHOWN]) + (", …" if len(shown) > MAX_WAITING_SHOWN else "")


async def _offer_bulk(ctx: ActionContext) -> None:
    waiting = await leave.pending_for(ctx.session, ctx.employee)
    team = await _named_department(ctx)
    named = _named_after_from(ctx) if team is None else ""
    requesters: dict[int, Employee] = {}  # by request id, read only when the message says whose requests
    for request in waiting if team is not None or named else ():
        requester = await ctx.session.get(Employee, request.employee_id)
        assert requester is not None
        requesters[request.id] = requester
    person = ""
    if team is not None:
        waiting = [request for request in waiting if requesters[request.id].department == team]
    elif named and waiting:
        said = words_of(named)
        theirs = [request for request in waiting if _is_named(requesters[request.id].name, said)]
        if not theirs:  # a name nobody waiting has: never taken to mean everyone
            ctx.say("approvals.bulk_nobody_named", named=named, who=_who_is_waiting(list(requesters.values())))
            return
        waiting = theirs
        person = ", ".join(dict.fromkeys(requesters[request.id].name for request in theirs))
    if not waiting:
        ctx.say("approvals.bulk_none_from" if team is not None else "approvals.none", team=team or "")
        return
    ctx.start_form(BULK_FORM, request_ids=[request.id for request in waiting[:MAX_BULK]], team=team or "", person=person)


class BulkApproveForm(Form):
    """The confirmation before approving several requests: Yes approves each through `decide`."""

    name: ClassVar[str] = BULK_FORM
    required: ClassVar[tuple[str, ...]] = ("request_ids",)
    needs_prefill: ClassVar[bool] = True

    def extract(self, ctx: ActionContext, awaiting: str | None) -> dict[str, Any]:
        return {}

    def ask(self, ctx: ActionContext, slot: str) -> None:
        ctx.say("approvals.none")

    async def confirm(self, ctx: ActionContext) -> None:
        ids = [int(value) for value in ctx.slots["request_ids"]]
        team, person = str(ctx.slots.get("team") or ""), str(ctx.slots.get("person") or "")
        count = ctx.t.number(len(ids))
        if team:
            lines = [ctx.t("approvals.bulk_confirm_team", count=count, team=team)]
        elif person:
            lines = [ctx.t("approvals.bulk_confirm_person", count=count, name=person)]
        else:
            lines = [ctx.t("approvals.bulk_confirm", count=count)]
        for request_id in ids:
            request = await leave.get_request(ctx.session, request_id)
            name = await leave_chat.name_of(ctx.session, request.employee_id)
            lines.append(ctx.t("approvals.item", name=name, **leave_chat.describe(ctx.t, request)))
        ctx.replies.append(Reply("\n".join(lines), private=True))

    async def submit(self, ctx: ActionContext) -> None:
        first = len(ctx.replies)
        for value in ctx.slots["request_ids"]:
            await decide(ctx, int(value), approve=True, comment="", from_button=False)
        said = [reply.text for reply in ctx.replies[first:]]
        ctx.replies[first:] = [Reply("\n".join(said))] if said else []


routes.form(BulkApproveForm())
