"""The dialogue core: who is speaking, what they mean, what to do, what to answer — on any channel.

One turn is ONE transaction: read the person (with their roles), their conversation and whether this delivery
was handled before in one statement, understand the text, run the form or handler, queue notifications, record
the replies with the delivery's event id and save the conversation with its version. If another process saved the
same conversation meanwhile, the turn is re-run from the start on the fresh state, so nothing is lost or applied
twice; a retried delivery gets the replies recorded the first time and runs nothing.

The result is a `Turn`: each reply with its destination (this chat, or the person's private chat), for the router
(bot/router.py) to deliver. Any unexpected error rolls the turn back and becomes an apology quoting an error id.
"""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from actions.context import ActionContext, Understanding
from actions.forms import CONFIRM, Form, SlotError, bind_choices, offered_choice, renew_instance, yes_no_buttons
from actions.i18n import LANGUAGES, Translator, locale_for
from actions.payloads import FormAnswer, IntentShortcut, SlotChoice, decode, encode
from actions.registry import Routes
from actions.replies import Button, Reply
from bot import home
from bot.commands import command_in
from bot.messages import Destination, Incoming, Outgoing, Turn
from storage import conversations
from storage.base import utcnow
from storage.conversations import ConversationKey, Opening
from storage.database import Database
from storage.errors import DomainError, StaleState

log = logging.getLogger(__name__)

MIN_CONFIDENCE = 0.35
"""Below this the intent is treated as not understood."""
FAILURES_BEFORE_HUMAN = 2
MAX_ATTEMPTS = 4
NOT_LINKED = "core.not_linked"
CONTROL_INTENTS = frozenset({"affirm", "deny", "cancel"})


def _in_place_of_the_question(replies: list[Reply], answered: int) -> None:
    """The first reply to a form's button (`replies[answered]`) replaces the question that carried it, so its
    buttons, answered now, can't be pressed again. The router leaves a message with live buttons alone (deciding
    its record edits it), whatever this says."""
    if answered < len(replies):
        replies[answered] = replace(replies[answered], replaces_source=True)


class Parser(Protocol):
    def parse(self, text: str, *, today: date | None = None, language_hint: str | None = None) -> dict[str, Any]: ...


@dataclass
class _Known:
    """The best guess so far at the language of a turn: its apology (if it fails) is written in it."""

    language: str


def _described(error: BaseException) -> str:
    """An exception and its causes as type names and stack frames, without their messages."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < 5:
        seen.add(id(current))
        kind = type(current)
        parts.append(f"{kind.__module__}.{kind.__qualname__}\n" + "".join(traceback.format_tb(current.__traceback__)))
        current = current.__cause__ or current.__context__
    return "\ncaused by ".join(parts)


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

    async def handle(self, incoming: Incoming, *, not_linked: str = NOT_LINKED, home_pages: bool = False) -> Turn:
        """Answer one message. Never raises for a fault of the turn (the error boundary): anything unexpected rolls
        the turn back, is logged with an error id (no message text) and is answered with an apology quoting it.
        `not_linked`: the message key that answers someone not linked (why, where the channel knows better).
        `home_pages`: the platform has a home page per person (Slack's App Home): a turn that changed something
        stores a refresh of the speaker's page with its changes (bot/home.py)."""
        now = incoming.at or self.clock()
        known = _Known(self.default_language)
        try:
            for _ in range(MAX_ATTEMPTS):
                try:
                    return await self._attempt(incoming, now, known, not_linked, home_pages)
                except StaleState:
                    log.info("conversation changed meanwhile; re-running the turn")
            return Turn((Outgoing(Reply(Translator(known.language)("core.busy"))),), known.language, intent="busy")
        except Exception as error:  # noqa: BLE001 - the one error boundary of a turn
            return self.apology(error, known.language)

    async def _attempt(self, incoming: Incoming, now: datetime, known: _Known, not_linked: str, home_pages: bool = False) -> Turn:
        key = ConversationKey(incoming.platform, incoming.chat_id, incoming.user_id)
        async with self.database.transaction() as session:
            opening = await conversations.open_turn(session, key, event_id=incoming.event_id)
            if opening is not None:
                return await self._serve(session, opening, incoming, now, known, home_pages)
            # Not linked: the retry of a delivery already answered is dropped (there is nothing to re-send that
            # matters, and a stranger should not make us work twice).
            if incoming.event_id and not await conversations.first_sighting(session, key, incoming.event_id, now=now):
                return Turn((), known.language, replayed=True)
        return self.stranger(incoming.text, now, not_linked, language=incoming.language)  # after the commit: the NLU needs no lock

    async def _serve(
        self, session: AsyncSession, opening: Opening, incoming: Incoming, now: datetime, known: _Known, home_pages: bool = False
    ) -> Turn:
        employee, snapshot, identity = opening.employee, opening.snapshot, opening.identity
        known.language = str(snapshot.data.get("lang") or employee.language or self.default_language)
        if opening.seen is not None:
            if opening.seen.replies is None:  # recorded without replies (before they were kept): drop the retry
                return Turn((), known.language, None, employee.id, identity.id, identity.private_address, replayed=True)
            return Turn.replay(opening.seen.replies, employee_id=employee.id, identity_id=identity.id, private_chat=identity.private_address)
        today = self._local_today(now, employee.timezone)
        understanding = self._understand(incoming, incoming.text, today, known.language)
        known.language = understanding.language
        ctx = ActionContext(
            session=session,
            employee=employee,
            t=Translator(understanding.locale),
            now=now,
            today=today,
            private_chat=incoming.private,
            message=understanding,
        )
        state = dict(snapshot.data)
        await self._turn(ctx, state, incoming)
        state["lang"] = ctx.language
        snapshot.data = state
        turn = Turn(
            self._outgoing(ctx, incoming), ctx.language, understanding.intent, employee.id, identity.id, identity.private_address,
            unreachable=identity.unreachable, queued=ctx.queued,
        )
        if incoming.event_id and not await conversations.first_sighting(
            session, snapshot.key, incoming.event_id, now=now, replies=turn.record()
        ):
            # The same delivery was answered meanwhile (another process, another replica): undo this run; the next
            # attempt finds the recorded replies and re-sends those.
            raise StaleState("The same delivery was handled meanwhile.")
        if home_pages and ctx.queued and not home.is_home_update(incoming):
            cause = incoming.event_id or secrets.token_hex(8)
            await home.refresh_later(session, platform=incoming.platform, user_id=incoming.user_id, cause=cause, now=now)
        if incoming.private and (identity.private_address != incoming.chat_id or identity.unreachable):
            await conversations.remember_private_chat(session, identity.id, incoming.chat_id)
            turn = replace(turn, private_chat=incoming.chat_id)
        await conversations.save(session, snapshot, now=now)
        return turn

    def _local_today(self, now: datetime, timezone: str) -> date:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(self.timezone)
        return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()

    def _understand(self, incoming: Incoming, text: str, today: date, language_hint: str) -> Understanding:
        hinted_language, _, hinted_script = language_hint.partition("-")  # "uz-Cyrl": Uzbek, answered in Cyrillic
        if incoming.payload is not None:
            return Understanding(text=text, intent="button", confidence=1.0, language=hinted_language, script=hinted_script or None)
        command = command_in(text)
        if command is not None:
            # Told, not guessed (bot/commands.py), and answered in the conversation's language; the words after
            # the command ("/payslip september") still give their entities.
            found = self.parser.parse(command.rest, today=today, language_hint=language_hint) if command.rest else {}
            return Understanding(text, command.intent, 1.0, tuple(found.get("entities", ())), hinted_language, hinted_script or None)
        parse = self.parser.parse(text, today=today, language_hint=language_hint)
        understanding = Understanding.from_parse(parse)
        if understanding.confidence < MIN_CONFIDENCE:
            return replace(understanding, intent="out_of_scope")
        return understanding

    def stranger(self, text: str, now: datetime, key: str = NOT_LINKED, *, language: str | None = None) -> Turn:
        """The answer to someone the assistant serves nothing to (not linked, another workspace): the message `key`,
        in the language they wrote in — or, for a command (Telegram's Start button sends "/start") or a message that
        doesn't tell, in the platform's idea of their language (`language`, Telegram's language_code), if any."""
        hint = (language or "").split("-")[0].lower()
        known = hint if hint in LANGUAGES else self.default_language
        if text.strip() and command_in(text) is None:
            parse = self.parser.parse(text, today=now.date(), language_hint=known)
            known = locale_for(str(parse.get("language", known)), parse.get("script"))
        return Turn((Outgoing(Reply(Translator(known)(key))),), known)

    @staticmethod
    def _outgoing(ctx: ActionContext, incoming: Incoming) -> tuple[Outgoing, ...]:
        """Each reply with its destination: a private one asked in a group goes to the person's private chat."""
        away = Destination.HERE if incoming.private else Destination.PRIVATE
        return tuple(Outgoing(reply, away if reply.private else Destination.HERE) for reply in ctx.replies)

    @staticmethod
    def apology(error: Exception, language: str) -> Turn:
        """The answer to a turn that failed unexpectedly: logged with an error id (types and frames, no text), and
        an apology quoting the id."""
        error_id = secrets.token_hex(4)
        # The exception's message may quote what the person wrote (or SQL parameters): log types and frames only.
        log.error("turn failed, error id %s: %s", error_id, _described(error), extra={"error_id": error_id})
        return Turn((Outgoing(Reply(Translator(language)("core.error", error_id=error_id))),), language, error_id=error_id)

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
                buttons=(
                    Button(ctx.t("core.button_human"), encode(IntentShortcut("hr_escalate"))),
                    Button(ctx.t("core.button_help"), encode(IntentShortcut("help"))),
                ),
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
            already_open = stack[-1]
            ctx.slots = already_open["slots"]
            await self._prompt(ctx, state, form, already_open)
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
        commanded = command_in(ctx.message.text) is not None  # a command is never an answer to the form's question
        if intent == "cancel" and not (awaiting in form.free_text and ctx.message.confidence < 0.8):
            await self._close_form(ctx, state, said="core.form_cancelled")
            return
        if awaiting in form.free_text and not commanded:
            await self._advance(ctx, state, form, frame, form.extract(ctx, awaiting))
            return
        updates = {} if commanded else form.extract(ctx, awaiting)
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
            before = len(ctx.replies)
            form.ask(ctx, missing)
            bind_choices(ctx.replies, before, frame)
            return
        if not form.confirm_first:
            await self._submit(ctx, state, form, frame)
            return
        frame["awaiting"] = CONFIRM
        renew_instance(frame)  # a summary's Yes confirms what it shows: an earlier summary's Yes stops working
        before = len(ctx.replies)
        await form.confirm(ctx)
        bind_choices(ctx.replies, before, frame)
        missing = form.missing(frame["slots"])
        if missing is not None:  # the summary found a slot no longer valid and asked for it instead
            frame["awaiting"] = missing
        elif len(ctx.replies) > before:
            last = ctx.replies[-1]
            ctx.replies[-1] = replace(last, buttons=last.buttons + yes_no_buttons(ctx, frame))

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
        """A pressed button: its payload is decoded and validated once (actions/payloads.py); anything this
        assistant never sent, or that no longer applies, is answered as an expired button — a toast
        (`ActionContext.say_stale_button`), which a platform with pop-ups for presses shows as one."""
        press = decode(payload)
        stack: list[dict[str, Any]] = state.setdefault("forms", [])
        frame = stack[-1] if stack else None
        if isinstance(press, FormAnswer):
            # Only the confirmation on top, and only the instance the button was shown for.
            if frame is None or frame.get("awaiting") != CONFIRM or frame.get("instance") != press.instance:
                ctx.say_stale_button()
                return
            form = self.routes.forms[frame["name"]]
            self._with_slots(ctx, frame)
            answered = len(ctx.replies)
            if press.yes:
                await self._submit(ctx, state, form, frame)
            else:
                await self._close_form(ctx, state, said="core.form_not_done")
            if not any(still is frame for still in stack):  # answered; a failed submit keeps its question in view
                _in_place_of_the_question(ctx.replies, answered)
        elif isinstance(press, SlotChoice):
            chosen = offered_choice(frame, press) if frame is not None else None
            if frame is None or chosen is None:
                ctx.say_stale_button()
                return
            self._with_slots(ctx, frame)
            answered = len(ctx.replies)
            await self._advance(ctx, state, self.routes.forms[frame["name"]], frame, chosen)
            _in_place_of_the_question(ctx.replies, answered)
        elif isinstance(press, IntentShortcut):
            if not self._may_open(press.intent):
                ctx.say_stale_button()
                return
            await self._dispatch(ctx, state, press.intent)
        elif press is not None and type(press) in self.routes.buttons:
            if await self._guarded(ctx, self.routes.buttons[type(press)](ctx, press)):
                await self._follow_up(ctx, state)
        else:
            ctx.say_stale_button()

    def _may_open(self, intent: str) -> bool:
        """An `intent:` button may ask what a message could: a handler, or a form that needs nothing prefilled."""
        form = self.routes.forms.get(intent)
        if form is not None:
            return not form.needs_prefill
        return intent in self.routes.intents
