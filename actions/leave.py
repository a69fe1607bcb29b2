"""Leave in chat: request it (a form with a costed confirmation), see the balance and the requests, cancel one.

Deciding on requests (managers, HR) lives in `actions/approvals.py`, which also answers the `leave:` buttons.
Every rule (dates, balance, overlap, who may do what) is enforced by `storage.leave`; this module only asks,
shows and tells.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from actions.context import ActionContext
from actions.forms import Form, SlotError, choice_button
from actions.i18n import Translator
from actions.payloads import LeaveCancel, LeaveDecision, encode, record_id
from actions.registry import Routes
from actions.replies import Button, Reply, Table
from storage import leave, people
from storage.errors import DomainError, InvalidRequest, PermissionDenied
from storage.leave import LeaveRequest, LeaveStatus
from storage.people import Employee, Role

routes = Routes()

LEAVE_TYPES = tuple(kind.code for kind in leave.DEFAULT_LEAVE_TYPES)
NEEDS_NO_APPROVAL = frozenset(kind.code for kind in leave.DEFAULT_LEAVE_TYPES if not kind.needs_approval)
CANCEL_CONFIRM_FORM = "leave_cancel_confirm"
"""Not an NLU intent: started by the cancel handler or a `leave:cancel:<id>` button once the request is known."""
OTHER_LEAVE_INTENTS = frozenset({"leave_balance", "leave_status", "leave_cancel", "approvals_pending"})
INTERRUPTION_CONFIDENCE = 0.6
"""A confident question about something else mid-form is answered, not read as slot values."""
STATUS_LOOKBACK_DAYS = 60
MAX_LISTED = 10

# Which slots a rule's refusal sends back to the person.
SLOTS_FOR_ERROR = {
    "unknown_leave_type": ("leave_type",),
    "end_before_start": ("end_date",),
    "half_days_clash": ("half_day_start", "half_day_end"),
}
DATE_SLOTS = ("start_date", "end_date")


# --- wording shared with approvals ------------------------------------------------------------------------------


def type_name(t: Translator, code: str) -> str:
    key = f"leave.type.{code}"
    return t(key) if code in LEAVE_TYPES else code


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def span(t: Translator, start: date, end: date, *, today: date | None = None) -> str:
    """'Mon 30 Nov – Fri 4 Dec', or one day; with the years when they aren't this year's."""
    show = t.day_month
    if today is not None and {start.year, end.year} != {today.year}:
        show = t.date
    if start == end:
        return show(start)
    return f"{show(start)} – {show(end)}"


def count(t: Translator, value: Decimal | int, noun: str) -> str:
    """'4 working days', '1 день', '0,5 рабочего дня': the noun agrees with the number in each language."""
    number = Decimal(value)
    plain: Decimal | int = int(number) if number == number.to_integral_value() else number
    category = t.locale.plural_form(plain)
    if category not in ("one", "few", "many"):
        category = "other"
    return t("leave.count", number=t.days(number), unit=t(f"leave.unit.{noun}.{category}"))


class Described(TypedDict):
    """The parameters most leave messages use (typed, so they can't collide with `ctx.say`'s own keywords)."""

    what: str
    dates: str
    days: str
    id: str


def describe(t: Translator, request: LeaveRequest) -> Described:
    """The parameters most leave messages use: what, dates, days, id."""
    return {
        "what": type_name(t, request.leave_type),
        "dates": span(t, request.start_date, request.end_date),
        "days": count(t, request.days, "working_day"),
        "id": str(request.id),
    }


def sentences(*parts: str) -> str:
    return " ".join(part for part in parts if part)


async def decider_for(session: AsyncSession, employee: Employee) -> Employee | None:
    """Who decides this person's leave: their manager, else someone in HR (never the person themselves)."""
    if employee.manager_id is not None:
        manager = await people.employee_with_roles(session, employee.manager_id)
        if manager is not None and manager.active:
            return manager
    for hr in await people.with_role(session, Role.HR):
        if hr.id != employee.id:
            return hr
    return None


async def name_of(session: AsyncSession, employee_id: int | None) -> str:
    if employee_id is None:
        return ""
    found = await session.get(Employee, employee_id)
    return found.name if found is not None else ""


def live_key(request_id: int) -> str:
    """The key of messages whose buttons decide this request (edited to the outcome once it is decided)."""
    return f"leave:{request_id}"


def decision_buttons(t: Translator, request_id: int) -> tuple[Button, Button]:
    return (
        Button(t("approvals.button.approve"), encode(LeaveDecision(request_id, approve=True))),
        Button(t("approvals.button.reject"), encode(LeaveDecision(request_id, approve=False))),
    )


def request_id_of(ctx: ActionContext) -> int | None:
    """The request id the message names, if it can be one ("request 0" or a 30-digit number can't)."""
    value = ctx.message.entity("request_id")
    return record_id(value) if value is not None else None


def dates_of(ctx: ActionContext, name: str) -> list[date]:
    found = []
    for value in ctx.message.values(name):
        try:
            found.append(date.fromisoformat(str(value)[:10]))
        except ValueError:
            continue
    return found


def half_days(slots: dict[str, Any]) -> dict[str, bool]:
    return {"half_day_start": bool(slots.get("half_day_start")), "half_day_end": bool(slots.get("half_day_end"))}


# --- requesting ---------------------------------------------------------------------------------------------------


class LeaveRequestForm(Form):
    name: ClassVar[str] = "leave_request"
    required: ClassVar[tuple[str, ...]] = ("leave_type", "start_date", "end_date")

    def extract(self, ctx: ActionContext, awaiting: str | None) -> dict[str, Any]:
        message = ctx.message
        dates = self._dates(ctx, awaiting)
        answers_dates = awaiting in DATE_SLOTS and bool(dates)
        if (
            awaiting is not None
            and message.intent in OTHER_LEAVE_INTENTS
            and message.confidence >= INTERRUPTION_CONFIDENCE
            and not answers_dates
        ):
            return {}
        updates: dict[str, Any] = {}
        kind = message.entity("leave_type")
        if kind in LEAVE_TYPES:
            updates["leave_type"] = kind
        if dates:
            self._apply_correction(ctx, dates)
        updates.update(dates)
        updates.update(self._half_days(ctx))
        return updates

    @staticmethod
    def _half_days(ctx: ActionContext) -> dict[str, bool]:
        """The `half_day` entity (morning / afternoon / half) as the half-day flags of the rules."""
        found = {str(value) for value in ctx.message.values("half_day")}
        flags: dict[str, bool] = {}
        if found & {"afternoon", "half"}:
            flags["half_day_start"] = True  # off from midday: the first day counts half
        if "morning" in found:
            flags["half_day_end"] = True  # off until midday: the last day counts half
        return flags

    @staticmethod
    def _dates(ctx: ActionContext, awaiting: str | None) -> dict[str, str]:
        """Dates in the message, read against what the form already has and what it is asking for."""
        starts, ends = dates_of(ctx, "start_date"), dates_of(ctx, "end_date")
        if starts and ends:
            return {"start_date": starts[0].isoformat(), "end_date": ends[-1].isoformat()}
        if len(starts) > 1:  # two dates whose roles weren't told apart: in the order they were said
            return {"start_date": starts[0].isoformat(), "end_date": starts[-1].isoformat()}
        if ends:
            return {"end_date": ends[0].isoformat()}
        if not starts:
            return {}
        day = starts[0].isoformat()
        if awaiting == "end_date":
            return {"end_date": day}
        current_start, current_end = ctx.slots.get("start_date"), ctx.slots.get("end_date")
        if current_end and (not current_start or current_start != current_end):
            return {"start_date": day}  # "no, from the 5th": a longer leave (or a known end) keeps its end
        return {"start_date": day, "end_date": day}  # one date: a one-day leave

    @staticmethod
    def _apply_correction(ctx: ActionContext, dates: dict[str, str]) -> None:
        """A new start after the kept end can't be meant as a longer leave: forget the end and ask it again."""
        current_end = ctx.slots.get("end_date")
        if "end_date" not in dates and current_end and dates.get("start_date", "") > current_end:
            ctx.slots.pop("end_date", None)

    async def check(self, ctx: ActionContext) -> None:
        plan = await self.plan(ctx)  # the storage's preview refuses bad dates, overlaps and overspending
        if plan is not None:
            ctx.checked[self.name] = (self.rule_arguments(ctx), plan)

    @staticmethod
    def rule_arguments(ctx: ActionContext) -> dict[str, Any]:
        """The filled slots as the storage rules' keyword arguments."""
        slots = ctx.slots
        return {
            "leave_type": str(slots["leave_type"]),
            "start": date.fromisoformat(slots["start_date"]),
            "end": date.fromisoformat(slots["end_date"]),
            "today": ctx.today,
            **half_days(slots),
        }

    async def plan(self, ctx: ActionContext) -> leave.LeavePreview | None:
        """The storage's costing of the filled slots; a refusal becomes a SlotError on the slots to ask again."""
        slots = ctx.slots
        if any(not slots.get(name) for name in self.required):
            return None
        try:
            return await leave.preview(ctx.session, ctx.employee, **self.rule_arguments(ctx))
        except DomainError as error:
            raise SlotError(SLOTS_FOR_ERROR.get(error.code, DATE_SLOTS), error) from error

    def ask(self, ctx: ActionContext, slot: str) -> None:
        t = ctx.t
        if slot == "leave_type":
            buttons = [choice_button(self, "leave_type", code, capitalized(type_name(t, code))) for code in LEAVE_TYPES]
            ctx.say("leave.ask_type", buttons=buttons)
        elif slot == "end_date" and ctx.slots.get("start_date"):
            start = date.fromisoformat(ctx.slots["start_date"])
            ctx.say("leave.ask_end", start=span(t, start, start, today=ctx.today))
        else:
            ctx.say("leave.ask_dates", what=type_name(t, str(ctx.slots.get("leave_type", "annual"))))

    async def confirm(self, ctx: ActionContext) -> None:
        try:
            plan = self._just_checked(ctx) or await self.plan(ctx)
        except SlotError as problem:
            # The core runs check() right before every confirmation, so this only guards the rare case where its
            # costing can't be reused and the facts moved on meanwhile: say why and ask again.
            for slot in problem.slots:
                ctx.slots.pop(slot, None)
            ctx.say_error(problem.error)
            self.ask(ctx, self.missing(ctx.slots) or "start_date")
            return
        assert plan is not None
        t = ctx.t
        skipped = sorted(day for day in plan.holidays if day.weekday() < 5)
        notes = [
            t("leave.holidays_skipped", holidays=", ".join(f"{t.day_month(day)} ({plan.holidays[day]})" for day in skipped))
            if skipped
            else "",
            t("leave.left_after", remaining=count(t, plan.remaining_after, "day"))
            if plan.remaining_after is not None
            else "",
        ]
        if plan.leave_type.needs_approval:
            decider = await decider_for(ctx.session, ctx.employee)
            notes.append(t("leave.decider_note", name=decider.name) if decider is not None else "")
        else:
            notes.append(t("leave.no_approval_note"))
        summary = t(
            "leave.summary",
            what=capitalized(type_name(t, plan.leave_type.code)),
            dates=span(t, plan.start, plan.end, today=ctx.today),
            days=count(t, plan.days, "working_day"),
        )
        ctx.replies.append(Reply(sentences(summary, *notes, t("leave.confirm_question"))))

    def _just_checked(self, ctx: ActionContext) -> leave.LeavePreview | None:
        """The plan check() made for the same slots just before in this turn (nothing was written since)."""
        checked = ctx.checked.pop(self.name, None)
        if checked is None or any(not ctx.slots.get(name) for name in self.required):
            return None
        arguments, plan = checked
        return plan if arguments == self.rule_arguments(ctx) else None

    async def submit(self, ctx: ActionContext) -> None:
        slots = ctx.slots
        if self.missing(slots) is not None:  # a "yes" to a confirmation that was withdrawn (see confirm)
            raise InvalidRequest("The leave request is incomplete.", code="invalid_request")
        request = await leave.request_leave(ctx.session, ctx.employee, **self.rule_arguments(ctx))
        decider = await decider_for(ctx.session, ctx.employee)
        requester = ctx.employee.name
        if request.status is LeaveStatus.APPROVED:
            ctx.replies.append(Reply(sentences(
                ctx.t("leave.filed_approved", **describe(ctx.t, request)),
                ctx.t("leave.informed", name=decider.name) if decider is not None else "",
                ctx.t("leave.get_well") if request.leave_type == "sick" else "",
            )))
            if decider is not None:
                await ctx.notify(
                    decider,
                    lambda t: Reply(t("leave.manager_info", name=requester, **describe(t, request))),
                    idempotency_key=f"leave:{request.id}:submitted",
                    due_at=ctx.now,
                )
            return
        if decider is None:
            ctx.say("leave.filed_pending_hr", **describe(ctx.t, request))
            return
        ctx.say("leave.filed_pending", decider=decider.name, **describe(ctx.t, request))
        await ctx.notify(
            decider,
            lambda t: Reply(
                t("leave.manager_request", name=requester, **describe(t, request)),
                decision_buttons(t, request.id),
                live_key=live_key(request.id),
            ),
            idempotency_key=f"leave:{request.id}:submitted",
            due_at=ctx.now,
        )


routes.form(LeaveRequestForm())


# --- balance and status -------------------------------------------------------------------------------------------


@routes.intent("leave_balance")
async def show_balance(ctx: ActionContext) -> None:
    t = ctx.t
    year = ctx.today.year
    rows = await leave.balances(ctx.session, ctx.employee, year)
    wanted = ctx.message.entity("leave_type")
    # Generic words for leave ("ta'til", "άδεια") read as annual, so only a more specific type narrows the table.
    if wanted in LEAVE_TYPES and wanted != "annual" and any(row.leave_type == wanted for row in rows):
        rows = [row for row in rows if row.leave_type == wanted]
    if not rows:
        ctx.say("leave.balance_none", private=True)
        return
    ctx.say("leave.balance_intro", year=str(year), blocks=(balance_table(t, rows),), private=True)


def balance_table(t: Translator, rows: list[leave.LeaveBalance], *, title: str = "") -> Table:
    """A person's balances, one row per leave type (the balance answer, and the home page)."""
    return Table(
        header=(t("leave.col.type"), t("leave.col.entitled"), t("leave.col.taken"), t("leave.col.pending"), t("leave.col.remaining")),
        rows=tuple(
            (
                capitalized(type_name(t, row.leave_type)),
                t.days(row.entitled + row.carried_over),
                t.days(row.taken),
                t.days(row.pending),
                t.days(row.remaining),
            )
            for row in rows
        ),
        title=title,
    )


@routes.intent("leave_status")
async def show_status(ctx: ActionContext) -> None:
    requests = await leave.requests_of(ctx.session, ctx.employee)
    recent = [
        request
        for request in requests
        if request.status is LeaveStatus.PENDING or (ctx.today - request.end_date).days <= STATUS_LOOKBACK_DAYS
    ]
    wanted_id = request_id_of(ctx)
    if wanted_id is not None:
        recent = [request for request in requests if request.id == wanted_id]
    if not recent:
        ctx.say("leave.status_none", private=True)
        return
    recent = sorted(recent, key=lambda request: request.start_date)[-MAX_LISTED:]
    ctx.say("leave.status_intro", blocks=(await requests_table(ctx, recent),), private=True)


async def requests_table(ctx: ActionContext, requests: list[LeaveRequest], *, title: str = "") -> Table:
    """The speaker's requests with their status and who decides or decided (the status answer, the home page)."""
    t = ctx.t
    decider = await decider_for(ctx.session, ctx.employee)
    rows = []
    for request in requests:
        if request.status is LeaveStatus.PENDING:
            who = decider.name if decider is not None else t("leave.hr")
        elif request.approver_id is not None:
            who = await name_of(ctx.session, request.approver_id)
        elif request.status is LeaveStatus.APPROVED:
            who = t("leave.no_approval_needed")
        else:
            who = "—"
        rows.append(
            (
                f"#{request.id}",
                capitalized(type_name(t, request.leave_type)),
                span(t, request.start_date, request.end_date),
                t.days(request.days),
                t(f"leave.status.{request.status.value}"),
                who,
            )
        )
    return Table(
        header=("#", t("leave.col.type"), t("leave.col.dates"), t("leave.col.days"), t("leave.col.status"), t("leave.col.decider")),
        rows=tuple(rows),
        title=title,
    )


# --- cancelling ---------------------------------------------------------------------------------------------------


def _cancellable(request: LeaveRequest, today: date) -> bool:
    return request.status is LeaveStatus.PENDING or (request.status is LeaveStatus.APPROVED and request.start_date > today)


@routes.intent("leave_cancel")
async def cancel_leave(ctx: ActionContext) -> None:
    candidates = sorted(
        (r for r in await leave.requests_of(ctx.session, ctx.employee) if _cancellable(r, ctx.today)),
        key=lambda request: request.start_date,
    )
    if not candidates:
        ctx.say("leave.cancel_none")
        return
    matches, filtered = _matching(ctx, candidates)
    if len(matches) == 1 and (filtered or len(candidates) == 1):
        ctx.start_form(CANCEL_CONFIRM_FORM, request_id=matches[0].id)
        return
    listed = matches if matches else candidates
    buttons = [
        Button(f"#{r.id} {capitalized(type_name(ctx.t, r.leave_type))}, {span(ctx.t, r.start_date, r.end_date)}", encode(LeaveCancel(r.id)))
        for r in listed[:MAX_LISTED]
    ]
    ctx.say("leave.cancel_choose" if matches else "leave.cancel_no_match", buttons=buttons)


def _matching(ctx: ActionContext, candidates: list[LeaveRequest]) -> tuple[list[LeaveRequest], bool]:
    """The candidates the message points at (by id, then dates, then type), and whether it pointed at all."""
    wanted_id = request_id_of(ctx)
    if wanted_id is not None:
        return [r for r in candidates if r.id == wanted_id], True
    matches, filtered = candidates, False
    days = dates_of(ctx, "start_date") + dates_of(ctx, "end_date")
    if days:
        first, last = min(days), max(days)
        matches = [r for r in matches if r.start_date <= last and r.end_date >= first]
        filtered = True
    kind = ctx.message.entity("leave_type")
    if kind in LEAVE_TYPES:
        # Soft: a generic word for leave often reads as "annual", so only narrow when something remains.
        narrowed = [r for r in matches if r.leave_type == kind]
        if narrowed:
            matches, filtered = narrowed, True
    return matches, filtered


@routes.button(LeaveCancel)
async def choose_cancel(ctx: ActionContext, press: LeaveCancel) -> None:
    """A `leave:cancel:<id>` button: confirm before withdrawing."""
    request = await leave.get_request(ctx.session, press.request_id)
    if request.employee_id != ctx.employee.id:
        raise PermissionDenied("Not the requester.", code="not_your_request", request_id=press.request_id)
    if not _cancellable(request, ctx.today):
        ctx.say("leave.cancel_too_late", replaces_source=True, **describe(ctx.t, request), status=ctx.t(f"leave.status.{request.status.value}"))
        return
    ctx.start_form(CANCEL_CONFIRM_FORM, request_id=request.id)


class CancelLeaveForm(Form):
    name: ClassVar[str] = CANCEL_CONFIRM_FORM
    required: ClassVar[tuple[str, ...]] = ("request_id",)
    needs_prefill: ClassVar[bool] = True

    def extract(self, ctx: ActionContext, awaiting: str | None) -> dict[str, Any]:
        wanted = request_id_of(ctx)
        return {"request_id": wanted} if wanted is not None else {}

    async def check(self, ctx: ActionContext) -> None:
        if ctx.slots.get("request_id") is None:
            return
        request_id = int(ctx.slots["request_id"])
        try:
            request = await leave.get_request(ctx.session, request_id)
        except DomainError as error:
            raise SlotError(("request_id",), error) from error
        if request.employee_id != ctx.employee.id:
            raise SlotError(("request_id",), PermissionDenied("Not the requester.", code="not_your_request", request_id=request_id))

    def ask(self, ctx: ActionContext, slot: str) -> None:
        ctx.say("leave.cancel_which")

    async def confirm(self, ctx: ActionContext) -> None:
        try:
            request = await leave.get_request(ctx.session, int(ctx.slots["request_id"]))
        except DomainError as error:  # check() ran just before, so only a request removed meanwhile gets here
            ctx.slots.pop("request_id", None)
            ctx.say_error(error)
            self.ask(ctx, "request_id")
            return
        key = "leave.cancel_confirm_approved" if request.status is LeaveStatus.APPROVED else "leave.cancel_confirm_pending"
        ctx.say(key, **describe(ctx.t, request))

    async def submit(self, ctx: ActionContext) -> None:
        before = await leave.get_request(ctx.session, int(ctx.slots["request_id"]))
        was = before.status
        request = await leave.cancel(ctx.session, ctx.employee, before.id, today=ctx.today, now=ctx.now)
        t = ctx.t
        left = ""
        kind = await leave.get_leave_type(ctx.session, request.leave_type)
        if kind.yearly_allowance is not None:
            current = await leave.balance(ctx.session, ctx.employee, request.leave_type, request.start_date.year)
            left = t("leave.balance_now", remaining=count(t, current.remaining, "day"), what=type_name(t, request.leave_type))
        ctx.replies.append(Reply(sentences(t("leave.cancelled", **describe(t, request)), left)))
        requester = ctx.employee.name
        if was is LeaveStatus.PENDING:
            await ctx.close_live(
                live_key(request.id), lambda t: Reply(t("approvals.already_cancelled", name=requester, **describe(t, request)))
            )
        decider = await decider_for(ctx.session, ctx.employee)
        if decider is not None and was in leave.ACTIVE_STATUSES:
            await ctx.notify(
                decider,
                lambda t: Reply(t("leave.manager_withdrawn", name=requester, **describe(t, request))),
                idempotency_key=f"leave:{request.id}:cancelled",
                due_at=ctx.now,
            )


routes.form(CancelLeaveForm())
