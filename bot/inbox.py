"""Inbound updates: stored before the platform is acknowledged, then run through the router from the inbox.

A channel adapter calls `await inbox.accept(incoming, key)` with the platform's delivery id as the key and only
then acknowledges (answers the webhook, moves the polling offset): once acknowledged, an update survives a crash,
and a retried delivery makes no second row. The stored update's event id is that key, so the dialogue's own
de-duplication applies too (a row run twice gets its recorded replies again and runs nothing twice).

`InboxWorker` claims updates (a lease, committed at once; at most one update per chat, the oldest, and none of a
chat with an update in flight), runs each through `router.receive` with no transaction of its own open, different
chats side by side, then records the result in a short transaction. While running it keeps up to `max_in_flight`
updates going and claims more as they finish, so one slow turn or slow platform call holds up only its own chat,
not a whole batch. The results of turns that finish together are recorded in one transaction. An exception is
retried after a back-off and dead-lettered after the last attempt; it never stops the worker. An update for a
platform with no channel here waits for a worker that has one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Channel, DeliveryError
from bot.messages import Incoming
from bot.polling import PollingWorker
from storage import inbox
from storage.base import utcnow
from storage.database import Database
from storage.inbox import InboxStatus, InboxUpdate

log = logging.getLogger(__name__)

WAIT_FOR_CHANNEL = timedelta(minutes=1)
"""When no channel running here serves an update's platform, look again this much later (another replica may)."""
MAX_WAIT_FOR_CHANNEL = timedelta(days=1)
"""An update no running channel could take for this long is dead-lettered: an answer that late helps nobody."""


class Receiver(Protocol):
    """What runs an update (bot.router.Router)."""

    async def receive(self, incoming: Incoming, channel: Channel) -> object: ...


class Inbox:
    """Where adapters put inbound updates before acknowledging them."""

    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow, on_accepted: Callable[[], None] | None = None) -> None:
        self.database = database
        self.clock = clock
        self.on_accepted = on_accepted
        """Told after a new update is stored (the service wakes the inbox worker)."""

    async def accept(self, incoming: Incoming, key: str) -> bool:
        """Store the update in a short transaction of its own; True if new, False for a retried delivery. Raises
        if it could not be stored: then don't acknowledge, so the platform delivers it again."""
        now = self.clock()
        # Processed later, it still means what it meant when it came ("tomorrow" said before midnight).
        stored = replace(incoming, event_id=key, at=incoming.at or now)
        async with self.database.transaction(urgent=True) as session:  # the platform waits: before queued turns
            new = await inbox.accept(
                session, platform=incoming.platform, key=key, chat_id=incoming.chat_id, incoming=stored.to_dict(), now=now
            )
        if new and self.on_accepted is not None:
            self.on_accepted()
        return new


@dataclass
class Round:
    """What one `InboxWorker.run_once` did, by inbox row id."""

    done: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    """Failed for now: due again after a back-off."""
    dead: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    """No channel running here for the platform: looked at again later, no attempt counted."""
    lost: list[int] = field(default_factory=list)
    """Its lease ran out before the result was recorded (another worker may have it now)."""

    @property
    def claimed(self) -> int:
        return len(self.done) + len(self.retried) + len(self.dead) + len(self.waiting) + len(self.lost)


@dataclass(frozen=True)
class _Job:
    """A claimed row, copied out of its session so it is processed with no transaction open."""

    id: int
    platform: str
    incoming: dict[str, Any]
    received_at: datetime

    @classmethod
    def of(cls, row: InboxUpdate) -> _Job:
        return cls(row.id, row.platform, dict(row.incoming), row.received_at)


def _reason(error: BaseException) -> str:
    """Why an attempt failed, never quoting the message: typed delivery errors carry no message text by contract;
    any other exception may (a parser error quoting its input), so only its type is kept."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, DeliveryError) and str(error):
        return f"{type(error).__name__}: {error}"
    return type(error).__name__


class InboxWorker(PollingWorker):
    """Runs stored updates through the router, with the channels running in this process (platform → channel).

    `run(stop)` keeps up to `max_in_flight` updates in flight until `stop` is set, lets them finish, then releases
    its claims; `run_once()` does one round and waits for it (tests, tools); `wake()` asks it to look for work now
    (an update was just accepted) instead of at the next poll.

    While running, it claims again as soon as a slot is free rather than waiting for a whole batch, so a slow update
    (a long turn, a slow platform) holds up its own chat only: up to the free slots (at most `batch_size`) at once,
    and no sooner than `claim_interval` after the last claim, so a busy inbox is claimed from in chunks rather than
    once per finished update. A chat with an update in flight has none claimed: its next one is claimable only
    once that one is recorded (storage/inbox.py), which keeps each chat's updates in order and one at a time.
    """

    what = "inbox"

    def __init__(
        self,
        database: Database,
        router: Receiver,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 20,
        max_in_flight: int = 32,
        claim_interval: float = 0.025,
        lease: timedelta = inbox.LEASE,
        timeout: float = 60.0,
        poll_interval: float = 1.0,
        name: str | None = None,
    ) -> None:
        super().__init__(database, poll_interval=poll_interval, name=name)
        if batch_size < 1 or max_in_flight < 1:
            raise ValueError("batch_size and max_in_flight must be at least 1")
        self.router = router
        self.channels = dict(channels)
        self.clock = clock
        self.batch_size = batch_size
        """At most this many updates per claim."""
        self.max_in_flight = max_in_flight
        """At most this many updates processed at once by `run` (different chats, side by side)."""
        self.claim_interval = claim_interval
        """Seconds between the starts of two claims while running, at least."""
        self.lease = lease
        self.timeout = min(timeout, lease.total_seconds() / 2)
        """How long one update may take; well inside the lease, so no other worker takes it meanwhile."""
        self._in_flight: set[asyncio.Task[None]] = set()
        self._last_claim = -math.inf
        self._found_all = True
        """The last claim got fewer than it asked for: look (a read, no write lock) before claiming again."""
        self._to_mark: dict[int, asyncio.Future[bool]] = {}
        self._marking: asyncio.Task[None] | None = None

    @property
    def in_flight(self) -> int:
        """How many claimed updates `run` is processing now."""
        return len(self._in_flight)

    async def _round(self) -> bool:
        """Top up: wait for a free slot and the claim interval, claim what fits and start it without waiting for it.
        True when the claim got all it asked for (more may be waiting); a finished update wakes the worker too."""
        while len(self._in_flight) >= self.max_in_flight:
            if self._stop.is_set():
                return False
            await self._pause(self._stop, self.poll_interval)  # a finished update wakes it
        await self._sleep_until(self._last_claim + self.claim_interval)
        if self._stop.is_set():
            return False
        asked = min(self.batch_size, self.max_in_flight - len(self._in_flight))
        self._last_claim = time.monotonic()
        jobs = await self._claim(asked)
        for job in jobs:
            task = asyncio.create_task(self._process(job, Round()), name=f"inbox update {job.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return len(jobs) == asked

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # Recording the result failed (the database unreachable, say): the lease runs out, and the update is
            # claimed again; the dialogue replays a turn it already recorded.
            log.error("inbox: recording an update's result failed (%s)", type(error).__name__)
        self.wake()  # a slot is free, and the chat's next update may be claimable now

    async def _sleep_until(self, moment: float) -> None:
        """Wait until `moment` (time.monotonic()), or until the worker is told to stop."""
        delay = moment - time.monotonic()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _settle(self) -> None:
        """On stop, the updates in flight finish and their results are recorded. If the worker is cancelled, before
        or meanwhile (stopping took too long), they are cancelled and left to the release (no attempt counted)."""
        running = set(self._in_flight)
        current = asyncio.current_task()
        try:
            if running and not (current is not None and current.cancelling()):
                await asyncio.wait(running)
        finally:
            for task in running:
                task.cancel()  # nothing for those that finished
            if running:
                await asyncio.wait(running)
            if self._marking is not None:  # results of turns that did finish: let them land before the release
                await asyncio.wait([self._marking])

    async def _release_claims(self, session: AsyncSession) -> int:
        return await inbox.release(session, self.name)

    async def run_once(self) -> Round:
        """One round: claim a batch (one update per chat), process the chats side by side, record each result."""
        done = Round()
        self._found_all = True
        jobs = await self._claim(self.batch_size)
        results = await asyncio.gather(*(self._process(job, done) for job in jobs), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return done

    async def _claim(self, limit: int) -> list[_Job]:
        now = self.clock()
        if self._found_all:  # probably nothing to claim: an idle poll takes no write lock
            async with self.database.reading() as session:
                if not await inbox.has_due(session, now=now):
                    return []
        async with self.database.transaction() as session:
            claimed = await inbox.claim(session, now=now, limit=limit, worker=self.name, lease=self.lease)
            jobs = [_Job.of(row) for row in claimed]
        self._found_all = len(jobs) < limit
        return jobs

    async def _process(self, job: _Job, done: Round) -> None:
        try:
            incoming = Incoming.from_dict(job.incoming)
        except (KeyError, TypeError, ValueError) as error:
            await self._record_dead(job, f"unreadable update ({type(error).__name__})", done)
            return
        channel = self.channels.get(job.platform)
        if channel is None:
            await self._record_waiting(job, done)
            return
        try:
            async with asyncio.timeout(self.timeout):
                await self.router.receive(incoming, channel)
        except Exception as error:  # a channel's failure or a bug: this update is retried, the others go on
            log.warning("inbox update %s on %s failed (%s)", job.id, job.platform, type(error).__name__)
            await self._record_failed(job, _reason(error), done)
            return
        self._count(job, await self._mark_done(job.id), done.done, done)

    async def _mark_done(self, update_id: int) -> bool:
        """Record an update as processed, in one transaction with the others finished while the last such write
        waited for or held the write lock (one statement for many turns); True if it was still this worker's."""
        recorded = asyncio.get_running_loop().create_future()
        self._to_mark[update_id] = recorded
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_done_batches(), name="inbox results")
        # Shielded: a turn that ran to the end is recorded as done even if its task is cancelled meanwhile.
        return await asyncio.shield(recorded)

    async def _mark_done_batches(self) -> None:
        while self._to_mark:
            batch, self._to_mark = self._to_mark, {}
            try:
                async with self.database.transaction() as session:
                    recorded = await inbox.mark_done_many(session, batch, worker=self.name, now=self.clock())
            except Exception as error:  # noqa: BLE001 - handed to each update's task, which reports it
                for future in batch.values():
                    future.set_exception(error)
                continue
            for update_id, future in batch.items():
                future.set_result(update_id in recorded)

    async def _record_failed(self, job: _Job, reason: str, done: Round) -> None:
        async with self.database.transaction() as session:
            status = await inbox.mark_failed(session, job.id, reason, worker=self.name, now=self.clock())
        if status is InboxStatus.DEAD:
            log.error("inbox update %s on %s dead-lettered after %d attempts", job.id, job.platform, inbox.MAX_ATTEMPTS)
        self._count(job, status is not None, done.dead if status is InboxStatus.DEAD else done.retried, done)

    async def _record_waiting(self, job: _Job, done: Round) -> None:
        now = self.clock()
        async with self.database.transaction() as session:
            if job.received_at <= now - MAX_WAIT_FOR_CHANNEL:
                reason = f"no channel running for {job.platform}, for over {MAX_WAIT_FOR_CHANNEL.days} day(s)"
                recorded, into = await inbox.mark_dead(session, job.id, reason, worker=self.name, now=now), done.dead
            else:
                reason = f"no channel running here for {job.platform}"
                recorded, into = await inbox.postpone(session, job.id, now + WAIT_FOR_CHANNEL, reason, worker=self.name), done.waiting
        self._count(job, recorded, into, done)

    async def _record_dead(self, job: _Job, reason: str, done: Round) -> None:
        async with self.database.transaction() as session:
            recorded = await inbox.mark_dead(session, job.id, reason, worker=self.name, now=self.clock())
        self._count(job, recorded, done.dead, done)

    @staticmethod
    def _count(job: _Job, recorded: bool, into: list[int], done: Round) -> None:
        if recorded:
            into.append(job.id)
        else:
            log.warning("inbox update %s: the lease ran out before its result was recorded", job.id)
            done.lost.append(job.id)
