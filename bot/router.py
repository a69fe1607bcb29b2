"""Running a turn for a channel: the one call every channel adapter makes.

`await router.receive(incoming, channel)` lets the dialogue answer the message, then sends each reply where it
belongs. Replies for this chat go to it. A private reply to a message written in a group goes to the person's
private chat on the same platform (the one they last wrote to us from, else the one the channel opens) — and
the group gets only a notice, shown to that person alone where the platform can (a Slack ephemeral message). If
the private chat can't be reached (never opened, bot blocked), the group gets a pointer ("open a direct chat with
me first"), never the content, and the identity is marked unreachable.
Messages carrying live buttons have their platform reference recorded (storage/live.py), so they can be edited
once the record they act on is decided. A link command with a one-time code (`/start CODE`, `/link CODE`,
`link CODE`) links the sender's account here, for every platform alike, before any dialogue. On a platform that
knows its users' company email (a `PeopleDirectory`: Slack), someone writing for the first time is linked by their
profile email, and someone from another workspace is refused whatever they send. Replies meant for the person's
home page (`Destination.HOME`; every reply to an update from that page, see bot/home.py) are published there when
the channel is a `HomeTab` (the last one: a page shows one state), and dropped on platforms without one. On a
platform that answers each button press itself (a `PressAnswers` channel: Telegram), the press is answered first —
with the turn's toast reply (`Reply.toast`, a stale button) as its pop-up instead of a message, else silently.

A transient delivery error propagates to the adapter: the turn is already recorded with its event id, so the
platform's retry of the delivery re-sends the same replies and runs nothing twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from actions.i18n import Translator
from actions.replies import Reply
from bot import home
from bot.channels.base import Address, Channel, HomeTab, PeopleDirectory, PermanentDeliveryError, PressAnswers
from bot.dialogue import NOT_LINKED, Dialogue
from bot.linking import ByEmail, Linker, link_code_in
from bot.messages import Destination, Incoming, Outgoing, Turn
from storage import conversations, live, outbox
from storage.base import utcnow
from storage.database import Database

log = logging.getLogger(__name__)

OTHER_WORKSPACE = "core.other_workspace"
NOT_FOUND_BY_EMAIL = "core.not_found_by_email"

TurnObserver = Callable[[str, Turn, float], None]
"""Told of every turn: the platform, the turn (intent, language) and the seconds it took (metrics)."""


@dataclass(frozen=True)
class Sent:
    address: Address
    reply: Reply
    reference: str


@dataclass(frozen=True)
class Receipt:
    """What a message produced and where each reply went (in the order a reader takes them in)."""

    turn: Turn
    sent: list[Sent] = field(default_factory=list)

    @property
    def replies(self) -> list[Reply]:
        return [sent.reply for sent in self.sent]


class Router:
    def __init__(
        self,
        database: Database,
        dialogue: Dialogue,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_turn: TurnObserver | None = None,
    ) -> None:
        self.database = database
        self.dialogue = dialogue
        self.clock = clock
        self.on_turn = on_turn
        self.linker = Linker(database, clock=clock, default_language=dialogue.default_language)

    async def receive(self, incoming: Incoming, channel: Channel) -> Receipt:
        started = time.perf_counter()
        code = link_code_in(incoming.text) if incoming.payload is None else None
        if isinstance(channel, PeopleDirectory) and await self._from_elsewhere(incoming, channel):
            turn = self.dialogue.stranger(incoming.text, incoming.at or self.clock(), OTHER_WORKSPACE)
        elif code is not None:
            turn = await self._link(incoming, code)
        elif isinstance(channel, PeopleDirectory) and (why := await self._not_linked_by_email(incoming, channel)):
            turn = await self.dialogue.handle(incoming, not_linked=why, home_pages=isinstance(channel, HomeTab))
        else:
            turn = await self.dialogue.handle(incoming, home_pages=isinstance(channel, HomeTab))
        if home.is_home_update(incoming):
            turn = home.answered_on_home(turn)
        if self.on_turn is not None:
            self.on_turn(incoming.platform, turn, time.perf_counter() - started)
        return Receipt(turn, await self._deliver(turn, incoming, channel))

    @staticmethod
    async def _from_elsewhere(incoming: Incoming, channel: PeopleDirectory) -> bool:
        """Whether the sender belongs to a workspace other than the one the assistant serves (a shared channel
        with another organisation): they are refused, whatever their email or code."""
        if not incoming.team_id:
            return False
        return incoming.team_id != await channel.workspace()  # not known: nobody is from here (fail closed)

    async def _not_linked_by_email(self, incoming: Incoming, channel: PeopleDirectory) -> str | None:
        """None when the sender is linked, now or from before (someone writing for the first time is linked to the
        employee with their profile email); else the message key that tells them why not."""
        if await self.linker.knows(incoming):
            return None
        email = await channel.email_of(incoming.user_id)
        linked = await self.linker.link_by_email(incoming, email) if email is not None else ByEmail.UNKNOWN
        if linked is ByEmail.LINKED:
            return None
        return NOT_FOUND_BY_EMAIL if linked is ByEmail.UNKNOWN else NOT_LINKED

    async def _link(self, incoming: Incoming, code: str) -> Turn:
        """Redeem a link code. Redeeming twice (a retried delivery) welcomes again: nothing to de-duplicate. Like a
        turn, it never raises: an unexpected error is rolled back and answered with an apology and an error id."""
        language = incoming.language or self.dialogue.default_language
        try:
            reply = await self.linker.link(incoming, code, team_id=incoming.team_id, language=incoming.language)
        except Exception as error:  # noqa: BLE001 - the error boundary of a link command
            return self.dialogue.apology(error, language)
        return Turn((Outgoing(reply),), language, intent="link")

    async def _deliver(self, turn: Turn, incoming: Incoming, channel: Channel) -> list[Sent]:
        here = Address(incoming.platform, incoming.chat_id, incoming.thread_id)
        toasted = await self._answer_press(turn, incoming, channel)
        away = [outgoing.reply for outgoing in turn.outgoing if outgoing.to is Destination.PRIVATE]
        sent_away: list[Sent] = []
        notice: list[Reply] = []
        if away:
            # The private part first: the group is told it went there only once it did.
            sent_away, reached = await self._send_privately(away, turn, incoming, channel)
            key = "core.answering_privately" if reached else "core.open_private_chat"
            notice.append(Reply(Translator(turn.language)(key)))
        # The notice concerns only the person who asked: shown to them alone where the platform can (Slack).
        sent_notice = await self._send_here(replace(here, only_for=incoming.user_id), notice, channel)
        replies_here = [o.reply for o in turn.outgoing if o.to is Destination.HERE and o.reply is not toasted]
        sent_here = await self._send_here(here, replies_here, channel, source=await self._replaceable(incoming))
        sent = self._in_reading_order(turn, [*sent_notice, *sent_here], sent_away, notices=len(sent_notice), toasted=toasted)
        await self._remember_live(turn, sent)
        pages = [outgoing.reply for outgoing in turn.outgoing if outgoing.to is Destination.HOME]
        if pages:
            await self._publish_home(pages[-1], incoming, channel)
        return sent

    @staticmethod
    async def _answer_press(turn: Turn, incoming: Incoming, channel: Channel) -> Reply | None:
        """Answer a button press where the platform expects it (`PressAnswers`): with the text of the turn's first
        toast reply, or silently. Returns that reply when it was shown as the press's answer (not to be sent as a
        message too); None otherwise — no press, no toast, or the press can't be answered here any more, and then
        the toast goes out as a message like on any other platform."""
        if incoming.payload is None or not isinstance(channel, PressAnswers):
            return None
        toast = next((o.reply for o in turn.outgoing if o.to is Destination.HERE and o.reply.toast), None)
        shown = await channel.answer_press(incoming.event_id, toast.text if toast is not None else None)
        return toast if shown else None

    @staticmethod
    async def _publish_home(page: Reply, incoming: Incoming, channel: Channel) -> None:
        """Show the reply on the person's home page, where the platform has one. A transient error propagates (the
        update is retried and the recorded page published again); a permanent one is logged: nowhere else to show it."""
        if not isinstance(channel, HomeTab):
            return
        try:
            await channel.publish_home(incoming.user_id, page)
        except PermanentDeliveryError as error:
            log.warning("a home page could not be published on %s: %s", incoming.platform, error)

    @staticmethod
    def _in_reading_order(
        turn: Turn, sent_here: list[Sent], sent_away: list[Sent], *, notices: int, toasted: Reply | None = None
    ) -> list[Sent]:
        """The notice first, then the replies in the order the dialogue gave them (whichever chat they went to)."""
        here, away = iter(sent_here[notices:]), iter(sent_away)
        ordered = sent_here[:notices]
        for outgoing in turn.outgoing:
            if outgoing.to is Destination.HOME or outgoing.reply is toasted:  # not sent to a chat
                continue
            following = next(away, None) if outgoing.to is Destination.PRIVATE else next(here, None)
            if following is not None:
                ordered.append(following)
        return ordered

    async def _send_here(self, address: Address, replies: list[Reply], channel: Channel, *, source: str | None = None) -> list[Sent]:
        """Send the replies to the chat; the first that `replaces_source` edits the pressed button's message instead
        (`source`), or, if that message can't be edited any more, comes as a new one."""
        sent: list[Sent] = []
        for reply in replies:
            try:
                if source is not None and reply.replaces_source:
                    sent.append(Sent(address, reply, await self._replace(source, address, reply, channel)))
                    source = None
                else:
                    sent.append(Sent(address, reply, await channel.send(address, reply)))
            except PermanentDeliveryError as error:  # the chat is gone or refuses us: nobody left to tell here
                log.warning("a reply could not be delivered to its chat on %s: %s", address.platform, type(error).__name__)
                break
        return sent

    async def _replaceable(self, incoming: Incoming) -> str | None:
        """The pressed message, if a reply may replace it: not one with live buttons, which deciding its record
        edits to the outcome (a second edit would race that one, whether by this turn, its retry or a double
        click)."""
        if incoming.source is None:
            return None
        async with self.database.reading() as session:
            return None if await live.tracked(session, incoming.platform, incoming.source) else incoming.source

    @staticmethod
    async def _replace(source: str, address: Address, reply: Reply, channel: Channel) -> str:
        try:
            await channel.edit(source, reply)
        except PermanentDeliveryError as error:  # deleted, too old to edit: the answer still has to arrive
            log.info("the pressed message could not be replaced on %s (%s); sending the answer instead", address.platform, type(error).__name__)
            return await channel.send(address, reply)
        return source

    async def _send_privately(
        self, replies: list[Reply], turn: Turn, incoming: Incoming, channel: Channel
    ) -> tuple[list[Sent], bool]:
        """Send to the person's private chat; returns what was sent and whether all of it got there."""
        known = turn.private_chat is not None
        address = (
            Address(incoming.platform, turn.private_chat)
            if turn.private_chat is not None
            else await channel.private_address(incoming.user_id)
        )
        if address is None:
            await self._unreachable(turn, "no private chat with the assistant")
            return [], False
        sent: list[Sent] = []
        try:
            for reply in replies:
                sent.append(Sent(address, reply, await channel.send(address, reply)))
        except PermanentDeliveryError as error:
            log.warning("a private reply could not be delivered on %s: %s", incoming.platform, type(error).__name__)
            await self._unreachable(turn, str(error) or type(error).__name__)  # typed errors say why, nothing more
            return sent, False
        if (not known or turn.unreachable) and turn.identity_id is not None:
            async with self._bookkeeping("private chat") as session:
                await conversations.remember_private_chat(session, turn.identity_id, address.chat_id)
        return sent, True

    async def _unreachable(self, turn: Turn, reason: str) -> None:
        if turn.identity_id is None:
            return
        async with self._bookkeeping("unreachable") as session:
            await outbox.mark_unreachable(session, turn.identity_id, reason, now=self.clock())

    async def _remember_live(self, turn: Turn, sent: list[Sent]) -> None:
        """Messages whose buttons act on a record are remembered, so deciding the record edits them."""
        carrying = [message for message in sent if message.reply.live_key]
        if not carrying or turn.employee_id is None:
            return
        async with self._bookkeeping("live messages") as session:
            for message in carrying:
                assert message.reply.live_key is not None
                await live.record(
                    session,
                    key=message.reply.live_key,
                    employee_id=turn.employee_id,
                    platform=message.address.platform,
                    chat_id=message.address.chat_id,
                    reference=message.reference,
                    now=self.clock(),
                )

    @asynccontextmanager
    async def _bookkeeping(self, what: str) -> AsyncIterator[AsyncSession]:
        """A write after the replies went out. If it fails, the person still has their answer: log it and go on
        (an exception here would make the adapter refuse the delivery, and the platform's retry repeat it)."""
        try:
            async with self.database.transaction() as session:
                yield session
        except Exception as error:  # noqa: BLE001 - see above
            log.error("recording %s after a turn failed: %s", what, type(error).__name__)
