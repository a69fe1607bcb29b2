"""Forms: collect the slots an action needs, validate them, confirm, then act.

The dialogue core (bot/dialogue.py) drives a form turn by turn; a form only says how to read slot values from a
message, how to check them, what to ask, how to summarise, and what to do at the end.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from typing import Any, ClassVar

from actions.context import ActionContext
from actions.payloads import MAX_OFFERS, FormAnswer, SlotChoice, encode, new_instance
from actions.replies import Button, Reply
from storage.errors import DomainError

CONFIRM = "confirm"
"""The `awaiting` value while the summary waits for yes/no."""
OFFER = "offer:"
"""A choice button as a form's `ask` makes it (`offer:<slot>:<value>`); the dialogue binds it to the form instance
(`bind_choices`) before any reply leaves, so this spelling never reaches a person."""


class SlotError(Exception):
    """A slot's value can't be used: the dialogue says why, forgets the value(s) and asks again."""

    def __init__(self, slots: tuple[str, ...], error: DomainError) -> None:
        super().__init__(str(error))
        self.slots = slots
        self.error = error


class Form(ABC):
    name: ClassVar[str]
    """Also the intent that starts the form."""
    required: ClassVar[tuple[str, ...]]
    free_text: ClassVar[frozenset[str]] = frozenset()
    """Slots that take the whole message as their value when asked for (descriptions, messages)."""
    confirm_first: ClassVar[bool] = True
    """Summarise and ask yes/no before submitting; False submits as soon as the slots are filled (for forms
    where typing the last answer already is the decision, like a reply to a message)."""
    needs_prefill: ClassVar[bool] = False
    """Started only by a handler that fills some slots first (the case to reply to, the item to move): never
    opened by its name alone, e.g. by a forged `intent:` button."""

    @abstractmethod
    def extract(self, ctx: ActionContext, awaiting: str | None) -> dict[str, Any]:
        """Slot values found in the current message (entities, or free text for an awaited free-text slot)."""

    async def check(self, ctx: ActionContext) -> None:  # noqa: B027 (an optional hook; most forms need none)
        """Validate the filled slots together; raise SlotError to reject some of them."""

    @abstractmethod
    def ask(self, ctx: ActionContext, slot: str) -> None:
        """Say the question for a missing slot (with choice buttons where that helps)."""

    async def confirm(self, ctx: ActionContext) -> None:
        """Summarise what will be done; the dialogue adds the yes/no buttons (needed when `confirm_first`)."""
        raise NotImplementedError(f"form {self.name!r} asks for confirmation but has no summary")

    @abstractmethod
    async def submit(self, ctx: ActionContext) -> None:
        """Do it. A DomainError here is told to the person and the form stays open for a correction."""

    def missing(self, slots: dict[str, Any]) -> str | None:
        for slot in self.required:
            if slots.get(slot) in (None, ""):
                return slot
        return None


def renew_instance(frame: dict[str, Any]) -> None:
    """A new token for the summary the form shows next: the Yes/No under its earlier summaries (and its earlier
    choice buttons) stop working, so a Yes never confirms values changed since it was shown."""
    frame["instance"] = new_instance()


def instance_of(frame: dict[str, Any]) -> str:
    """The token naming what this form instance shows now (made when it first shows a button)."""
    instance = frame.get("instance")
    if not isinstance(instance, str):
        instance = frame["instance"] = new_instance()
    return instance


def yes_no_buttons(ctx: ActionContext, frame: dict[str, Any]) -> tuple[Button, Button]:
    """Yes and No for this form instance's confirmation: pressed later, they never answer another form."""
    instance = instance_of(frame)
    return (
        Button(ctx.t("button.yes"), encode(FormAnswer(instance, yes=True))),
        Button(ctx.t("button.no"), encode(FormAnswer(instance, yes=False))),
    )


def choice_button(form: Form, slot: str, value: str | int, label: str) -> Button:
    """A button that fills one slot of this form with `value` (bound to the asking instance by `bind_choices`)."""
    return Button(label, f"{OFFER}{slot}:{value}")


def bind_choices(replies: list[Reply], start: int, frame: dict[str, Any]) -> None:
    """Bind the choice buttons of `replies[start:]` to this form instance.

    Each becomes `slot:<instance>:<n>`, and the frame keeps the n-th (slot, value) as `offered`: a press can only
    choose a value this very question offered, and the values themselves never travel through the platform.
    """
    instance = instance_of(frame)
    offered: list[list[str]] = []
    for position in range(start, len(replies)):
        reply = replies[position]
        if not any(button.payload.startswith(OFFER) for button in reply.buttons):
            continue
        buttons: list[Button] = []
        for button in reply.buttons:
            if not button.payload.startswith(OFFER):
                buttons.append(button)
                continue
            slot, _, value = button.payload.removeprefix(OFFER).partition(":")
            if [slot, value] not in offered:
                if len(offered) == MAX_OFFERS:
                    continue
                offered.append([slot, value])
            buttons.append(Button(button.label, encode(SlotChoice(instance, offered.index([slot, value])))))
        replies[position] = replace(reply, buttons=tuple(buttons))
    frame["offered"] = offered


def offered_choice(frame: dict[str, Any], choice: SlotChoice) -> dict[str, str] | None:
    """The slot value a pressed choice stands for, if this frame is the instance that offered it."""
    offered = frame.get("offered") or []
    if frame.get("instance") != choice.instance or choice.index >= len(offered):
        return None
    slot, value = offered[choice.index]
    return {str(slot): str(value)}
