"""Which handler answers which intent, button or form: a plain table behind decorators.

Each capability module declares a `routes = Routes()` and decorates its handlers; `actions.default_routes()`
merges them. Nothing here holds runtime state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from actions.context import ActionContext
from actions.forms import Form

IntentHandler = Callable[[ActionContext], Awaitable[None]]
ButtonHandler = Callable[[ActionContext, list[str]], Awaitable[None]]


@dataclass
class Routes:
    intents: dict[str, IntentHandler] = field(default_factory=dict)
    buttons: dict[str, ButtonHandler] = field(default_factory=dict)
    forms: dict[str, Form] = field(default_factory=dict)

    def intent(self, *names: str) -> Callable[[IntentHandler], IntentHandler]:
        def register(handler: IntentHandler) -> IntentHandler:
            for name in names:
                self._claim(self.intents, name, handler)
            return handler

        return register

    def button(self, prefix: str) -> Callable[[ButtonHandler], ButtonHandler]:
        """Handle button payloads `prefix:arg:arg…` (the args arrive split on ':')."""

        def register(handler: ButtonHandler) -> ButtonHandler:
            self._claim(self.buttons, prefix, handler)
            return handler

        return register

    def form(self, form: Form) -> Form:
        """A form starts when its intent is recognised and runs until submitted or cancelled."""
        self._claim(self.forms, form.name, form)
        return form

    def include(self, other: Routes) -> None:
        for name, handler in other.intents.items():
            self._claim(self.intents, name, handler)
        for prefix, button_handler in other.buttons.items():
            self._claim(self.buttons, prefix, button_handler)
        for name, form in other.forms.items():
            self._claim(self.forms, name, form)

    @staticmethod
    def _claim(table: dict, key: str, value: object) -> None:  # type: ignore[type-arg]
        if key in table and table[key] is not value:
            raise ValueError(f"{key!r} is already handled by {table[key]!r}")
        table[key] = value
