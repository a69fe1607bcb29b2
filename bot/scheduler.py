"""The scheduler in `backoffice run`: fires the due schedules (storage/schedules.py), one replica at a time.

Built on the database and the polling loop every worker here shares (bot/polling.py), not on APScheduler. The issue
named APScheduler 3.11 as the building block; it was weighed and left out, because what it would add is what must
not be relied on here: its job stores hold pickled callables, a persistent one "must never be shared between
schedulers" (its user guide) — so it offers no way for several replicas to share one set of jobs —, its in-memory
store would be a second copy of the schedule to keep in step with the table, and its triggers run on the wall clock,
where our tests move an injected one. What remains of it once the database is the source of truth (an RFC 5545 rule's
next instant) is python-dateutil's `rrule`, which we use directly.

Each round, every replica tries to lead: the lease row (`scheduler_leases`) is taken by a conditional UPDATE that
succeeds only for its holder or once it has expired, so one replica leads and another takes over within `lease` (25 s)
plus one poll (5 s) after the leader dies; a leader that stops cleanly gives the lease up at once. The leader then
claims due schedules (PostgreSQL: `FOR UPDATE SKIP LOCKED`) in one transaction that first re-reads its lease under a
shared lock — nobody can take over while it fires — and, per schedule, in a savepoint: runs the kind's handler
(actions/scheduled.py), which queues outbox messages under idempotency keys (kind, recipient, due instant), and moves
the schedule to its next instant. A schedule that fell due several times while no one was leading fires once, for
the latest instant (one digest, not twelve); a failing handler is logged and tried again a few minutes later, without
holding up the others. Delivery is the outbox worker's, on every replica.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.scheduled import JobContext, Jobs, ReminderPolicy
from bot.polling import PollingWorker
from bot.settings import Settings
from storage import schedules
from storage.base import utcnow
from storage.database import Database
from storage.people import Employee
from storage.schedules import QuietHours, Schedule, Timing

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=25)
RENEW_WHEN_LEFT = timedelta(seconds=15)
"""A leader renews its lease once less than this is left (a write every few rounds, not every round)."""
RETRY_FAILED = timedelta(minutes=5)


def policy_from(settings: Settings) -> ReminderPolicy:
    """The reminder settings (REMINDER_HOUR, DIGEST_AFTER_HOURS, HR_FOLLOW_UP_HOURS, QUIET_HOURS) as the jobs read them."""
    return ReminderPolicy(
        hour=settings.reminder_hour,
        digest_after=timedelta(hours=settings.digest_after_hours),
        hr_after=timedelta(hours=settings.hr_follow_up_hours),
        quiet=QuietHours.parse(settings.quiet_hours),
    )


@dataclass
class Firing:
    """What one `Scheduler.run_once` did."""

    leader: bool = False
    fired: list[tuple[int, str, datetime]] = field(default_factory=list)
    """(schedule id, kind, due instant) of each schedule fired."""
    failed: list[int] = field(default_factory=list)
    queued: int = 0
    """Outbox messages queued."""


class Scheduler(PollingWorker):
    """Fires the due schedules of the kinds in `jobs` while this replica holds the leader lease.

    `run(stop)` until `stop` is set (then the lease is given up); `run_once()` does one round (tests, tools).
    """

    what = "schedule"

    def __init__(
        self,
        database: Database,
        jobs: Jobs,
        *,
        policy: ReminderPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = LEASE,
        poll_interval: float = 5.0,
        batch_size: int = 200,
        name: str | None = None,
        on_queued: Callable[[], None] | None = None,
        lease_name: str = schedules.LEADER,
    ) -> None:
        super().__init__(database, poll_interval=poll_interval, name=name)
        self.jobs = jobs
        self.policy = policy or ReminderPolicy()
        self.clock = clock
        self.lease = lease
        self.batch_size = batch_size
        self.on_queued = on_queued
        """Called after a round that queued messages (the service wakes its delivery worker)."""
        self.lease_name = lease_name
        """Schedulers under different lease names each lead (tests show the idempotency keys hold even then)."""
        self.leading = False

    async def _round(self) -> bool:
        firing = await self.run_once()
        return len(firing.fired) + len(firing.failed) >= self.batch_size

    async def _release_claims(self, session: AsyncSession) -> int:
        released = await schedules.release(session, self.name, now=self.clock(), name=self.lease_name)
        self.leading = False
        return released

    async def run_once(self) -> Firing:
        now = self.clock()
        if not await self._lead(now):
            return Firing()
        firing = Firing(leader=True)
        async with self.database.reading() as session:  # an idle round takes no write lock
            if not await schedules.has_due(session, now=now, kinds=self.jobs.handlers):
                return firing
        async with self.database.transaction() as session:
            if not await schedules.holds(session, self.name, now=now, name=self.lease_name):
                self.leading = False
                return Firing()
            calendars: dict[str, frozenset[date]] = {}
            due = await schedules.claim_due(session, now=now, kinds=self.jobs.handlers, limit=self.batch_size)
            # The owners in one query (their roles in one more), held for the round (the session's identity map keeps
            # only weak references), so each firing finds its owner there instead of loading it alone: a third of a
            # personal reminder's CPU in a round of 200 (3.2 → 2.2 ms, tests/benchmarks/scheduler_benchmark.py).
            owner_ids = {schedule.owner_id for schedule in due if schedule.owner_id is not None}
            owners = list(await session.scalars(select(Employee).where(Employee.id.in_(owner_ids)))) if owner_ids else []
            for schedule in due:
                await self._fire(session, schedule, now, calendars, firing)
            del owners
        if firing.queued and self.on_queued is not None:
            self.on_queued()
        return firing

    async def _lead(self, now: datetime) -> bool:
        async with self.database.reading() as session:
            lease = await schedules.lease_of(session, self.lease_name)
        if lease is not None and lease.expires_at > now:
            if lease.holder != self.name:
                self._follow(lease.holder)
                return False
            if self.leading and lease.expires_at - now > RENEW_WHEN_LEFT:
                return True
        async with self.database.transaction() as session:
            leading = await schedules.acquire(session, self.name, now=now, ttl=self.lease, name=self.lease_name)
            if leading and not self.leading:
                await schedules.ensure_system(session, self.jobs.system, now=now)
        if leading and not self.leading:
            log.info("leading the scheduler (%s)", self.name)
        self.leading = leading
        return leading

    def _follow(self, holder: str) -> None:
        if self.leading:
            log.warning("the scheduler lease passed to %s; no longer firing schedules", holder)
        self.leading = False

    async def _fire(
        self, session: AsyncSession, schedule: Schedule, now: datetime, calendars: dict[str, frozenset[date]], firing: Firing
    ) -> None:
        assert schedule.next_due is not None
        owner = await session.get(Employee, schedule.owner_id) if schedule.owner_id is not None else None
        ctx = JobContext(session, schedule, now, schedule.next_due, self.policy, calendars)
        holidays = await ctx.holidays(owner.calendar) if owner is not None else frozenset[date]()
        timing = Timing.of(schedule, self.policy.quiet)
        ctx.due = schedules.latest_until(timing, schedule.next_due, now, holidays)
        try:
            async with session.begin_nested():
                await self.jobs.handlers[schedule.kind](ctx)
        except Exception as error:  # one broken job must not stop the others; it is tried again later
            log.warning("scheduled %s %s failed (%s); trying again in %s", schedule.kind, schedule.id, type(error).__name__, RETRY_FAILED)
            schedules.failed(schedule, error, retry_at=now + RETRY_FAILED)
            firing.failed.append(schedule.id)
            return
        schedule.last_fired, schedule.last_error = ctx.due, ""
        schedule.next_due = schedules.next_after(timing, now, holidays)
        if schedule.next_due is None:
            schedule.active = False
        firing.fired.append((schedule.id, schedule.kind, ctx.due))
        firing.queued += ctx.queued
