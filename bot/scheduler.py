"""The scheduler in `backoffice run`: fires the due schedules (storage/schedules.py), one replica at a time.

APScheduler 3.11 (`AsyncIOScheduler`) keeps the time inside the process: a round every `poll_interval`, and one more
at the earliest due instant the last round saw, so a reminder for 09:00:00 goes out then and not at the next poll.
What to fire lives in the database, not in APScheduler: its job store holds just those two in-memory jobs, bound
methods of this object, nothing pickled or persisted. Its persistent stores would be the wrong place for the
schedules themselves — a store "must never be shared between schedulers" (its user guide), so replicas could not
share one, and the table is what chat, `backoffice schedule` and every replica read. The rounds' own clock is
injected (`clock`), so tests move time without waiting for it; python-dateutil's `rrule` gives a rule's next instant.

Each round, every replica tries to lead: the lease row (`scheduler_leases`) is taken by a conditional UPDATE that
succeeds only for its holder or once it has expired, so one replica leads and another takes over within `lease` (25 s)
plus one poll (5 s) after the leader dies; a leader that stops cleanly gives the lease up at once. The leader then
claims due schedules (PostgreSQL: `FOR UPDATE SKIP LOCKED`) in one transaction that first re-reads its lease under a
shared lock — nobody can take over while it fires — and, per schedule, in a savepoint: runs the kind's handler
(actions/scheduled.py), which queues outbox messages under idempotency keys (kind, recipient, due instant), and moves
the schedule to its next instant. A schedule that fell due several times while no one was leading fires once, for
the latest instant (one digest, not twelve); a failing handler is logged and tried again a few minutes later, without
holding up the others; a failed round (the database unreachable) is tried again after a growing pause. Delivery is
the outbox worker's, on every replica.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.scheduled import JobContext, Jobs, ReminderPolicy
from bot.polling import MAX_PAUSE_AFTER_FAILURES, ClaimingWorker
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
LOCKED_ROW_PAUSE = 1.0
"""Seconds before another round for a schedule that was due but not fired (its row locked by someone else)."""
ROUND, DUE = "round", "due"
"""The timer's two jobs: the regular round, and the one armed at the earliest due instant."""


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
    next_due: datetime | None = None
    """The earliest instant something is due after this round (UTC, naive), for the timer; None if nothing is."""


class Scheduler(ClaimingWorker):
    """Fires the due schedules of the kinds in `jobs` while this replica holds the leader lease.

    `run(stop)` until `stop` is set (then the lease is given up); `run_once()` does one round (tests, tools).
    Its rounds are timed by APScheduler (`run`), not by a `PollingWorker` loop; its claim is the leader lease.
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
        self._timer: AsyncIOScheduler | None = None
        self._busy = asyncio.Lock()
        self._again = False
        self._failures = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Fire due schedules until `stop` is set; a round in progress finishes, then the lease is given up."""
        self._stop = stop
        timer = AsyncIOScheduler(
            timezone=UTC,
            # The round decides itself whether to run (`_tick`): APScheduler must not skip a run with a warning.
            job_defaults={"coalesce": True, "max_instances": 2, "misfire_grace_time": None},
        )
        timer.add_job(self._tick, IntervalTrigger(seconds=self.poll_interval, timezone=UTC), id=ROUND, next_run_time=_wall_now())
        timer.start()
        self._timer = timer
        try:
            await stop.wait()
        finally:
            timer.pause()
            self._timer = None
            try:
                async with self._busy:  # the round in progress ends with its transaction, not in the middle
                    pass
            finally:
                timer.shutdown(wait=False)
                await self.release()

    def wake(self) -> None:
        """Start a round now rather than at the next one's time."""
        if self._timer is not None:
            self._timer.modify_job(ROUND, next_run_time=_wall_now())

    async def _tick(self) -> None:
        if self._stop.is_set():
            return
        if self._busy.locked():  # the running round goes on for another one instead
            self._again = True
            return
        async with self._busy:
            firing, more = Firing(), True
            while (more or self._again) and not self._stop.is_set():
                self._again = False
                try:
                    firing = await self.run_once()
                except Exception as error:  # the database is unreachable, say: keep going, try again a bit later
                    self._failures += 1
                    pause = min(self.poll_interval * 2**self._failures, MAX_PAUSE_AFTER_FAILURES)
                    log.error("schedule round failed (%s); trying again in %.0f s", type(error).__name__, pause)
                    self._at(ROUND, _wall_now() + timedelta(seconds=pause))
                    return
                self._failures = 0
                more = self._more(firing)
            self._arm(firing.next_due)

    def _more(self, firing: Firing) -> bool:
        """Whether the round took a full batch, so more may be due right away."""
        return len(firing.fired) + len(firing.failed) >= self.batch_size

    def _arm(self, next_due: datetime | None) -> None:
        """A round at `next_due` when it comes before the next regular one (tests' clocks are not the wall's: the
        timer is set by how far off it is, not for the instant itself)."""
        timer = self._timer
        if timer is None:
            return
        wait = (next_due - self.clock()).total_seconds() if next_due is not None and self.leading else None
        if wait is None or wait >= self.poll_interval:
            if timer.get_job(DUE) is not None:
                timer.remove_job(DUE)
            return
        # Due already, yet not fired by the round just run: its row is locked (a chat cancelling that reminder, on
        # PostgreSQL). A short pause, not a round straight away, again and again while the lock is held.
        if wait <= 0:
            wait = min(LOCKED_ROW_PAUSE, self.poll_interval)
        timer.add_job(self._tick, DateTrigger(_wall_now() + timedelta(seconds=wait), timezone=UTC), id=DUE, replace_existing=True)

    def _at(self, job: str, moment: datetime) -> None:
        if self._timer is not None:
            self._timer.modify_job(job, next_run_time=moment)

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
            earliest = await schedules.earliest_due(session, kinds=self.jobs.handlers)
        if earliest is None or earliest > now:
            firing.next_due = earliest
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
            try:
                async with session.begin_nested():  # the whole round in one savepoint: the usual case, and cheap
                    for schedule in due:
                        await self._fire(session, schedule, now, calendars, firing, alone=False)
            except Exception as error:
                # A handler failed, and the savepoint undid the round: again with a savepoint per schedule, so only the
                # broken one waits to be retried. (Claimed again: the rollback expired the rows' changed attributes.)
                log.info("a scheduled job failed (%s); firing this round's jobs one by one", type(error).__name__)
                firing = Firing(leader=True)
                due = await schedules.claim_due(session, now=now, kinds=self.jobs.handlers, limit=self.batch_size)
                for schedule in due:
                    await self._fire(session, schedule, now, calendars, firing, alone=True)
            del owners
        if firing.queued and self.on_queued is not None:
            self.on_queued()
        async with self.database.reading() as session:  # what this round left for the timer: the next instant due
            firing.next_due = await schedules.earliest_due(session, kinds=self.jobs.handlers)
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
        self, session: AsyncSession, schedule: Schedule, now: datetime, calendars: dict[str, frozenset[date]], firing: Firing,
        *, alone: bool,
    ) -> None:
        """Fire one schedule: its handler, then its next instant. `alone`: in a savepoint of its own, so a failure
        (the handler's, or a rule that no longer reads) is logged and the schedule retried later, instead of the
        failure undoing the caller's savepoint."""
        schedule_id, kind = schedule.id, schedule.kind  # a rolled-back savepoint expires the row's attributes
        try:
            if alone:
                async with session.begin_nested():
                    ctx = await self._run(session, schedule, now, calendars)
            else:
                ctx = await self._run(session, schedule, now, calendars)
        except Exception as error:  # one broken job must not stop the others; it is tried again later
            if not alone:
                raise
            log.warning("scheduled %s %s failed (%s); trying again in %s", kind, schedule_id, type(error).__name__, RETRY_FAILED)
            schedules.failed(schedule, error, retry_at=now + RETRY_FAILED)
            firing.failed.append(schedule_id)
            return
        firing.fired.append((schedule_id, kind, ctx.due))
        firing.queued += ctx.queued

    async def _run(self, session: AsyncSession, schedule: Schedule, now: datetime, calendars: dict[str, frozenset[date]]) -> JobContext:
        assert schedule.next_due is not None
        owner = await session.get(Employee, schedule.owner_id) if schedule.owner_id is not None else None
        ctx = JobContext(session, schedule, now, schedule.next_due, self.policy, calendars)
        holidays = await ctx.holidays(owner.calendar) if owner is not None else frozenset[date]()
        timing = Timing.of(schedule, self.policy.quiet)
        ctx.due = schedules.latest_until(timing, schedule.next_due, now, holidays)
        await self.jobs.handlers[schedule.kind](ctx)
        schedule.last_fired, schedule.last_error = ctx.due, ""
        schedule.next_due = schedules.next_after(timing, now, holidays)
        if schedule.next_due is None:
            schedule.active = False
        return ctx


def _wall_now() -> datetime:
    return datetime.now(UTC)
