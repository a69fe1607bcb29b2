"""Personal reminders, one-off and recurring: "remind me at 5pm to submit the report", "every Friday at 5 remind me
to fill in my timesheet", "what reminders do I have?", "cancel the timesheet reminder".

A reminder is a schedule (storage/schedules.py) owned by the person: a single instant, or an RFC 5545 rule in their
time zone (actions/recurrence.py reads "every …" in six languages). The scheduler in `backoffice run` fires it
(`jobs` below) into the outbox, once per due instant, so it survives restarts and is delivered by the ordinary
outbox worker. The text is written in the language of the conversation that set it: it is the person's own note.
The time is always one the person chose, so a reminder they set for the night comes at night.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from actions import recurrence
from actions.context import ActionContext, Understanding
from actions.forms import Form, SlotError
from actions.i18n import Translator, words_of
from actions.payloads import ReminderCancel, encode
from actions.recurrence import Recurrence
from actions.registry import Routes
from actions.replies import Button, Reply
from actions.scheduled import JobContext, Jobs, job_key
from storage import schedules
from storage.errors import DomainError, InvalidRequest
from storage.holidays import holidays_between
from storage.people import Employee
from storage.schedules import PERSONAL, Schedule, Timing

routes = Routes()
jobs = Jobs()

MAX_CANCEL_BUTTONS = 10
BUTTON_WHAT = 28
MAX_WHAT = 300
MAX_AHEAD = timedelta(days=366)
"""How far ahead a reminder may be set (further is a typo; the year 9999 would not even convert to UTC)."""
UTC = ZoneInfo("UTC")
TIME_ENTITIES = frozenset({"time", "start_date", "end_date"})

# Words that ask for a reminder rather than say what it is about; removed wherever they stand.
_TRIGGERS = [
    # en
    r"(?:please\s+)?(?:can|could|would)\s+you(?:\s+please)?",
    r"(?:please\s+)?(?:set|add|create|make|put)(?:\s+me)?(?:\s+an?)?(?:\s+new)?\s+reminders?(?:\s+(?:for|at|on))?",
    r"(?:please\s+)?(?:don'?t\s+forget\s+to\s+)?remind\s+me",
    r"don'?t\s+let\s+me\s+forget(?:\s+to)?",
    r"(?:ping|nudge)\s+me",
    r"i\s+(?:need|want)\s+an?\s+reminder(?:\s+(?:for|on|at))?",
    r"(?:new\s+)?reminder",
    # ru
    r"(?:можешь\s+)?(?:не\s+забудь\s+)?напомн\w*(?:\s+мне)?",
    r"(?:поставь|сделай|создай|нужно|нужна)\s+(?:мне\s+)?напомин\w*(?:\s+на)?",
    r"напомин\w*(?:\s+на)?",
    r"не\s+дай\s+мне\s+забыть",
    # uz
    r"eslat\w*(?:\s+qo['‘’`ʻ]y\w*)?(?:\s+yubor\w*)?",
    r"menga\s+eslatma\s+kerak",
    # az
    r"(?:m[əe]n[əe]\s+)?xat[ıi]rlat\w*(?:\s+qur)?",
    r"yad[ıi]ma\s+sal",
    # el
    r"(?:μπορε[ίι]ς\s+να\s+)?(?:μου\s+)?θ[υύ]μισ(?:[εέ]|[εέ]ις)\s*μου",
    r"(?:μπορε[ίι]ς\s+να\s+)?μου\s+θυμ[ίι]σεις",
    r"υπενθ[υύ]μισ[εέ]\s*μου",
    r"(?:θ[εέ]λω\s+)?(?:β[αά]λε|φτι[αά]ξε|[οό]ρισε)?\s*(?:μου\s+)?(?:μια\s+)?υπενθ[υύ]μιση(?:\s+για)?",
    # vi
    r"(?:nhớ\s+|bot\s+)?nh[ắaặ]c(?:\s+nh[ởo])?(?:\s+(?:tôi|toi|mình|minh|em|mk|anh|chị|chi))?",
    r"(?:đặt|dat|tạo|tao|lập|lap)\s+(?:lời\s+)?(?:nh[ắa]c(?:\s+nh[ởo])?|reminder)",
    r"hẹn\s+giờ",
]
_TRIGGER = re.compile(r"(?<!\w)(?:" + "|".join(_TRIGGERS) + r")(?!\w)", re.IGNORECASE)
# Linking words left at either edge once the triggers and the time are gone ("… at 5pm to submit …").
_EDGE_WORDS = (
    r"to|about|at|on|for|that|please|pls|в|на|про|о|об|чтобы|пожалуйста|da|ga|iltimos|ki|z[əe]hm[əe]t\s+olmasa"
    r"|στις|για|παρακαλώ|lúc|luc|vào|vao|là|nhé|nha|nhe|với|giúp"
)
_LEADING = re.compile(r"^(?:[\s,.:;!?\-–—]+|(?:" + _EDGE_WORDS + r")(?!\w))+", re.IGNORECASE)
_TRAILING = re.compile(r"(?:[\s,.:;!?\-–—]+|(?<!\w)(?:" + _EDGE_WORDS + r"))+$", re.IGNORECASE)


def reminder_text(message: Understanding, *, without: tuple[tuple[int, int], ...] = ()) -> str:
    """What to remind of: the message without its time expression, the spans `without` (how often it repeats) and
    the "remind me" words."""
    text = message.text
    spans = sorted(
        [
            (int(found["start"]), int(found["end"]))
            for found in message.entities
            if found.get("entity") in TIME_ENTITIES and isinstance(found.get("start"), int) and isinstance(found.get("end"), int)
        ]
        + list(without)
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:  # overlapping spans ("every friday" and "friday at 5pm") are cut once
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    spans = merged
    for start, end in reversed(spans):
        if 0 <= start < end <= len(text):
            text = f"{text[:start]} {text[end:]}"
    text = _TRIGGER.sub(" ", text)
    previous = None
    while previous != text:
        previous = text
        text = _TRAILING.sub("", _LEADING.sub("", text.strip())).strip()
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= MAX_WHAT else text[: MAX_WHAT - 1].rstrip() + "…"


def zone_of(employee: Employee) -> ZoneInfo:
    try:
        return ZoneInfo(employee.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_now(ctx: ActionContext) -> datetime:
    """The employee's wall-clock time, naive."""
    return ctx.now.replace(tzinfo=UTC).astimezone(zone_of(ctx.employee)).replace(tzinfo=None)


def to_utc(local: datetime, employee: Employee) -> datetime:
    return local.replace(tzinfo=zone_of(employee)).astimezone(UTC).replace(tzinfo=None)


def to_local(moment: datetime, employee: Employee) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(zone_of(employee)).replace(tzinfo=None)


_DURATION = re.compile(r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)?")


def read_time(value: Any, *, now: datetime, day: date | None, zone: ZoneInfo) -> datetime | date | None:
    """A `time` entity as a local wall-clock moment, or only a day when no clock time was given.

    "HH:MM" is on `day` if known, else today, or tomorrow once past; "PT2H" is from now; an ISO date is a day;
    an ISO date-time is taken as it is.
    """
    text = str(value).strip()
    duration = _DURATION.fullmatch(text)
    if duration and any(duration.groupdict().values()):
        parts = {name: int(amount) for name, amount in duration.groupdict().items() if amount}
        try:
            return (now + timedelta(**parts)).replace(second=0, microsecond=0)
        except OverflowError:  # "in 99999999 hours": past the calendar's end, so no time at all
            return None
    try:
        if len(text) <= 5:
            moment = datetime.combine(day or now.date(), time.fromisoformat(text.zfill(5)))
            if day is None and moment <= now:
                moment += timedelta(days=1)
            return moment
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment.replace(second=0, microsecond=0)


def parse_day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def best_time(message: Understanding, *, now: datetime, day: date | None, zone: ZoneInfo) -> datetime | date | None:
    """The most specific time in the message: a clock time over a bare day, then the longest expression.

    The NLU can find more than one time in a message ("tonight" and "at 8"); the longest match is usually the
    one the person meant.
    """
    found: list[tuple[bool, int, datetime | date]] = []
    for entity in message.entities:
        if entity.get("entity") not in ("time", "start_date"):
            continue
        moment = read_time(entity.get("value"), now=now, day=day, zone=zone)
        if moment is not None:
            length = int(entity.get("end", 0) or 0) - int(entity.get("start", 0) or 0)
            found.append((isinstance(moment, datetime), length, moment))
    if not found:
        return None
    return max(found, key=lambda candidate: candidate[:2])[2]


def describe_when(ctx: ActionContext, moment: datetime) -> str:
    """"today at 17:00", "tomorrow at 09:00" or "on Fri 27 Nov at 10:00", in the person's language."""
    today = local_now(ctx).date()
    clock = ctx.t.time(moment)
    if moment.date() == today:
        return ctx.t("reminders.when_today", time=clock)
    if moment.date() == today + timedelta(days=1):
        return ctx.t("reminders.when_tomorrow", time=clock)
    return ctx.t("reminders.when_day", day=ctx.t.day_month(moment.date()), time=clock)


class ReminderForm(Form):
    name = "reminder_set"
    required = ("what", "time")
    free_text = frozenset({"what"})

    def extract(self, ctx: ActionContext, awaiting: str | None) -> dict[str, Any]:
        found: dict[str, Any] = {}
        moment = best_time(ctx.message, now=local_now(ctx), day=parse_day(ctx.slots.get("day")), zone=zone_of(ctx.employee))
        if isinstance(moment, datetime):
            found["time"] = moment.isoformat(timespec="minutes")
        elif isinstance(moment, date):
            found["day"] = moment.isoformat()
            earlier = ctx.slots.get("time")
            if earlier:  # "no, on Friday": keep the clock time already given
                clock = datetime.fromisoformat(str(earlier)).time()
                found["time"] = datetime.combine(moment, clock).isoformat(timespec="minutes")
        repeats = recurrence.find(ctx.message.text, ctx.message.language)
        if repeats is not None:
            found["repeat"] = repeats.spec
        if awaiting in (None, "what"):
            what = reminder_text(ctx.message, without=((repeats.start, repeats.end),) if repeats else ())
            if what:
                found["what"] = what
        return found

    async def check(self, ctx: ActionContext) -> None:
        when = ctx.slots.get("time")
        if not when:
            return
        if ctx.slots.get("repeat"):
            if await _plan(ctx) is None:
                raise SlotError(("repeat",), InvalidRequest("That rule gives no date.", code="reminder_no_date"))
            return
        moment, now = datetime.fromisoformat(str(when)), local_now(ctx)
        if moment <= now:
            raise SlotError(("time",), InvalidRequest("That time has already passed.", code="reminder_in_past"))
        if moment > now + MAX_AHEAD:
            raise SlotError(("time", "day"), InvalidRequest("That is more than a year ahead.", code="reminder_too_far"))

    def ask(self, ctx: ActionContext, slot: str) -> None:
        if slot == "what":
            ctx.say("reminders.ask_what")
        elif day := parse_day(ctx.slots.get("day")):
            ctx.say("reminders.ask_time_on_day", day=ctx.t.day_month(day))
        else:
            ctx.say("reminders.ask_time")

    async def confirm(self, ctx: ActionContext) -> None:
        plan = await _plan(ctx) if ctx.slots.get("repeat") else None
        if plan is not None:
            ctx.say("reminders.confirm_repeat", repeat=plan.describe(ctx.t), first=describe_when(ctx, plan.first_local), what=ctx.slots["what"])
            return
        moment = datetime.fromisoformat(str(ctx.slots["time"]))
        ctx.say("reminders.confirm", when=describe_when(ctx, moment), what=ctx.slots["what"])

    async def submit(self, ctx: ActionContext) -> None:
        what = str(ctx.slots["what"])
        payload: dict[str, Any] = {"what": what, "language": ctx.language}
        plan = await _plan(ctx) if ctx.slots.get("repeat") else None
        if plan is not None:
            payload.update(repeat=plan.spec, clock=f"{plan.clock:%H:%M}")
            if not await _already_set(ctx, payload, rule=plan.rule):
                await schedules.add(
                    ctx.session, kind=PERSONAL, owner=ctx.employee, next_due=plan.first, payload=payload, rule=plan.rule,
                    timezone=ctx.employee.timezone, working_days=plan.recurrence.working_days, explicit_time=True, now=ctx.now,
                )
            ctx.say("reminders.set_repeat", repeat=plan.describe(ctx.t), first=describe_when(ctx, plan.first_local), what=what)
            return
        moment = datetime.fromisoformat(str(ctx.slots["time"]))
        due_at = to_utc(moment, ctx.employee)
        if not await _already_set(ctx, payload, once_at=due_at):
            await schedules.add(
                ctx.session, kind=PERSONAL, owner=ctx.employee, next_due=due_at, payload=payload, once_at=due_at,
                timezone=ctx.employee.timezone, explicit_time=True, now=ctx.now,
            )
        ctx.say("reminders.set", when=describe_when(ctx, moment), what=what)


routes.form(ReminderForm())


@dataclass(frozen=True)
class _Plan:
    """A recurring reminder worked out from the form's slots: its rule and its first instant."""

    spec: str
    recurrence: Recurrence
    clock: time
    rule: str
    first: datetime
    """UTC."""
    first_local: datetime

    def describe(self, t: Translator) -> str:
        return self.recurrence.describe(t, self.first_local)


async def _plan(ctx: ActionContext) -> _Plan | None:
    moment = datetime.fromisoformat(str(ctx.slots["time"]))
    rule_of = Recurrence.parse(str(ctx.slots["repeat"]), moment.date())
    if rule_of is None:
        return None
    today = local_now(ctx).date()
    rule = schedules.recurrence(rule_of.start(moment.time(), today), rule_of.rrule)
    holidays = await _holidays(ctx, ctx.employee)
    first = schedules.next_after(Timing(rule, None, zone_of(ctx.employee), rule_of.working_days), ctx.now, holidays)
    if first is None:
        return None
    spec = "weekly:" + ",".join(rule_of.weekdays) if rule_of.kind == "weekly" else (
        f"monthly_day:{rule_of.day}" if rule_of.kind == "monthly_day" else rule_of.kind
    )
    return _Plan(spec, rule_of, moment.time(), rule, first, to_local(first, ctx.employee))


async def _holidays(ctx: ActionContext, employee: Employee) -> frozenset[date]:
    today = ctx.now.date()
    return frozenset(await holidays_between(ctx.session, employee.calendar, today - timedelta(days=31), today + timedelta(days=400)))


async def _already_set(ctx: ActionContext, payload: dict[str, Any], *, rule: str | None = None, once_at: datetime | None = None) -> bool:
    """The same reminder is set already (the same words, the same time): set once, however often it was asked."""
    for mine in await schedules.of_owner(ctx.session, ctx.employee.id):
        same_time = (mine.once_at == once_at) if once_at is not None else (mine.rule or "").split("RRULE:")[-1] == (rule or "").split("RRULE:")[-1]
        if same_time and mine.payload.get("what") == payload["what"] and mine.payload.get("clock") == payload.get("clock"):
            return True
    return False


def _what(schedule: Schedule) -> str:
    return str(schedule.payload.get("what", ""))


def _describe_repeat(t: Translator, schedule: Schedule, employee: Employee, now: datetime) -> str:
    """How often a stored reminder repeats, in the reader's language ("" for a one-off one)."""
    spec, clock = schedule.payload.get("repeat"), schedule.payload.get("clock")
    if not spec or schedule.rule is None:
        return ""
    first = to_local(schedule.next_due or now, employee)
    found = Recurrence.parse(str(spec), first.date())
    if found is None:
        return ""
    at = datetime.combine(first.date(), time.fromisoformat(str(clock))) if clock else first
    return found.describe(t, at)


def _short(text: str) -> str:
    return text if len(text) <= BUTTON_WHAT else text[: BUTTON_WHAT - 1].rstrip() + "…"


def _listed(ctx: ActionContext, mine: list[Schedule], title: str) -> Reply:
    lines = [ctx.t(title)]
    for schedule in mine:
        moment = to_local(schedule.next_due, ctx.employee) if schedule.next_due else None
        day, clock = (ctx.t.day_month(moment.date()), ctx.t.time(moment)) if moment else ("", "")
        repeat = _describe_repeat(ctx.t, schedule, ctx.employee, ctx.now)
        if repeat:
            lines.append(ctx.t("reminders.list_item_repeat", repeat=repeat, what=_what(schedule), day=day, time=clock))
        else:
            lines.append(ctx.t("reminders.list_item", day=day, time=clock, what=_what(schedule)))
    buttons = tuple(
        Button(ctx.t("reminders.button_cancel", what=_short(_what(schedule))), encode(ReminderCancel(schedule.id)))
        for schedule in mine[:MAX_CANCEL_BUTTONS]
    )
    return Reply("\n".join(lines), buttons=buttons, private=True)


@routes.intent("reminder_list")
async def list_reminders(ctx: ActionContext) -> None:
    mine = await schedules.of_owner(ctx.session, ctx.employee.id)
    if not mine:
        ctx.say("reminders.none")
        return
    ctx.replies.append(_listed(ctx, mine, "reminders.list_title"))


_STEM = 5
"""Words compare by their first letters, so inflected forms still match ("табель" / "табеля")."""


def _stems(text: str) -> set[str]:
    return {word[:_STEM] for word in words_of(text) if len(word) >= 3 and not word.isdigit()}


def _named(ctx: ActionContext, mine: list[Schedule]) -> Schedule | None:
    """The one reminder whose words the message shares most, if one stands out."""
    said = _stems(reminder_text(ctx.message))
    scored = sorted(((len(said & _stems(_what(schedule))), schedule.id, schedule) for schedule in mine), key=lambda row: (-row[0], row[1]))
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][2]


@routes.intent("reminder_cancel")
async def cancel_reminder(ctx: ActionContext) -> None:
    """Cancel the reminder the message names, or the only one; with several and none named, ask which (buttons)."""
    mine = await schedules.of_owner(ctx.session, ctx.employee.id)
    if not mine:
        ctx.say("reminders.none")
        return
    target = _named(ctx, mine) or (mine[0] if len(mine) == 1 else None)
    if target is None:
        ctx.replies.append(_listed(ctx, mine, "reminders.cancel_which"))
        return
    await _cancel(ctx, target.id)


@routes.button(ReminderCancel)
async def cancel_button(ctx: ActionContext, press: ReminderCancel) -> None:
    await _cancel(ctx, press.schedule_id)


async def _cancel(ctx: ActionContext, schedule_id: int) -> None:
    try:
        async with ctx.session.begin_nested():
            cancelled = await schedules.cancel(ctx.session, ctx.employee, schedule_id, now=ctx.now)
    except DomainError:
        ctx.say("reminders.cancel_gone", private=True)
        return
    repeat = _describe_repeat(ctx.t, cancelled, ctx.employee, ctx.now)
    if repeat:
        ctx.say("reminders.cancelled_repeat", what=_what(cancelled), repeat=repeat, private=True)
    else:
        ctx.say("reminders.cancelled", what=_what(cancelled), private=True)


@jobs.job(PERSONAL)
async def fire(ctx: JobContext) -> None:
    """A reminder fell due: "⏰ Reminder: …" to its owner, in the language it was set in, once for this instant."""
    owner = await ctx.session.get(Employee, ctx.schedule.owner_id) if ctx.schedule.owner_id is not None else None
    if owner is None:
        return
    what = _what(ctx.schedule)
    language = str(ctx.schedule.payload.get("language") or owner.language)

    def build(_: Translator) -> list[Reply]:
        return [Reply(Translator(language)("reminders.fire", what=what), private=True)]

    # The instant was worked out with the owner's quiet hours and working days already (storage/schedules.py).
    await ctx.send(owner, build, key=job_key(PERSONAL, owner, ctx.due, ctx.schedule.id), explicit=True)

