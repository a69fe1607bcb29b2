"""Personal one-off reminders: "remind me at 5pm to submit the report", "what reminders do I have?".

A reminder is an outbox message to the person, due at the chosen time, so it survives restarts and is delivered
by the ordinary outbox worker. Its payload carries `"kind": "reminder"` and the reminder's text, which is how
`reminder_list` tells reminders apart from other pending notifications.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from actions.context import ActionContext, Understanding
from actions.forms import Form, SlotError
from actions.registry import Routes
from actions.replies import Reply
from storage import outbox
from storage.errors import InvalidRequest
from storage.people import Employee

routes = Routes()

REMINDER_KIND = "reminder"
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


def reminder_text(message: Understanding) -> str:
    """What to remind of: the message without its time expression and the "remind me" words."""
    text = message.text
    spans = sorted(
        (int(found["start"]), int(found["end"]))
        for found in message.entities
        if found.get("entity") in TIME_ENTITIES and isinstance(found.get("start"), int) and isinstance(found.get("end"), int)
    )
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
        if awaiting in (None, "what"):
            what = reminder_text(ctx.message)
            if what:
                found["what"] = what
        return found

    async def check(self, ctx: ActionContext) -> None:
        when = ctx.slots.get("time")
        if not when:
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
        moment = datetime.fromisoformat(str(ctx.slots["time"]))
        ctx.say("reminders.confirm", when=describe_when(ctx, moment), what=ctx.slots["what"])

    async def submit(self, ctx: ActionContext) -> None:
        moment = datetime.fromisoformat(str(ctx.slots["time"]))
        what = str(ctx.slots["what"])
        due_at = to_utc(moment, ctx.employee)
        # Written in the language of this conversation: it is the person's own note to themselves.
        payload = Reply(ctx.t("reminders.fire", what=what), private=True).to_dict()
        payload.update(kind=REMINDER_KIND, what=what)
        digest = hashlib.sha256(what.encode()).hexdigest()[:16]
        await outbox.enqueue(
            ctx.session,
            ctx.employee.id,
            payload,
            due_at=due_at,
            idempotency_key=f"reminder:{ctx.employee.id}:{due_at.isoformat(timespec='minutes')}:{digest}",
        )
        ctx.say("reminders.set", when=describe_when(ctx, moment), what=what)


routes.form(ReminderForm())


@routes.intent("reminder_list")
async def list_reminders(ctx: ActionContext) -> None:
    pending = [
        message
        for message in await outbox.pending_for(ctx.session, ctx.employee.id)
        if isinstance(message.payload, dict) and message.payload.get("kind") == REMINDER_KIND
    ]
    if not pending:
        ctx.say("reminders.none")
        return
    pending.sort(key=lambda message: (message.due_at, message.id))
    lines = [ctx.t("reminders.list_title")]
    for message in pending:
        moment = to_local(message.due_at, ctx.employee)
        lines.append(
            ctx.t(
                "reminders.list_item",
                day=ctx.t.day_month(moment.date()),
                time=ctx.t.time(moment),
                what=str(message.payload.get("what", "")),
            )
        )
    ctx.replies.append(Reply("\n".join(lines), private=True))
