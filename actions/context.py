"""What an action handler gets: who is asking, what they said, where, when — and where to put replies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from actions.i18n import Translator, catalogue, locale_for
from actions.replies import Block, Button, Reply
from storage import live, outbox
from storage.errors import DomainError
from storage.people import Employee


@dataclass(frozen=True)
class Understanding:
    """One message as the NLU understood it (Rasa's parse shape, flattened)."""

    text: str
    intent: str
    confidence: float
    entities: tuple[dict[str, Any], ...] = ()
    language: str = "en"
    script: str | None = None  # what the message was typed in (Latn, Cyrl, Grek), when the NLU says

    @classmethod
    def from_parse(cls, parse: dict[str, Any]) -> Understanding:
        return cls(
            text=str(parse.get("text", "")),
            intent=str(parse["intent"]["name"]),
            confidence=float(parse["intent"]["confidence"]),
            entities=tuple(parse.get("entities", ())),
            language=str(parse.get("language", "en")),
            script=str(parse["script"]) if parse.get("script") else None,
        )

    @property
    def locale(self) -> str:
        """The catalogue replies come from: the language, in the script the person writes it in (``uz-Cyrl``)."""
        return locale_for(self.language, self.script)

    def entity(self, name: str) -> Any | None:
        for found in self.entities:
            if found.get("entity") == name:
                return found.get("value")
        return None

    def values(self, name: str) -> list[Any]:
        return [found.get("value") for found in self.entities if found.get("entity") == name]


@dataclass
class ActionContext:
    session: AsyncSession
    employee: Employee
    t: Translator
    now: datetime
    """UTC, naive (as stored)."""
    today: date
    """The employee's local date."""
    private_chat: bool
    message: Understanding
    slots: dict[str, Any] = field(default_factory=dict)
    """The active form's slots (JSON-serialisable values); saved with the conversation."""
    replies: list[Reply] = field(default_factory=list)
    follow_up: tuple[str, dict[str, Any]] | None = None
    """A form a handler asked to start next (e.g. a Reply button that asks for the answer's text)."""
    checked: dict[str, Any] = field(default_factory=dict)
    """What a form's check() just worked out, for its confirm() right after in the same turn (so it is not
    queried twice); confirm() takes it out, so it never outlives that step."""
    queued: bool = False
    """Messages for the outbox were queued in this turn (the delivery worker can start on them at once)."""

    @property
    def language(self) -> str:
        return self.t.language

    def say(
        self,
        key: str,
        *,
        buttons: tuple[Button, ...] | list[Button] = (),
        blocks: tuple[Block, ...] | list[Block] = (),
        private: bool = False,
        replaces_source: bool = False,
        live_key: str | None = None,
        toast: bool = False,
        **params: Any,
    ) -> None:
        self.replies.append(
            Reply(
                self.t(key, **params),
                tuple(buttons),
                tuple(blocks),
                private=private,
                replaces_source=replaces_source,
                live_key=live_key,
                toast=toast,
            )
        )

    def say_stale_button(self) -> None:
        """The pressed button no longer applies: said as a toast (`Reply.toast`), a pop-up where the platform has
        one for presses (Telegram), a message elsewhere."""
        self.say("core.button_expired", toast=True)

    def start_form(self, name: str, **prefill: Any) -> None:
        """After this handler, start the form `name` with these slots already filled (JSON-serialisable)."""
        self.follow_up = (name, prefill)

    def say_error(self, error: DomainError) -> None:
        """A rule said no: tell the person why, in their language."""
        key = f"error.{error.code}"
        if key not in catalogue():
            key = "error.generic"
        self.say(key, **{name: _plain(value) for name, value in error.params.items()})

    async def notify(
        self,
        recipient: Employee,
        build: Callable[[Translator], Reply],
        *,
        idempotency_key: str | None = None,
        due_at: datetime | None = None,
    ) -> None:
        """Queue a message for someone else, written in their language; delivered by the outbox worker."""
        reply = build(Translator(recipient.language))
        self.queued = True
        await outbox.enqueue(
            self.session,
            recipient.id,
            reply.to_dict(),
            idempotency_key=idempotency_key,
            due_at=due_at or self.now,
            live_key=reply.live_key,
        )

    async def close_live(self, key: str, build: Callable[[Translator], Reply]) -> None:
        """The record behind `key` (e.g. 'leave:42') was decided: every message sent with live buttons about it is
        edited to `build`'s reply (the outcome, in each reader's language, with no live buttons), and such messages
        still waiting in the outbox go out that way instead. Call it wherever the record is decided."""
        payloads: dict[str, dict[str, Any]] = {}

        def outcome(language: str) -> dict[str, Any]:
            if language not in payloads:
                payloads[language] = replace(build(Translator(language)), live_key=None, replaces_source=False).to_dict()
            return payloads[language]

        # Queued ones first: this waits for a worker recording one of them as sent (see bot/delivery.py), so its
        # live message is then found below.
        for message, language in await outbox.queued_with_live_key(self.session, key):
            message.payload, message.live_key = outcome(language), None
        for sent, language in await live.close(self.session, key, now=self.now):
            self.queued = True
            await outbox.enqueue_edit(self.session, sent, outcome(language), now=self.now)


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return value
