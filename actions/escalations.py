"""HR escalations in chat: an employee hands a matter to a person in HR, and the two write to each other through
the assistant until HR (or the employee) closes the case.

Buttons: `hr:reply:<id>` (HR answers the employee), `hr:answer:<id>` (the employee answers HR), `hr:close:<id>`.
Both reply buttons open the `hr_reply` form for the text; the storage rules decide who may see, write to or close
a case, and in which direction a message goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actions.context import ActionContext
from actions.forms import CONFIRM, Form
from actions.i18n import Translator
from actions.payloads import CaseAction, CaseVerb, encode
from actions.registry import Routes
from actions.replies import Button, Reply
from storage import escalations, people
from storage.escalations import Direction, Escalation, EscalationMessage, EscalationStatus
from storage.people import Employee, Role

routes = Routes()

MIN_DETAIL_CHARS = 35
"""A bare request for a person ("I want to talk to HR") is short; a longer first message usually says what the
matter is, so it becomes the message to HR (shown for confirmation, where the person can still add to it)."""
SUBJECT_CHARS = 80
ADDS_TO_TEXT = frozenset({"out_of_scope", "hr_escalate"})
"""Intents that, typed while a message waits for confirmation, are taken as more text for it (any other request
is answered as usual and the confirmation asked again)."""
MIN_ADDED_WORDS = 4
"""A short reply the NLU could not place ('send it', 'ok go') is an unsure yes or no, not more text for HR."""


class EscalateForm(Form):
    name = "hr_escalate"
    required = ("message",)
    free_text = frozenset({"message"})

    def extract(self, ctx: ActionContext, awaiting: str | None) -> dict[str, Any]:
        text = ctx.message.text.strip()
        if awaiting == "message":
            return {"message": text}
        if awaiting == CONFIRM:
            return _added_text(ctx, "message")
        if awaiting is None and ctx.message.intent == self.name and len(text) >= MIN_DETAIL_CHARS:
            return {"message": text}
        return {}

    def ask(self, ctx: ActionContext, slot: str) -> None:
        ctx.say("escalations.ask_message")

    async def confirm(self, ctx: ActionContext) -> None:
        case = await _open_case_of(ctx)
        if case is not None:
            ctx.say("escalations.confirm_add", message=ctx.slots["message"], id=case.id)
        else:
            ctx.say("escalations.confirm", message=ctx.slots["message"])

    async def submit(self, ctx: ActionContext) -> None:
        message = str(ctx.slots["message"])
        case = await _open_case_of(ctx)
        if case is not None:
            # One matter, one case: a second request while HR still has the first goes on the same thread.
            sent = await escalations.reply(ctx.session, ctx.employee, case.id, message, now=ctx.now)
            await _tell(ctx, await _hr_of(ctx, case), case, sent, "escalations.employee_replied", buttons=hr_buttons)
            ctx.say("escalations.added", id=case.id)
            return
        case = await escalations.open_escalation(ctx.session, ctx.employee, subject=_subject(message), message=message, now=ctx.now)
        team = await people.with_role(ctx.session, Role.HR)
        await _tell(ctx, team, case, case.messages[0], "escalations.hr_new_case", buttons=hr_buttons)
        ctx.say("escalations.opened" if team else "escalations.opened_no_hr", id=case.id)


class ReplyForm(Form):
    """The text of one message in a case, from HR to the employee or back; started by a Reply button with the
    case prefilled (`case_id`, and `to` = whom it goes to, for the questions)."""

    name = "hr_reply"
    required = ("case_id", "text")
    free_text = frozenset({"text"})
    confirm_first = False  # typing the answer after pressing Reply is the decision to send it
    needs_prefill = True

    def extract(self, ctx: ActionContext, awaiting: str | None) -> dict[str, Any]:
        if awaiting == "text":
            return {"text": ctx.message.text.strip()}
        return {}

    def ask(self, ctx: ActionContext, slot: str) -> None:
        ctx.say("escalations.ask_reply", id=ctx.slots.get("case_id", ""), to=ctx.slots.get("to", ""))

    async def submit(self, ctx: ActionContext) -> None:
        case_id = int(ctx.slots["case_id"])
        sent = await escalations.reply(ctx.session, ctx.employee, case_id, str(ctx.slots["text"]), now=ctx.now)
        case = await escalations.get_escalation(ctx.session, ctx.employee, case_id)
        if sent.direction is Direction.TO_EMPLOYEE:
            employee = await people.get_employee(ctx.session, case.employee_id)
            await _tell(ctx, [employee], case, sent, "escalations.hr_replied", buttons=_employee_buttons)
            ctx.say("escalations.reply_sent", name=employee.name)
        else:
            await _tell(ctx, await _hr_of(ctx, case), case, sent, "escalations.employee_replied", buttons=hr_buttons)
            ctx.say("escalations.answer_sent")


routes.form(EscalateForm())
routes.form(ReplyForm())


@routes.button(CaseAction)
async def hr_button(ctx: ActionContext, press: CaseAction) -> None:
    """`hr:reply:<id>` / `hr:answer:<id>` start the reply form; `hr:close:<id>` closes the case."""
    if press.verb is CaseVerb.CLOSE:
        await _close(ctx, press.case_id)
    else:
        await _start_reply(ctx, press.case_id)


async def _start_reply(ctx: ActionContext, case_id: int) -> None:
    case = await escalations.get_escalation(ctx.session, ctx.employee, case_id)
    if case.status is EscalationStatus.CLOSED:
        ctx.say("error.escalation_closed", escalation_id=case.id)
        return
    if case.employee_id == ctx.employee.id:
        to = ctx.t("escalations.hr_team")
    else:
        to = (await people.get_employee(ctx.session, case.employee_id)).name
    ctx.start_form("hr_reply", case_id=case.id, to=to)


async def _close(ctx: ActionContext, case_id: int) -> None:
    case = await escalations.close(ctx.session, ctx.employee, case_id, now=ctx.now)
    if case.employee_id == ctx.employee.id:
        await _tell(ctx, await _hr_of(ctx, case), case, None, "escalations.employee_closed")
        ctx.say("escalations.closed_by_you", id=case.id, replaces_source=True)
        return
    employee = await people.get_employee(ctx.session, case.employee_id)
    await _tell(ctx, [employee], case, None, "escalations.hr_closed")
    ctx.say("escalations.closed", id=case.id, name=employee.name, replaces_source=True)


async def _open_case_of(ctx: ActionContext) -> Escalation | None:
    """The asker's most recent case that HR has not closed yet."""
    cases = await escalations.open_escalations(ctx.session, employee=ctx.employee)
    return cases[-1] if cases else None


async def _hr_of(ctx: ActionContext, case: Escalation) -> list[Employee]:
    """Who in HR hears from the employee: the person who took the case, or all of HR until someone has."""
    return await people.handler_or_team(ctx.session, case.assigned_hr_id, Role.HR)


async def _tell(
    ctx: ActionContext,
    recipients: list[Employee],
    case: Escalation,
    sent: EscalationMessage | None,
    key: str,
    *,
    buttons: Callable[[Translator, int], tuple[Button, ...]] | None = None,
) -> None:
    event = f"message:{sent.id}" if sent is not None else "closed"
    text = sent.text if sent is not None else ""
    for person in recipients:
        if person.id == ctx.employee.id:
            continue

        def build(t: Translator) -> Reply:
            return Reply(
                t(key, id=case.id, name=ctx.employee.name, text=text, subject=case.subject),
                buttons=buttons(t, case.id) if buttons else (),
                private=True,
            )

        await ctx.notify(person, build, idempotency_key=f"escalation:{case.id}:{event}:{person.id}")


def hr_buttons(t: Translator, case_id: int) -> tuple[Button, ...]:
    return (
        Button(t("escalations.button_reply"), encode(CaseAction(CaseVerb.REPLY, case_id))),
        Button(t("escalations.button_close"), encode(CaseAction(CaseVerb.CLOSE, case_id))),
    )


def _employee_buttons(t: Translator, case_id: int) -> tuple[Button, ...]:
    return (Button(t("escalations.button_reply"), encode(CaseAction(CaseVerb.ANSWER, case_id))),)


def _added_text(ctx: ActionContext, slot: str) -> dict[str, Any]:
    """While waiting for yes/no, more free text is added to the message (yes/no/cancel are left to the core)."""
    text = ctx.message.text.strip()
    if ctx.message.intent not in ADDS_TO_TEXT or not text:
        return {}
    if ctx.message.intent == "out_of_scope" and len(text.split()) < MIN_ADDED_WORDS:
        return {}
    return {slot: f"{ctx.slots.get(slot, '')}\n{text}".strip()}


def _subject(message: str) -> str:
    first_line = message.strip().splitlines()[0] if message.strip() else ""
    return first_line if len(first_line) <= SUBJECT_CHARS else first_line[: SUBJECT_CHARS - 1].rstrip() + "…"
