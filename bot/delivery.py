"""Delivering the outbox through the running channels.

`DeliveryWorker` claims a small batch (a lease, committed at once), sends each message with no database
transaction open, then records the result in a short transaction of its own. A message goes to one of the
recipient's chat identities whose channel is running, in their private chat; someone with no account on a running
platform that knows company emails (Slack) is found there by their email, and the account found is linked for
next time, so a manager or an HR agent who never wrote to the assistant still gets their approvals. Errors are typed
(bot/channels/base.py): a transient one is retried later (exponential back-off, or when the platform said); a
permanent one marks that identity unreachable and the message falls back to the person's other linked platform;
with nobody left to deliver to, or after the last attempt, the message is dead-lettered with its reason.
Messages with live buttons are remembered once sent (storage/live.py), so a decision can edit them later. Whoever
is reached on a platform with home pages (Slack's App Home) gets theirs refreshed (bot/home.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from actions.replies import Reply
from bot import home
from bot.channels.base import Address, Channel, HomeTab, PeopleDirectory, PermanentDeliveryError, TransientDeliveryError
from bot.polling import PollingWorker
from storage import linking, live, outbox, people
from storage.base import utcnow
from storage.database import Database
from storage.errors import DomainError
from storage.outbox import OutboxKind, OutboxMessage, Target
from storage.people import ChatIdentity, Employee
from storage.redaction import redact_secrets

log = logging.getLogger(__name__)

WAIT_FOR_CHANNEL = timedelta(minutes=1)
"""When no channel running here serves the recipient's platforms, look again this much later (another replica
may run it, or it is being started)."""
MAX_WAIT_FOR_CHANNEL = timedelta(days=1)
"""A message that no running channel could take for this long is dead-lettered (the person is linked only where
the assistant doesn't run, the console say), so it shows in `backoffice outbox` instead of waiting for ever."""
NO_PRIVATE_CHAT = "no private chat with the assistant yet"


@dataclass
class Round:
    """What one `DeliveryWorker.run_once` did, by outbox message id."""

    delivered: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    """Failed for now: due again after a back-off."""
    dead: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    """No channel running here for the recipient's platforms: looked at again later, no attempt counted."""
    released: list[int] = field(default_factory=list)
    """Not tried this round (its lease was running out): given back at once."""

    @property
    def claimed(self) -> int:
        return len(self.delivered) + len(self.retried) + len(self.dead) + len(self.waiting) + len(self.released)


@dataclass(frozen=True)
class _Job:
    """A claimed outbox message, copied out of its session so it can be sent with no transaction open."""

    id: int
    kind: OutboxKind
    recipient_id: int
    payload: dict[str, Any]
    live_key: str | None
    identity_id: int | None
    platform: str | None
    chat_id: str | None
    reference: str | None
    created_at: datetime

    @classmethod
    def of(cls, message: OutboxMessage) -> _Job:
        return cls(
            message.id, message.kind, message.recipient_id, dict(message.payload), message.live_key,
            message.identity_id, message.platform, message.chat_id, message.reference, message.created_at,
        )


@dataclass(frozen=True)
class _Identity:
    id: int | None
    """None: an account found by email earlier this round, linked when that delivery was recorded."""
    platform: str
    external_id: str
    private_address: str | None
    unreachable: str | None
    """Why the last delivery failed for good; None while reachable."""

    @classmethod
    def of(cls, row: ChatIdentity) -> _Identity:
        unreachable = (row.unreachable_reason or "unreachable") if row.unreachable_at is not None else None
        return cls(row.id, row.platform.value, row.external_id, row.private_address, unreachable)


@dataclass(frozen=True)
class _Sent:
    target: Target
    learnt_address: str | None = None
    """The private chat the channel told us about, kept on the identity for next time."""
    found_user: str | None = None
    """The platform's user the recipient was found as by their email: linked to them for next time."""


@dataclass(frozen=True)
class _Retry:
    reason: str
    retry_after: float | None = None
    target: Target | None = None


@dataclass(frozen=True)
class _Wait:
    reason: str


@dataclass(frozen=True)
class _Dead:
    reason: str
    platform: str = ""
    """The platform tried last, if any (for metrics)."""


_Outcome = _Sent | _Retry | _Wait | _Dead
_Unreachable = list[tuple[int | None, str]]
"""Identities that failed for good during an attempt: (identity id, reason)."""


def _reason(error: BaseException) -> str:
    """What the error says, tokens removed; typed delivery errors carry no message text by contract."""
    if isinstance(error, TimeoutError):
        return "timed out"
    said = str(error)
    text = said if isinstance(error, (PermanentDeliveryError, TransientDeliveryError)) and said else f"{type(error).__name__}: {said}"
    return redact_secrets(text)


class DeliveryWorker(PollingWorker):
    """Delivers the outbox through the channels running in this process (platform name → channel).

    `run(stop)` delivers until `stop` is set, then releases its claims; `run_once()` does one round (tests, tools);
    `wake()` asks for a round now (something was just queued) instead of at the next poll.
    """

    what = "outbox"

    def __init__(
        self,
        database: Database,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 20,
        lease: timedelta = outbox.LEASE,
        send_timeout: float = 30.0,
        poll_interval: float = 1.0,
        on_failure: Callable[[str, str], None] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(database, poll_interval=poll_interval, name=name)
        self.channels = dict(channels)
        self.clock = clock
        self.batch_size = batch_size
        self.lease = lease
        self.send_timeout = send_timeout
        self.on_failure = on_failure
        """Told (platform, "transient" | "permanent" | "dead") on every failure, e.g. for metrics."""

    async def _round(self) -> bool:
        return (await self.run_once()).claimed >= self.batch_size  # a full batch: more may be due right away

    async def _release_claims(self, session: AsyncSession) -> int:
        return await outbox.release(session, self.name)

    async def run_once(self) -> Round:
        """One round: claim a batch, deliver it, record each result."""
        started = time.monotonic()
        done = Round()
        jobs, identities, emails = await self._claim()
        if not jobs:
            return done
        # Each person's messages go in order; different people's go side by side, so one slow chat holds up no one.
        queues: dict[int, list[_Job]] = {}
        for job in jobs:
            queues.setdefault(job.recipient_id, []).append(job)
        last_start = started + self.lease.total_seconds() - self.send_timeout
        results = await asyncio.gather(
            *(
                self._deliver_queue(queue, identities.get(recipient, []), emails.get(recipient), done, last_start)
                for recipient, queue in queues.items()
            ),
            return_exceptions=True,
        )
        if done.released:
            async with self.database.transaction() as session:
                await outbox.release(session, self.name, ids=done.released)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return done

    async def _claim(self) -> tuple[list[_Job], dict[int, list[_Identity]], dict[int, str]]:
        now = self.clock()
        async with self.database.reading() as session:  # an idle poll takes no write lock
            if not await outbox.has_due(session, now=now):
                return [], {}, {}
        async with self.database.transaction() as session:
            claimed = await outbox.claim_due(session, now=now, limit=self.batch_size, worker=self.name, lease=self.lease)
            jobs = [_Job.of(message) for message in claimed]
            recipients = {job.recipient_id for job in jobs if job.kind is OutboxKind.SEND}
            identities: dict[int, list[_Identity]] = {}
            emails: dict[int, str] = {}
            if recipients:
                found = await session.execute(select(Employee.id, Employee.email).where(Employee.id.in_(sorted(recipients))))
                emails = {employee_id: email for employee_id, email in found}
                rows = await session.scalars(
                    select(ChatIdentity).where(ChatIdentity.employee_id.in_(recipients)).order_by(ChatIdentity.id)
                )
                for row in rows:
                    identities.setdefault(row.employee_id, []).append(_Identity.of(row))
        return jobs, identities, emails

    async def _deliver_queue(
        self, queue: list[_Job], identities: list[_Identity], email: str | None, done: Round, last_start: float
    ) -> None:
        for job in queue:
            if time.monotonic() > last_start:
                done.released.append(job.id)
                continue
            outcome, unreachable = await self._attempt(job, identities, email)
            if isinstance(outcome, _Sent) and outcome.found_user is not None:  # later messages: that account
                identities.append(_Identity(None, outcome.target.platform, outcome.found_user, outcome.target.chat_id, None))
            if unreachable:  # later messages to this person this round skip those identities too
                failed = dict(unreachable)
                identities[:] = [replace(i, unreachable=failed[i.id]) if i.id in failed else i for i in identities]
            await self._record(job, outcome, unreachable, done)

    async def _attempt(self, job: _Job, identities: list[_Identity], email: str | None) -> tuple[_Outcome, _Unreachable]:
        try:
            reply = Reply.from_dict(job.payload)
        except (KeyError, TypeError, ValueError) as error:
            return _Dead(f"unreadable message ({type(error).__name__})"), []
        if job.kind is OutboxKind.EDIT:
            return await self._edit(job, reply), []
        return await self._send(job, reply, identities, email)

    async def _send(
        self, job: _Job, reply: Reply, identities: list[_Identity], email: str | None
    ) -> tuple[_Outcome, _Unreachable]:
        unreachable: _Unreachable = []
        reachable = [identity for identity in identities if identity.unreachable is None]
        running = sorted(
            (identity for identity in reachable if identity.platform in self.channels),
            # The identity tried last time first (a transient failure), then a known private chat, then the oldest link.
            key=lambda identity: (identity.id != job.identity_id, identity.private_address is None, identity.id or 0),
        )
        for identity in running:
            channel = self.channels[identity.platform]
            target = Target(identity.platform, identity.private_address, identity.id)
            try:
                async with asyncio.timeout(self.send_timeout):
                    address = (
                        Address(identity.platform, identity.private_address)
                        if identity.private_address
                        else await channel.private_address(identity.external_id)
                    )
                    if address is None:
                        unreachable.append((identity.id, NO_PRIVATE_CHAT))
                        continue
                    target = Target(identity.platform, address.chat_id, identity.id)
                    reference = await channel.send(address, reply)
            except PermanentDeliveryError as error:
                self._failed(job, identity.platform, "permanent")
                unreachable.append((identity.id, _reason(error)))
                continue
            except Exception as error:  # transient, a time-out, or a channel bug: the same identity, later
                self._failed(job, identity.platform, "transient", error)
                retry_after = error.retry_after if isinstance(error, TransientDeliveryError) else None
                return _Retry(_reason(error), retry_after, target), unreachable
            learnt = address.chat_id if identity.private_address is None else None
            found = identity.external_id if identity.id is None else None  # found by email earlier this round
            target = Target(identity.platform, address.chat_id, identity.id, reference)
            return _Sent(target, learnt, found), unreachable
        by_email = await self._find_by_email(job, reply, identities, email)
        if by_email is not None:
            return by_email, unreachable
        failed = dict(unreachable)
        elsewhere = sorted({identity.platform for identity in reachable if identity.id not in failed and identity.platform not in self.channels})
        if elsewhere:
            return _Wait(f"no channel running here for {', '.join(elsewhere)}"), unreachable
        if not identities:
            return _Dead("not linked on any chat platform"), unreachable
        reasons = "; ".join(f"{identity.platform}: {failed.get(identity.id) or identity.unreachable}" for identity in identities)
        return _Dead(f"unreachable on every platform ({reasons})", running[-1].platform if running else ""), unreachable

    async def _find_by_email(
        self, job: _Job, reply: Reply, identities: list[_Identity], email: str | None
    ) -> _Sent | _Retry | None:
        """Deliver through a running platform that knows company emails where the person has no account yet: the
        user with their email, in a direct message opened now. None if no such platform knows them."""
        linked_on = {identity.platform for identity in identities}
        for platform, channel in self.channels.items():
            if email is None or platform in linked_on or not isinstance(channel, PeopleDirectory):
                continue
            try:
                async with asyncio.timeout(self.send_timeout):
                    user_id = await channel.user_by_email(email)
                    if user_id is None or not await self._free_for(job.recipient_id, platform, user_id):
                        continue
                    address = await channel.private_address(user_id)
                    if address is None:
                        continue
                    reference = await channel.send(address, reply)
            except PermanentDeliveryError:
                self._failed(job, platform, "permanent")
                continue
            except Exception as error:  # transient, a time-out, or a channel bug: again later
                self._failed(job, platform, "transient", error)
                retry_after = error.retry_after if isinstance(error, TransientDeliveryError) else None
                return _Retry(_reason(error), retry_after, Target(platform))
            return _Sent(Target(platform, address.chat_id, None, reference), address.chat_id, user_id)
        return None

    async def _free_for(self, recipient_id: int, platform: str, user_id: str) -> bool:
        """Whether the account found by the recipient's email may be theirs: not linked to someone else (then the
        directory and our records disagree, and the message must not go to a person we know as another)."""
        async with self.database.reading() as session:
            owner = await people.employee_for_identity(session, platform, user_id)
        if owner is not None and owner.id != recipient_id:
            log.warning("the %s account with employee %s's email is linked to employee %s: not used", platform, recipient_id, owner.id)
            return False
        return True

    async def _edit(self, job: _Job, reply: Reply) -> _Outcome:
        platform, reference = job.platform or "", job.reference or ""
        channel = self.channels.get(platform)
        if channel is None:
            return _Wait(f"no channel running here for {platform}")
        try:
            async with asyncio.timeout(self.send_timeout):
                await channel.edit(reference, reply)
        except PermanentDeliveryError as error:  # too old to edit, deleted: the outcome was told by other means
            self._failed(job, platform, "permanent")
            return _Dead(f"{platform}: {_reason(error)}", platform)
        except Exception as error:
            self._failed(job, platform, "transient", error)
            return _Retry(_reason(error), error.retry_after if isinstance(error, TransientDeliveryError) else None)
        return _Sent(Target(platform, job.chat_id, None, reference))

    async def _record(self, job: _Job, outcome: _Outcome, unreachable: _Unreachable, done: Round) -> None:
        async with self.database.transaction() as session:
            now = self.clock()
            for identity_id, why in unreachable:
                if identity_id is not None:  # an account found by email this round: its new row, tried next round, is marked then
                    await outbox.mark_unreachable(session, identity_id, why, now=now)
            if isinstance(outcome, _Sent):
                if outcome.found_user is not None:
                    outcome = await self._link_found(session, job, outcome, now)
                current = await outbox.mark_delivered(session, job.id, now=now, target=outcome.target)
                if outcome.learnt_address and outcome.target.identity_id is not None:
                    await outbox.learn_private_address(session, outcome.target.identity_id, outcome.learnt_address)
                if current is not None and job.live_key and outcome.target.reference:
                    await self._remember_live(session, job, current, outcome.target, now)
                if current is not None:
                    await self._refresh_home(session, job, outcome, now)
                done.delivered.append(job.id)
            elif isinstance(outcome, _Retry):
                status = await outbox.mark_failed(
                    session, job.id, outcome.reason, now=now, retry_after=outcome.retry_after, target=outcome.target
                )
                (done.dead if status is outbox.OutboxStatus.DEAD else done.retried).append(job.id)
                if status is outbox.OutboxStatus.DEAD:
                    self._failed(job, outcome.target.platform if outcome.target else job.platform or "", "dead")
            elif isinstance(outcome, _Wait) and job.created_at <= now - MAX_WAIT_FOR_CHANNEL:
                await outbox.mark_dead(session, job.id, f"{outcome.reason}, for over {MAX_WAIT_FOR_CHANNEL.days} day(s)")
                done.dead.append(job.id)
                self._failed(job, job.platform or "", "dead")
            elif isinstance(outcome, _Wait):
                await outbox.postpone(session, job.id, now + WAIT_FOR_CHANNEL, outcome.reason)
                done.waiting.append(job.id)
            else:
                await outbox.mark_dead(session, job.id, outcome.reason)
                done.dead.append(job.id)
                self._failed(job, outcome.platform, "dead")

    @staticmethod
    async def _link_found(session: AsyncSession, job: _Job, outcome: _Sent, now: datetime) -> _Sent:
        """Link the account the recipient was found as (audited), so the next message goes straight there."""
        assert outcome.found_user is not None
        platform = outcome.target.platform
        employee = await people.get_employee(session, job.recipient_id)
        try:
            async with session.begin_nested():  # a failure here must not undo recording the delivery
                await linking.link(session, employee, platform, outcome.found_user, via="email lookup", now=now,
                                   private_address=outcome.target.chat_id)
        except (DomainError, IntegrityError) as error:  # linked meanwhile (by the router, or to someone else)
            log.warning("outbox message %s: the %s account found by email was not linked (%s)", job.id, platform, type(error).__name__)
            return outcome
        linked = await people.identities_on(session, employee.id, platform)
        identity_id = linked[0].id if linked else None
        return replace(outcome, target=replace(outcome.target, identity_id=identity_id), learnt_address=None)

    async def _refresh_home(self, session: AsyncSession, job: _Job, outcome: _Sent, now: datetime) -> None:
        """A notification reached someone on a platform with home pages, or a message of theirs was edited (what its
        buttons acted on was decided, perhaps by someone else: a ticket another agent took): their page is refreshed
        with it, through the inbox like any update (bot/home.py)."""
        platform = outcome.target.platform
        if not isinstance(self.channels.get(platform), HomeTab):
            return
        user_id = outcome.found_user
        if user_id is None and outcome.target.identity_id is not None:
            identity = await session.get(ChatIdentity, outcome.target.identity_id)
            user_id = identity.external_id if identity is not None else None
        if user_id is None and job.kind is OutboxKind.EDIT:  # the account whose chat holds the edited message
            linked = await people.identities_on(session, job.recipient_id, platform)
            edited_in = next((identity for identity in linked if identity.private_address == job.chat_id), linked[0] if linked else None)
            user_id = edited_in.external_id if edited_in is not None else None
        if user_id is not None:
            await home.refresh_later(session, platform=platform, user_id=user_id, cause=f"outbox:{job.id}", now=now)

    @staticmethod
    async def _remember_live(session: AsyncSession, job: _Job, current: OutboxMessage, target: Target, now: datetime) -> None:
        assert job.live_key is not None and target.reference is not None
        sent = await live.record(
            session, key=job.live_key, employee_id=job.recipient_id, platform=target.platform,
            chat_id=target.chat_id or "", reference=target.reference, now=now,
        )
        if current.live_key is None and sent.closed_at is None:
            # The record was decided while this was on its way (ActionContext.close_live replaced the payload with
            # the outcome): the buttons just sent are stale, so edit the message to the outcome at once.
            sent.closed_at = now
            await outbox.enqueue_edit(session, sent, current.payload, now=now)

    def _failed(self, job: _Job, platform: str, kind: str, error: BaseException | None = None) -> None:
        cause = f" ({type(error).__name__})" if error is not None else ""
        log.warning("outbox message %s: %s delivery failure on %s%s", job.id, kind, platform or "-", cause)
        if self.on_failure is not None:
            self.on_failure(platform, kind)
