"""The dialogue core: who is speaking, what they mean, what to do, what to answer — on any channel.

One turn is ONE transaction: read the person (with their roles) and their conversation in one statement, drop a
retried delivery, understand the text, run the form or handler, queue notifications and save the conversation
with its version. If another process saved the same conversation meanwhile, the turn is re-run from the start on
the fresh state, so nothing is lost or applied twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from actions.context import ActionContext, Understanding
from actions.forms import CONFIRM, Form, SlotError, yes_no_buttons
from actions.i18n import Translator
from actions.registry import Routes
from actions.replies import Button, Reply
from bot.messages import Incoming
from storage import conversations
from storage.base import utcnow
from storage.conversations import ConversationKey
from storage.database import Database
from storage.errors import DomainError, StaleState

log = logging.getLogger(__name__)

MIN_CONFIDENCE = 0.35
"""Below this the intent is treated as not understood."""
FAILURES_BEFORE_HUMAN = 2
MAX_ATTEMPTS = 4
CONTROL_INTENTS = frozenset({"affirm", "deny", "cancel"})


class Parser(Protocol):
    def parse(self, text: str, *, today: date | None = None, language_hint: str | None = None) -> dict[str, Any]: ...


class Dialogue:
    def __init__(
        self,
        database: Database,
        parser: Parser,
        routes: Routes,
        *,
        clock: Callable[[], datetime] = utcnow,
        default_language: str = "en",
        timezone: str = "UTC",
    ) -> None:
        self.database = database
        self.parser = parser
        self.routes = routes
        self.clock = clock
        self.default_language = default_language
        self.timezone = timezone

    async def handle(self, incoming: Incoming) -> list[Reply]:
        now = incoming.at or self.clock()
        text = incoming.text
        key = ConversationKey(incoming.platform, incoming.chat_id, incoming.user_id)
        for _ in range(MAX_ATTEMPTS):
            try:
                async with self.database.transaction() as session:
                    opening = await conversations.open_turn(session, key)
                    if opening is None:
                        return [self._not_linked(text, now)]
                    if incoming.event_id and not await conversations.first_sighting(
                        session, incoming.platform, incoming.event_id, now=now
                    ):
                        return []
                    employee, snapshot = opening.employee, opening.snapshot
                    today = self._local_today(now, employee.timezone)
                    hint = str(snapshot.data.get("lang") or employee.language or self.default_language)
                    understanding = self._understand(incoming, text, today, hint)
                    ctx = ActionContext(
                        session=session,
                        employee=employee,
                        t=Translator(understanding.language),
                        now=now,
                        today=today,
                        private_chat=incoming.private,
                        message=understanding,
                    )
                    state = dict(snapshot.data)
                    await self._turn(ctx, state, incoming)
                    state["lang"] = ctx.language
                    snapshot.data = state
                    await conversations.save(session, snapshot, now=now)
                return self._deliverable(ctx, incoming)
            except StaleState:
                log.info("conversation changed meanwhile; re-running the turn")
        return [Reply(Translator(self.default_language)("core.busy"))]

    def _local_today(self, now: datetime, timezone: str) -> date:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(self.timezone)
        return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()

    def _understand(self, incoming: Incoming, text: str, today: date, language_hint: str) -> Understanding:
        if incoming.payload is not None:
            return Understanding(text=text, intent="button", confidence=1.0, language=language_hint)
        parse = self.parser.parse(text, today=today, language_hint=language_hint)
        understanding = Understanding.from_parse(parse)
        if understanding.confidence < MIN_CONFIDENCE:
            return Understanding(understanding.text, "out_of_scope", understanding.confidence, understanding.entities, understanding.language)
        return understanding

    def _not_linked(self, text: str, now: datetime) -> Reply:
        language = self.default_language
        if text.strip():
            language = str(self.parser.parse(text, today=now.date(), language_hint=self.default_language).get("language", language))
        return Reply(Translator(language)("core.not_linked"))

    def _deliverable(self, ctx: ActionContext, incoming: Incoming) -> list[Reply]:
        replies = list(ctx.replies)
        if not incoming.private and any(reply.private for reply in replies):
            replies.insert(0, Reply(ctx.t("core.answering_privately")))
        return replies

    # --- one turn --------------------------------------------------------------------------------------------

    async def _turn(self, ctx: ActionContext, state: dict[str, Any], incoming: Incoming) -> None:
        if incoming.payload is not None:
            await self._button(ctx, state, incoming.payload)
            return
        intent = ctx.message.intent
        stack: list[dict[str, Any]] = state.setdefault("forms", [])
        if stack:
            await self._in_form(ctx, state, intent)
            return
        await self._dispatch(ctx, state, intent)

    async def _dispatch(self, ctx: ActionContext, state: dict[str, Any], intent: str) -> None:
        """An intent outside any form (or interrupting one)."""
        if intent in self.routes.forms:
            state["fails"] = 0
            await self._start_form(ctx, state, self.routes.forms[intent])
        elif intent in self.routes.intents:
            state["fails"] = 0
            if await self._guarded(ctx, self.routes.intents[intent](ctx)):
                await self._follow_up(ctx, state)
        elif intent in ("affirm", "deny"):
            ctx.say("core.nothing_to_confirm")
        elif intent == "cancel":
            ctx.say("core.nothing_to_cancel")
        else:
            await self._fallback(ctx, state)

    async def _fallback(self, ctx: ActionContext, state: dict[str, Any]) -> None:
        fails = int(state.get("fails", 0)) + 1
        state["fails"] = fails
        if fails >= FAILURES_BEFORE_HUMAN and "hr_escalate" in self.routes.forms:
            ctx.say(
                "core.offer_human",
                buttons=(Button(ctx.t("core.button_human"), "intent:hr_escalate"), Button(ctx.t("core.button_help"), "intent:help")),
            )
        else:
            ctx.say("core.not_understood")

    @staticmethod
    async def _guarded(ctx: ActionContext, work: Awaitable[None]) -> bool:
        """Run a handler in a savepoint: a rule's refusal is told to the person and undoes its partial writes."""
        try:
            async with ctx.session.begin_nested():
                await work
        except DomainError as error:
            ctx.say_error(error)
            return False
        return True

    async def _follow_up(self, ctx: ActionContext, state: dict[str, Any]) -> None:
        if ctx.follow_up is None:
            return
        name, prefill = ctx.follow_up
        ctx.follow_up = None
        await self._start_form(ctx, state, self.routes.forms[name], prefill)

    async def _start_form(self, ctx: ActionContext, state: dict[str, Any], form: Form, prefill: dict[str, Any] | None = None) -> None:
        stack: list[dict[str, Any]] = state.setdefault("forms", [])
        if stack and stack[-1]["name"] == form.name and (prefill or {}).items() <= stack[-1]["slots"].items():
            # The same form for the same thing is already open (a button pressed twice): ask its question again
            # rather than open a second copy that would take the person's next message as a second answer.
            frame = stack[-1]
            ctx.slots = frame["slots"]
            await self._prompt(ctx, state, form, frame)
            return
        frame: dict[str, Any] = {"name": form.name, "slots": {}, "awaiting": None}
        stack.append(frame)
        updates = dict(prefill or {})
        updates.update(form.extract(self._with_slots(ctx, frame), None))
        await self._advance(ctx, state, form, frame, updates)

    async def _in_form(self, ctx: ActionContext, state: dict[str, Any], intent: str) -> None:
        frame = state["forms"][-1]
        form = self.routes.forms[frame["name"]]
        awaiting = frame.get("awaiting")
        self._with_slots(ctx, frame)
        if intent == "cancel" and not (awaiting in form.free_text and ctx.message.confidence < 0.8):
            await self._close_form(ctx, state, said="core.form_cancelled")
            return
        if awaiting in form.free_text:
            await self._advance(ctx, state, form, frame, form.extract(ctx, awaiting))
            return
        updates = form.extract(ctx, awaiting)
        if awaiting == CONFIRM and intent == "affirm" and not updates:
            await self._submit(ctx, state, form, frame)
        elif awaiting == CONFIRM and intent == "deny" and not updates:
            await self._close_form(ctx, state, said="core.form_not_done")
        elif updates or intent == form.name:
            await self._advance(ctx, state, form, frame, updates)
        elif intent in CONTROL_INTENTS or intent not in {*self.routes.intents, *self.routes.forms}:
            ctx.say("core.form_reask" if intent != "out_of_scope" else "core.not_understood_in_form")
            await self._prompt(ctx, state, form, frame)
        else:
            # Another request in the middle of a form: answer it, then come back to the form.
            await self._dispatch(ctx, state, intent)
            if state["forms"] and state["forms"][-1] is frame:
                ctx.slots = frame["slots"]
                ctx.say("core.form_resume")
                await self._prompt(ctx, state, form, frame)

    async def _advance(self, ctx: ActionContext, state: dict[str, Any], form: Form, frame: dict[str, Any], updates: dict[str, Any]) -> None:
        slots: dict[str, Any] = frame["slots"]
        slots.update({name: value for name, value in updates.items() if value not in (None, "")})
        ctx.slots = slots
        await self._check(ctx, form, frame)
        await self._prompt(ctx, state, form, frame, checked=True)

    @staticmethod
    async def _check(ctx: ActionContext, form: Form, frame: dict[str, Any]) -> None:
        """Validate the slots; rejected ones are forgotten (and so asked again) with the reason told."""
        try:
            await form.check(ctx)
        except SlotError as problem:
            for slot in problem.slots:
                frame["slots"].pop(slot, None)
            ctx.say_error(problem.error)

    async def _prompt(
        self, ctx: ActionContext, state: dict[str, Any], form: Form, frame: dict[str, Any], *, checked: bool = False
    ) -> None:
        if not checked and form.missing(frame["slots"]) is None:
            # Re-showing a summary later (after an interruption): the facts may have changed meanwhile.
            await self._check(ctx, form, frame)
        missing = form.missing(frame["slots"])
        if missing is not None:
            frame["awaiting"] = missing
            form.ask(ctx, missing)
            return
        if not form.confirm_first:
            await self._submit(ctx, state, form, frame)
            return
        frame["awaiting"] = CONFIRM
        before = len(ctx.replies)
        await form.confirm(ctx)
        if len(ctx.replies) > before:
            last = ctx.replies[-1]
            ctx.replies[-1] = Reply(last.text, last.buttons + yes_no_buttons(ctx), last.blocks, last.private)

    async def _submit(self, ctx: ActionContext, state: dict[str, Any], form: Form, frame: dict[str, Any]) -> None:
        ctx.checked.clear()  # what a check worked out no longer holds once the submit writes
        try:
            async with ctx.session.begin_nested():
                await form.submit(ctx)
        except DomainError as error:
            ctx.say_error(error)
            ctx.say("core.form_fix_or_cancel")
            return
        await self._close_form(ctx, state, said=None)

    async def _close_form(self, ctx: ActionContext, state: dict[str, Any], *, said: str | None) -> None:
        state["forms"].pop()
        if said:
            ctx.say(said)
        if state["forms"]:
            frame = state["forms"][-1]
            form = self.routes.forms[frame["name"]]
            self._with_slots(ctx, frame)
            ctx.say("core.form_resume")
            await self._prompt(ctx, state, form, frame)

    @staticmethod
    def _with_slots(ctx: ActionContext, frame: dict[str, Any]) -> ActionContext:
        ctx.slots = frame["slots"]
        return ctx

    async def _button(self, ctx: ActionContext, state: dict[str, Any], payload: str) -> None:
        kind, _, rest = payload.partition(":")
        stack: list[dict[str, Any]] = state.setdefault("forms", [])
        if kind == "form":
            if not stack or stack[-1].get("awaiting") != CONFIRM:
                ctx.say("core.button_expired")
                return
            frame = stack[-1]
            form = self.routes.forms[frame["name"]]
            self._with_slots(ctx, frame)
            if rest == "yes":
                await self._submit(ctx, state, form, frame)
            else:
                await self._close_form(ctx, state, said="core.form_not_done")
        elif kind == "slot":
            form_name, slot, value = (rest.split(":", 2) + ["", ""])[:3]
            if not stack or stack[-1]["name"] != form_name or not slot:
                ctx.say("core.button_expired")
                return
            frame = stack[-1]
            self._with_slots(ctx, frame)
            await self._advance(ctx, state, self.routes.forms[form_name], frame, {slot: value})
        elif kind == "intent":
            await self._dispatch(ctx, state, rest)
        elif kind in self.routes.buttons:
            if await self._guarded(ctx, self.routes.buttons[kind](ctx, rest.split(":") if rest else [])):
                await self._follow_up(ctx, state)
        else:
            ctx.say("core.button_expired")
