"""Which handler answers which intent, button or form: a plain table behind decorators.

Each capability module declares a `routes = Routes()` and decorates its handlers; `actions.default_routes()`
merges them. Nothing here holds runtime state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from actions.context import ActionContext
from actions.forms import Form
from actions.payloads import FAMILIES, Payload

IntentHandler = Callable[[ActionContext], Awaitable[None]]
ButtonHandler = Callable[[ActionContext, Any], Awaitable[None]]
"""Takes the pressed button's typed payload (a dataclass from `actions.payloads`)."""
P = TypeVar("P", bound=Payload)


@dataclass
class Routes:
    intents: dict[str, IntentHandler] = field(default_factory=dict)
    buttons: dict[type, ButtonHandler] = field(default_factory=dict)
    forms: dict[str, Form] = field(default_factory=dict)

    def intent(self, *names: str) -> Callable[[IntentHandler], IntentHandler]:
        def register(handler: IntentHandler) -> IntentHandler:
            for name in names:
                self._claim(self.intents, name, handler)
            return handler

        return register

    def button(self, kind: type[P]) -> Callable[[Callable[[ActionContext, P], Awaitable[None]]], Callable[[ActionContext, P], Awaitable[None]]]:
        """Handle presses of one payload family; the handler gets the payload decoded and validated."""
        if kind not in FAMILIES:
            raise TypeError(f"{kind!r} is not a button payload family of actions.payloads")

        def register(handler: Callable[[ActionContext, P], Awaitable[None]]) -> Callable[[ActionContext, P], Awaitable[None]]:
            self._claim(self.buttons, kind, handler)
            return handler

        return register

    def form(self, form: Form) -> Form:
        """A form starts when its intent is recognised and runs until submitted or cancelled."""
        self._claim(self.forms, form.name, form)
        return form

    def include(self, other: Routes) -> None:
        for name, handler in other.intents.items():
            self._claim(self.intents, name, handler)
        for kind, button_handler in other.buttons.items():
            self._claim(self.buttons, kind, button_handler)
        for name, form in other.forms.items():
            self._claim(self.forms, name, form)

    @staticmethod
    def _claim(table: dict[Any, Any], key: object, value: object) -> None:
        if key in table and table[key] is not value:
            raise ValueError(f"{key!r} is already handled by {table[key]!r}")
        table[key] = value
