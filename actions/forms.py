"""Forms: collect the slots an action needs, validate them, confirm, then act.

The dialogue core (bot/dialogue.py) drives a form turn by turn; a form only says how to read slot values from a
message, how to check them, what to ask, how to summarise, and what to do at the end.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from actions.context import ActionContext
from actions.replies import Button
from storage.errors import DomainError

CONFIRM = "confirm"
"""The `awaiting` value while the summary waits for yes/no."""


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


def yes_no_buttons(ctx: ActionContext) -> tuple[Button, Button]:
    return (Button(ctx.t("button.yes"), "form:yes"), Button(ctx.t("button.no"), "form:no"))


def choice_button(form: Form, slot: str, value: object, label: str) -> Button:
    """A button that fills one slot of this form (and only this form, should an old button be pressed later)."""
    return Button(label, f"slot:{form.name}:{slot}:{value}")
