"""What a scheduled job's handler gets, and the table of kinds: the messages the assistant sends by itself.

One module per kind declares `jobs = Jobs()` and registers its handler with `@jobs.job("kind")`; the assistant's
own jobs (sweeps that look for what is due: the managers' digest, SLA warnings…) also give the rule they run on
(`every=`, an RRULE in UTC), and the scheduler keeps one schedule row per such kind. `actions.default_jobs()`
merges them, as `default_routes()` does for chat handlers.

A handler composes messages and hands them to `JobContext.send`, which queues them in the outbox in the same
transaction as the scheduler's bookkeeping, under an idempotency key made of what, for whom and for which due
instant: a firing repeated (a restart, a second replica, a retry) finds the key taken and queues nothing. `send`
also keeps the recipient's night quiet: a message that can wait is queued for the end of their quiet hours.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from actions.i18n import Translator
from actions.replies import Reply
from storage import outbox
from storage.holidays import holidays_between
from storage.people import Employee
from storage.schedules import QuietHours, Schedule, is_working_day, to_local, to_utc, zone_named

MAX_KEY = 200


@dataclass(frozen=True)
class ReminderPolicy:
    """The company's settings for what the assistant sends by itself (bot/settings.py fills it in)."""

    hour: int = 9
    """The local hour of the daily reminders: the managers' digest, "your leave starts tomorrow"."""
    digest_after: timedelta = timedelta(hours=24)
    """A leave request waiting longer than this goes into its decider's digest."""
    hr_after: timedelta = timedelta(hours=24)
    """An HR case whose last message waits for HR longer than this is brought up again."""
    sla_warning: float = 0.8
    """The share of a ticket's SLA after which its agent is warned."""
    quiet: QuietHours = QuietHours()


@dataclass
class JobContext:
    session: AsyncSession
    schedule: Schedule
    now: datetime
    """UTC, naive, as stored."""
    due: datetime
    """The instant this firing is for (UTC): the latest one due when several fell due while the assistant was down."""
    policy: ReminderPolicy
    calendars: dict[str, frozenset[date]] = field(default_factory=dict)
    """Public holidays by calendar, loaded once per scheduler round."""
    queued: int = 0
    """Messages this firing queued (not counting those a repeated firing found already queued)."""

    async def holidays(self, calendar: str) -> frozenset[date]:
        """The calendar's public holidays from a month ago to 400 days ahead (enough for any rule's next instant)."""
        if calendar not in self.calendars:
            today = self.now.date()
            found = await holidays_between(self.session, calendar, today - timedelta(days=31), today + timedelta(days=400))
            self.calendars[calendar] = frozenset(found)
        return self.calendars[calendar]

    def local(self, employee: Employee, moment: datetime | None = None) -> datetime:
        """`moment` (default: now) as the employee's wall-clock time, naive."""
        return to_local(moment or self.now, zone_named(employee.timezone))

    def instant(self, employee: Employee, local: datetime) -> datetime:
        """The employee's wall-clock time as a stored instant (UTC, naive)."""
        return to_utc(local, zone_named(employee.timezone))

    async def working_day(self, employee: Employee, day: date) -> bool:
        return is_working_day(day, await self.holidays(employee.calendar))

    async def daily_due(self, employee: Employee) -> datetime | None:
        """Today's instant of a daily reminder for this person (the policy's hour, their time zone), if it has come,
        today is a working day of their calendar and it is not night yet; else None (tomorrow's will do)."""
        local = self.local(employee)
        moment = datetime.combine(local.date(), time(self.policy.hour))
        if local < moment or self.policy.quiet.contains(local.time()) or not await self.working_day(employee, local.date()):
            return None
        return self.instant(employee, moment)

    async def send(
        self,
        recipient: Employee,
        build: Callable[[Translator], Sequence[Reply]],
        *,
        key: str,
        at: datetime | None = None,
        explicit: bool = False,
    ) -> bool:
        """Queue `build`'s replies (in the recipient's language) under `key`, unless that key was queued before;
        True if queued now. Unless `explicit`, a message due in the recipient's quiet hours waits for the morning."""
        if not recipient.active or len(key) > MAX_KEY:
            return False
        moment = at or self.now
        if not explicit:
            moment = self.instant(recipient, self.policy.quiet.morning_after(self.local(recipient, moment)))
        for position, reply in enumerate(build(Translator(recipient.language))):
            part_key = key if position == 0 else f"{key}/{position}"[:MAX_KEY]
            queued = await outbox.queue_once(
                self.session, recipient.id, reply.to_dict(), due_at=moment, idempotency_key=part_key, live_key=reply.live_key
            )
            if not queued and position == 0:  # a repeated firing: this key, and so its later parts, queued before
                return False
            self.queued += queued
        return True


def job_key(kind: str, recipient: Employee, due: datetime, *subject: object) -> str:
    """What, for whom, for which due instant (and about what, when one firing tells one person of several things)."""
    return ":".join([kind, str(recipient.id), f"{due:%Y%m%dT%H%M}", *(str(part) for part in subject)])


JobHandler = Callable[[JobContext], Awaitable[None]]


@dataclass
class Jobs:
    handlers: dict[str, JobHandler] = field(default_factory=dict)
    system: dict[str, str] = field(default_factory=dict)
    """The assistant's own jobs: kind → the RRULE (UTC) it runs on."""

    def job(self, kind: str, *, every: str | None = None) -> Callable[[JobHandler], JobHandler]:
        """Register the handler of a kind; `every` (an RRULE) makes it one of the assistant's own jobs."""

        def register(handler: JobHandler) -> JobHandler:
            self._claim(kind, handler, every)
            return handler

        return register

    def include(self, other: Jobs) -> None:
        for kind, handler in other.handlers.items():
            self._claim(kind, handler, other.system.get(kind))

    def only(self, *kinds: str) -> Jobs:
        """The same table limited to some kinds (a scheduler that fires only personal reminders, say)."""
        return Jobs({kind: self.handlers[kind] for kind in kinds}, {kind: self.system[kind] for kind in kinds if kind in self.system})

    def _claim(self, kind: str, handler: JobHandler, every: str | None) -> None:
        if kind in self.handlers and self.handlers[kind] is not handler:
            raise ValueError(f"scheduled kind {kind!r} is already handled by {self.handlers[kind]!r}")
        self.handlers[kind] = handler
        if every is not None:
            self.system[kind] = every
