"""Schedules: what the assistant says without being asked, and when — kept as data, never as code.

A row is one scheduled job. Its `kind` names the module in actions/ that composes the messages (a personal
reminder, the managers' digest…); `owner_id` is the person a personal reminder belongs to (None for the assistant's
own jobs, which have a `slug` instead, one row per kind). When it fires is data too: a fixed instant (`once_at`,
UTC) or an RFC 5545 recurrence (`rule`: a DTSTART line in floating local time and an RRULE line, read with
python-dateutil's `rrulestr`) in `timezone`, so "every Friday at 17:00" stays at 17:00 across a DST change. Nothing
executable is stored (no pickled callable): the kind names a handler, the rule is text a person can read.

Each instant the rule gives is then adjusted, in the owner's local time: on a weekend or public holiday of their
calendar it is dropped or moved to the next working day (`working_days`), and in quiet hours it waits for the
morning — unless the person set the time explicitly (`explicit_time`) or the job ignores quiet hours
(`quiet_hours` false). `next_due` is the next adjusted instant in UTC (the scheduler's index looks only at it);
`last_fired` the due instant fired last; a job with no instant left becomes inactive.

`scheduler_leases` holds one row per lease name: the replica whose lease has not expired is the one that fires
schedules (bot/scheduler.py); taking it over is one conditional UPDATE, the same statement on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr
from sqlalchemy import ForeignKey, Index, String, Text, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage import audit
from storage.base import Base, str_enum, utcnow
from storage.database import dialect_insert
from storage.errors import Conflict, InvalidRequest, NotFound
from storage.holidays import WEEKEND
from storage.people import Employee

UTC = ZoneInfo("UTC")
MAX_ERROR = 500
LEADER = "scheduler"
"""The name of the lease whose holder fires the schedules."""
PERSONAL = "personal"
"""The kind of a person's own reminders (actions/reminders.py)."""
SCAN_BACK = timedelta(days=21)
"""How far before a moment to start reading a rule: an instant that far back can still move past it (to the next
working day after a long holiday, or out of the night)."""
SCAN_AHEAD = timedelta(days=800)
"""How far ahead a rule is read before it counts as giving nothing more (every day of it skipped, say)."""
MAX_COALESCED = 20_000
"""At most this many missed instants are stepped over to find the latest one (a 15-minute job down for 200 days)."""


class WorkingDays(enum.StrEnum):
    """What an instant falling on a weekend or public holiday of the owner's calendar does."""

    ANY = "any"
    """Fires all the same ("every day", "every Friday")."""
    SKIP = "skip"
    """Is dropped ("every working day")."""
    NEXT = "next"
    """Moves to the next working day at the same time ("the first working day of the month")."""


class Schedule(Base):
    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_due", "active", "next_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), doc="Which module in actions/ composes its messages.")
    slug: Mapped[str | None] = mapped_column(String(40), unique=True, doc="The assistant's own jobs: one row per kind.")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", ondelete="CASCADE"), index=True, doc="Whose reminder it is (None: the assistant's)."
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict, doc="What the kind needs, e.g. a reminder's text.")
    rule: Mapped[str | None] = mapped_column(Text, doc="RFC 5545 DTSTART (floating local time) and RRULE lines.")
    once_at: Mapped[datetime | None] = mapped_column(doc="A one-off job's instant (UTC).")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    working_days: Mapped[WorkingDays] = mapped_column(str_enum(WorkingDays), default=WorkingDays.ANY)
    quiet_hours: Mapped[bool] = mapped_column(default=True, doc="Waits out the night in the owner's time zone.")
    explicit_time: Mapped[bool] = mapped_column(default=False, doc="The person chose the time: fires even at night.")
    next_due: Mapped[datetime | None]
    last_fired: Mapped[datetime | None] = mapped_column(doc="The due instant it fired for last (UTC).")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="", doc="Why the last firing failed (retried later).")


class SchedulerLease(Base):
    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(40))
    acquired_at: Mapped[datetime] = mapped_column(doc="When the holder took it (renewals keep it).")
    expires_at: Mapped[datetime]


# --- time ---------------------------------------------------------------------------------------------------------


def zone_named(name: str) -> ZoneInfo:
    """The time zone, or UTC for a name this machine doesn't know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    """A stored (naive UTC) instant as naive wall-clock time in `zone`."""
    return moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Naive wall-clock time in `zone` as a stored (naive UTC) instant. A time skipped by a DST change (02:30 on the
    spring-forward night) is read with the offset before the change, so it lands an hour later on the clock."""
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() not in WEEKEND and day not in holidays


def next_working_day(day: date, holidays: Collection[date]) -> date:
    """`day` itself if it is a working day, else the next one (weekends and holidays skipped)."""
    for _ in range(366):
        if is_working_day(day, holidays):
            return day
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class QuietHours:
    """The night in a person's local time: nothing that can wait is sent then (it goes out at `end`)."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """"21:00-08:00" (or "21-8"); raises ValueError for anything else."""
        match = re.fullmatch(r"\s*(\d{1,2})(?::(\d{2}))?\s*[-–]\s*(\d{1,2})(?::(\d{2}))?\s*", text)
        if not match:
            raise ValueError(f"{text!r} is not a range like 21:00-08:00")
        start_hour, start_minute, end_hour, end_minute = match.groups()
        return cls(time(int(start_hour), int(start_minute or 0)), time(int(end_hour), int(end_minute or 0)))

    def contains(self, clock: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def morning_after(self, local: datetime) -> datetime:
        """`local` itself outside quiet hours, else the end of the quiet hours it falls in."""
        if not self.contains(local.time()):
            return local
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)
        return datetime.combine(day, self.end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Timing:
    """When a schedule fires, as `occurrences` reads it."""

    rule: str | None
    once_at: datetime | None
    zone: ZoneInfo
    working_days: WorkingDays = WorkingDays.ANY
    quiet: QuietHours | None = None
    """None: instants are not moved out of the night."""

    @classmethod
    def of(cls, schedule: Schedule, quiet: QuietHours) -> Timing:
        waits = schedule.quiet_hours and not schedule.explicit_time
        return cls(schedule.rule, schedule.once_at, zone_named(schedule.timezone), schedule.working_days, quiet if waits else None)


def recurrence(start: datetime, rrule: str) -> str:
    """The stored rule: RFC 5545 DTSTART in floating local time (the schedule's `timezone` says where) and RRULE."""
    body = rrule.removeprefix("RRULE:")
    if re.search(r"(?:^|;)(?:COUNT|UNTIL)=", body):
        raise ValueError("rules end by being cancelled, not with COUNT or UNTIL")
    rrulestr(f"RRULE:{body}", dtstart=start)  # refuses a malformed rule here rather than when it fires
    return f"DTSTART:{start:%Y%m%dT%H%M%S}\nRRULE:{body}"


_DTSTART = re.compile(r"DTSTART:(\d{8}T\d{6})")
_FREQ = re.compile(r"(?:^|[;:])FREQ=(\w+)")
_INTERVAL = re.compile(r"(?:^|;)INTERVAL=(\d+)")
_STEPS = {"MINUTELY": timedelta(minutes=1), "HOURLY": timedelta(hours=1), "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}


def _rebased(rule: str, near: datetime) -> str:
    """The same series with DTSTART moved forward by whole periods to just before `near`.

    dateutil iterates a rule from its DTSTART, so a job firing every 15 minutes would step through every quarter
    hour since it was created on each look-up; shifted by whole periods (the rules here have no COUNT), the series
    is the same and the look-up stays short."""
    found, freq = _DTSTART.search(rule), _FREQ.search(rule)
    if found is None or freq is None:
        return rule
    start = datetime.strptime(found.group(1), "%Y%m%dT%H%M%S")
    if near <= start:
        return rule
    interval = int(match.group(1)) if (match := _INTERVAL.search(rule.split("RRULE:", 1)[-1])) else 1
    if freq.group(1) in _STEPS:
        step = _STEPS[freq.group(1)] * interval
        moved = start + step * ((near - start) // step)
    elif freq.group(1) == "MONTHLY" and start.day <= 28:
        months = (near.year - start.year) * 12 + near.month - start.month
        months -= months % interval
        total = start.month - 1 + months
        moved = start.replace(year=start.year + total // 12, month=total % 12 + 1)
    else:
        return rule
    return rule.replace(found.group(0), f"DTSTART:{moved:%Y%m%dT%H%M%S}", 1)


def _adjusted(local: datetime, timing: Timing, holidays: Collection[date]) -> datetime | None:
    if not is_working_day(local.date(), holidays):
        if timing.working_days is WorkingDays.SKIP:
            return None
        if timing.working_days is WorkingDays.NEXT:
            local = datetime.combine(next_working_day(local.date(), holidays), local.time())
    if timing.quiet is not None:
        local = timing.quiet.morning_after(local)
    return local


def occurrences(timing: Timing, after: datetime, holidays: Collection[date] = ()) -> Iterator[datetime]:
    """The schedule's adjusted instants strictly after `after`, in order, as naive UTC.

    `holidays` are the owner's public holidays (those outside the span it covers count as working days)."""
    if timing.rule is None:
        if timing.once_at is None:
            return
        local = _adjusted(to_local(timing.once_at, timing.zone), timing, holidays)
        if local is not None and (moment := to_utc(local, timing.zone)) > after:
            yield moment
        return
    start = to_local(after, timing.zone) - SCAN_BACK
    series = rrulestr(_rebased(timing.rule, start))
    last = after
    for raw in series.xafter(start, inc=True):
        if raw > start + SCAN_BACK + SCAN_AHEAD:
            return
        local = _adjusted(raw, timing, holidays)
        if local is None:
            continue
        moment = to_utc(local, timing.zone)
        if moment > last:  # adjusting keeps the order, but may land two instants on one (Sat and Sun → Mon)
            last = moment
            yield moment


def next_after(timing: Timing, after: datetime, holidays: Collection[date] = ()) -> datetime | None:
    return next(occurrences(timing, after, holidays), None)


def latest_until(timing: Timing, first: datetime, until: datetime, holidays: Collection[date] = ()) -> datetime:
    """The last instant from `first` (itself one) up to `until`: what a job that fell due while the assistant was
    down fires for, once, instead of once for every instant it missed."""
    latest = first
    for count, moment in enumerate(occurrences(timing, first, holidays)):
        if moment > until or count >= MAX_COALESCED:
            break
        latest = moment
    return latest


# --- rows ---------------------------------------------------------------------------------------------------------


async def add(
    session: AsyncSession,
    *,
    kind: str,
    owner: Employee | None,
    next_due: datetime,
    payload: dict[str, Any] | None = None,
    rule: str | None = None,
    once_at: datetime | None = None,
    timezone: str = "UTC",
    working_days: WorkingDays = WorkingDays.ANY,
    quiet_hours: bool = True,
    explicit_time: bool = False,
    now: datetime | None = None,
) -> Schedule:
    """Store a job (its first instant worked out by the caller, who knows the owner's holidays); audited."""
    if (rule is None) == (once_at is None):
        raise InvalidRequest("A schedule needs a rule or a single instant, not both.", code="schedule_shape")
    schedule = Schedule(
        kind=kind, owner_id=owner.id if owner else None, payload=payload or {}, rule=rule, once_at=once_at,
        timezone=timezone, working_days=working_days, quiet_hours=quiet_hours, explicit_time=explicit_time,
        next_due=next_due, active=True, created_at=now or utcnow(),
    )
    session.add(schedule)
    await session.flush()
    await audit.record(
        session, actor_id=owner.id if owner else None, action="schedule.added", entity="schedule", entity_id=schedule.id,
        details={"kind": kind, "rule": rule or "once"}, at=now,
    )
    return schedule


async def of_owner(session: AsyncSession, owner_id: int, kind: str = PERSONAL) -> list[Schedule]:
    """The person's active jobs of a kind, the next one first."""
    rows = await session.scalars(
        select(Schedule)
        .where(Schedule.owner_id == owner_id, Schedule.kind == kind, Schedule.active)
        .order_by(Schedule.next_due, Schedule.id)
    )
    return list(rows)


async def cancel(session: AsyncSession, owner: Employee, schedule_id: int, *, now: datetime | None = None) -> Schedule:
    """The owner cancels one of their jobs (audited); someone else's, or an unknown one, is NotFound."""
    schedule = await session.get(Schedule, schedule_id, with_for_update=True)
    if schedule is None or schedule.owner_id != owner.id:
        raise NotFound(f"No reminder {schedule_id}.", code="schedule_not_found", schedule_id=schedule_id)
    if not schedule.active:
        raise Conflict(f"Reminder {schedule_id} is no longer active.", code="schedule_inactive", schedule_id=schedule_id)
    at = now or utcnow()
    schedule.active, schedule.cancelled_at, schedule.next_due = False, at, None
    await audit.record(session, actor_id=owner.id, action="schedule.cancelled", entity="schedule", entity_id=schedule.id, at=at)
    await session.flush()
    return schedule


async def ensure_system(session: AsyncSession, rules: Mapping[str, str], *, now: datetime) -> None:
    """The assistant's own jobs (kind → RRULE, in UTC) exist and have the rule this code gives them; a new or changed
    one is due at once (the jobs are sweeps: running one early only finds nothing new)."""
    start = datetime.combine(now.date(), time())
    for kind, rrule in rules.items():
        rule = recurrence(start, rrule)
        existing = await session.scalar(select(Schedule).where(Schedule.slug == kind))
        if existing is None:
            await session.execute(
                dialect_insert(session, Schedule.__table__)
                .values(
                    kind=kind, slug=kind, payload={}, rule=rule, timezone="UTC", working_days=WorkingDays.ANY.value,
                    quiet_hours=False, explicit_time=False, next_due=now, active=True, created_at=now, last_error="",
                )
                .on_conflict_do_nothing(index_elements=["slug"])
            )
        elif existing.rule is None or existing.rule.split("RRULE:", 1)[-1] != rule.split("RRULE:", 1)[-1] or not existing.active:
            existing.rule, existing.active, existing.next_due = rule, True, now


async def earliest_due(session: AsyncSession, *, kinds: Iterable[str]) -> datetime | None:
    """The earliest instant an active schedule of these kinds is due (UTC, naive); None if none is."""
    return await session.scalar(select(func.min(Schedule.next_due)).where(Schedule.active, Schedule.kind.in_(list(kinds))))


async def claim_due(session: AsyncSession, *, now: datetime, kinds: Iterable[str], limit: int) -> list[Schedule]:
    """Due jobs of these kinds, locked for this transaction; PostgreSQL skips rows another transaction holds."""
    rows = await session.scalars(
        select(Schedule)
        .where(Schedule.active, Schedule.next_due <= now, Schedule.kind.in_(list(kinds)))
        .order_by(Schedule.next_due, Schedule.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


def failed(schedule: Schedule, error: BaseException, *, retry_at: datetime) -> None:
    schedule.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR]
    schedule.next_due = retry_at


@dataclass(frozen=True)
class Listed:
    """One row of `backoffice schedule` (never a reminder's text)."""

    id: int
    kind: str
    owner: str | None
    rule: str
    timezone: str
    next_due: datetime | None
    last_fired: datetime | None
    active: bool
    last_error: str


async def listing(session: AsyncSession, *, include_inactive: bool = False, limit: int = 500) -> list[Listed]:
    query = (
        select(
            Schedule.id, Schedule.kind, Employee.email, Schedule.rule, Schedule.once_at, Schedule.timezone,
            Schedule.next_due, Schedule.last_fired, Schedule.active, Schedule.last_error,
        )
        .outerjoin(Employee, Employee.id == Schedule.owner_id)
        .order_by(Schedule.active.desc(), Schedule.next_due, Schedule.id)
        .limit(limit)
    )
    if not include_inactive:
        query = query.where(Schedule.active)
    rows = await session.execute(query)
    return [
        Listed(id_, kind, email, _shown_rule(rule, once_at), zone, next_due, last_fired, active, error)
        for id_, kind, email, rule, once_at, zone, next_due, last_fired, active, error in rows
    ]


def _shown_rule(rule: str | None, once_at: datetime | None) -> str:
    if rule is None:
        return f"once {once_at:%Y-%m-%d %H:%M} UTC" if once_at else "once"
    return rule.split("RRULE:", 1)[-1].strip()


# --- the leader lease ---------------------------------------------------------------------------------------------


async def lease_of(session: AsyncSession, name: str = LEADER) -> SchedulerLease | None:
    return await session.get(SchedulerLease, name, populate_existing=True)


async def acquire(session: AsyncSession, holder: str, *, now: datetime, ttl: timedelta, name: str = LEADER) -> bool:
    """Take or renew the lease: one UPDATE that succeeds only for its holder or once it has expired (PostgreSQL
    re-checks the condition after waiting for a concurrent taker, so only one of two wins), else an INSERT of the
    first lease that yields to a concurrent one. True if `holder` holds it until `now + ttl`."""
    renewed = await session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name, or_(SchedulerLease.holder == holder, SchedulerLease.expires_at <= now))
        .values(
            holder=holder,
            expires_at=now + ttl,
            acquired_at=case((SchedulerLease.holder == holder, SchedulerLease.acquired_at), else_=now),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(renewed, "rowcount", 0) == 1:
        return True
    created = await session.execute(
        dialect_insert(session, SchedulerLease.__table__)
        .values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return getattr(created, "rowcount", 0) == 1


async def holds(session: AsyncSession, holder: str, *, now: datetime, name: str = LEADER) -> bool:
    """Whether `holder` still holds an unexpired lease, read under a shared lock on PostgreSQL: until this
    transaction ends, nobody can take the lease over, so whatever it fires, it fires as the only leader."""
    lease = await session.scalar(
        select(SchedulerLease).where(SchedulerLease.name == name).with_for_update(read=True).execution_options(populate_existing=True)
    )
    return lease is not None and lease.holder == holder and lease.expires_at > now


async def release(session: AsyncSession, holder: str, *, now: datetime, name: str = LEADER) -> int:
    """Give the lease up (stopping): another replica takes it at its next look instead of when it runs out."""
    result = await session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name, SchedulerLease.holder == holder, SchedulerLease.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
