"""Recurring reminders in six languages: "every Friday", "каждый рабочий день", "har oyning birinchi ish kunida"…

`find` recognises how often a reminder repeats in a message and where those words are (so the reminder's own text
can leave them out); the NLU's `time` entity still gives the clock time. The result is a short spec kept in the
form's slots ("weekly:FR", "workdays", "monthly_first_workday", "monthly_day:5"), which `Recurrence` turns into the
stored RFC 5545 rule and its working-day handling, and describes back to the person.

Patterns are written in plain spelling, folded by the NLU's one folding (`nlu.normalize.fold`: lower case, no
accents or tone marks, "ə" → "e", "đ" → "d"…), and matched on the message folded the same way with a map back to
its offsets (`FoldedText`): the spans found are cut out of the original text, so they must point into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

from babel.dates import format_date

from actions.i18n import Translator
from nlu.entities.text import FoldedText
from nlu.normalize import fold
from storage.schedules import WorkingDays

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WORKING_WEEK = "MO,TU,WE,TH,FR"


# Weekday words per language (stems: a word starting with one of them is that day), Monday first.
_DAYS: dict[str, tuple[str, ...]] = {
    "en": (r"mon(?:day)?s?", r"tue(?:s(?:day)?)?s?", r"wed(?:nesday)?s?", r"thu(?:rs(?:day)?)?s?", r"fri(?:day)?s?", r"sat(?:urday)?s?", r"sun(?:day)?s?"),
    "ru": (r"понедельник\w*", r"вторник\w*", r"сред\w*", r"четверг\w*", r"пятниц\w*", r"суббот\w*", r"воскресень\w*"),
    "uz": (r"dushanba\w*", r"seshanba\w*", r"chorshanba\w*", r"payshanba\w*", r"juma\w*", r"shanba\w*", r"yakshanba\w*"),
    "az": (r"bazar ertəsi\w*", r"çərşənbə axşamı\w*", r"çərşənbə\w*", r"cümə axşamı\w*", r"cümə\w*", r"şənbə\w*", r"bazar\w*"),
    "el": (r"δευτερ\w*", r"τριτ\w*", r"τεταρτ\w*", r"πεμπτ\w*", r"παρασκευ\w*", r"σαββατ\w*", r"κυριακ\w*"),
    "vi": (r"thứ hai", r"thứ ba", r"thứ tư", r"thứ năm", r"thứ sáu", r"thứ bảy", r"chủ nhật"),
}
# Plural forms that make a weekday recurring after a plain preposition ("on Fridays", "по пятницам"), where the
# singular would be one day ("on Friday", "по пятницу" = until Friday).
_PLURAL = {"en": r"s", "ru": r"(?:ам|ям)"}
_AND = {"en": r"(?:,|and|&)", "ru": r"(?:,|и)", "uz": r"(?:,|va)", "az": r"(?:,|və)", "el": r"(?:,|και)(?:\s+τις)?", "vi": r"(?:,|và)"}
_DAY_NUMBER = r"(3[01]|[12]?\d)"

# (spec, pattern) in the order they are tried: the more specific first. "{days}" is a run of weekday words.
_PATTERNS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("monthly_first_workday", r"(?:on\s+)?(?:the\s+)?(?:every\s+)?first\s+(?:working|work|business)\s+day\s+of\s+(?:the|every|each|a)\s+month"),
        ("monthly_day", rf"(?:on\s+)?the\s+{_DAY_NUMBER}(?:st|nd|rd|th)?\s+of\s+(?:every|each|the)\s+month|(?:every|each)\s+month\s+on\s+the\s+{_DAY_NUMBER}(?:st|nd|rd|th)?"),
        ("workdays", r"(?:every|each)\s+(?:working|work|business)\s+day|(?:every|each)\s+weekday|on\s+weekdays|on\s+working\s+days"),
        ("weekly", r"(?:every|each)\s+{days}|on\s+{plural}|weekly\s+on\s+{days}"),
        ("daily", r"(?:every|each)\s+day|daily|every\s+single\s+day"),
        ("weekly", r"(?:every|each)\s+week|weekly|once\s+a\s+week"),
        ("monthly", r"(?:every|each)\s+month|monthly|once\s+a\s+month"),
    ),
    "ru": (
        ("monthly_first_workday", r"(?:в\s+)?(?:каждый\s+)?первый\s+рабочий\s+день\s+(?:каждого\s+)?месяца"),
        ("monthly_day", rf"{_DAY_NUMBER}(?:-?го)?\s+числа\s+каждого\s+месяца|каждое\s+{_DAY_NUMBER}(?:-?е)?\s+число|каждого\s+{_DAY_NUMBER}(?:-?го)?\s+числа"),
        ("workdays", r"(?:каждый|в\s+каждый)\s+рабочий\s+день|по\s+будням|в\s+будни|по\s+рабочим\s+дням"),
        ("weekly", r"(?:каждый|каждую|каждое)\s+{days}|по\s+{plural}"),
        ("daily", r"каждый\s+день|ежедневно"),
        ("weekly", r"каждую\s+неделю|еженедельно|раз\s+в\s+неделю"),
        ("monthly", r"каждый\s+месяц|ежемесячно|раз\s+в\s+месяц"),
    ),
    "uz": (
        ("monthly_first_workday", r"(?:har\s+)?oyning\s+(?:birinchi|1-)\s*ish\s+kuni(?:da)?"),
        ("monthly_day", rf"har\s+oyning\s+{_DAY_NUMBER}-?\s*(?:kuni|sanasi)(?:da)?"),
        ("workdays", r"har\s+ish\s+kuni(?:da)?|ish\s+kunlari"),
        ("weekly", r"har\s+{days}(?:\s+kuni)?"),
        ("daily", r"har\s+kuni|har\s+kun|kundalik"),
        ("weekly", r"har\s+hafta(?:da)?"),
        ("monthly", r"har\s+oy(?:da)?"),
    ),
    "az": (
        ("monthly_first_workday", r"(?:hər\s+)?ayın\s+(?:ilk|birinci)\s+iş\s+günü(?:ndə)?"),
        ("monthly_day", rf"hər\s+ayın\s+{_DAY_NUMBER}(?:-?\w+)?(?:\s+(?:günü|tarixi)(?:ndə)?)?"),
        ("workdays", r"hər\s+iş\s+günü|iş\s+günləri"),
        ("weekly", r"hər\s+{days}(?:\s+günü)?"),
        ("daily", r"hər\s+gün"),
        ("weekly", r"hər\s+həftə"),
        ("monthly", r"hər\s+ay"),
    ),
    "el": (
        ("monthly_first_workday", r"(?:την\s+)?(?:κάθε\s+)?πρώτη\s+εργάσιμη(?:\s+(?:μέρα|ημέρα))?\s+(?:του|κάθε)\s+μήνα"),
        ("monthly_day", rf"(?:στις\s+)?{_DAY_NUMBER}\s+(?:κάθε|του)\s+μήνα|κάθε\s+{_DAY_NUMBER}\s+του\s+μήνα"),
        ("workdays", r"κάθε\s+εργάσιμη(?:\s+(?:μέρα|ημέρα))?|τις\s+καθημερινές|κάθε\s+καθημερινή"),
        ("weekly", r"κάθε\s+{days}|τις\s+{days}"),
        ("daily", r"κάθε\s+(?:μέρα|ημέρα)|καθημερινά"),
        ("weekly", r"κάθε\s+εβδομάδα|εβδομαδιαία"),
        ("monthly", r"κάθε\s+μήνα|μηνιαία"),
    ),
    "vi": (
        ("monthly_first_workday", r"(?:vào\s+)?ngày\s+làm\s+việc\s+đầu\s+tiên\s+(?:của\s+)?(?:mỗi\s+|hàng\s+|các\s+)?tháng"),
        ("monthly_day", rf"(?:vào\s+)?ngày\s+{_DAY_NUMBER}\s+(?:mỗi|hàng|hằng)\s+tháng"),
        ("workdays", r"(?:mỗi|các|hàng|hằng)\s+ngày\s+làm\s+việc|ngày\s+làm\s+việc\s+hàng\s+tuần"),
        ("weekly", r"(?:vào\s+)?(?:mỗi|các)\s+{days}|{days}\s+(?:hàng|hằng|mỗi)\s+tuần"),
        ("daily", r"(?:mỗi|hàng|hằng)\s+ngày"),
        ("weekly", r"(?:mỗi|hàng|hằng)\s+tuần"),
        ("monthly", r"(?:mỗi|hàng|hằng)\s+tháng"),
    ),
}


@dataclass(frozen=True)
class Found:
    spec: str
    start: int
    end: int


@cache
def _compiled(language: str) -> tuple[tuple[str, re.Pattern[str], bool], ...]:
    """(spec, pattern, whether it names weekdays) in the order they are tried, on folded text."""
    stems = [fold(stem) for stem in _DAYS[language]]
    any_day = "(?:" + "|".join(stems) + ")"
    plural_day = "(?:" + "|".join(f"(?:{stem}){fold(_PLURAL.get(language, ''))}" for stem in stems) + ")"
    joined = rf"\s*{fold(_AND[language])}\s*"
    runs = {"{days}": rf"{any_day}(?:{joined}{any_day})*", "{plural}": rf"{plural_day}(?:{joined}{plural_day})*"}
    compiled = []
    for spec, pattern in _PATTERNS[language]:
        text = fold(pattern)
        for placeholder, run in runs.items():
            text = text.replace(placeholder, run)
        compiled.append((spec, re.compile(rf"(?<!\w)(?:{text})(?!\w)"), "{days}" in pattern or "{plural}" in pattern))
    return tuple(compiled)


@cache
def _weekday_patterns(language: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rf"(?<!\w){fold(stem)}") for stem in _DAYS[language])


def find(text: str, language: str) -> Found | None:
    """How often the message asks to be reminded, and where it says so; None for a one-off reminder."""
    folded = FoldedText.of(text)
    for lang in dict.fromkeys((language, "en")):
        if lang not in _PATTERNS:
            continue
        for spec, pattern, names_days in _compiled(lang):
            match = pattern.search(folded.folded)
            if match is None:
                continue
            if names_days:
                said = match.group(0)
                found = [WEEKDAYS[number] for number, day in enumerate(_weekday_patterns(lang)) if _names(day, said, lang)]
                spec = f"weekly:{','.join(found)}" if found else "weekly"
            elif spec == "monthly_day":
                spec = f"monthly_day:{int(next(group for group in match.groups() if group))}"
            return Found(spec, *folded.span(match.start(), match.end()))
    return None


_AZ_COMPOUND_DAY = re.compile(fold(r"\w*\s+(?:axşamı|ertəsi)"))


def _names(day: re.Pattern[str], said: str, language: str) -> bool:
    """Whether the words name this weekday. Azerbaijani "çərşənbə" (Wednesday) and "cümə" (Friday) begin "çərşənbə
    axşamı" (Tuesday) and "cümə axşamı" (Thursday), and "bazar" (Sunday) begins "bazar ertəsi" (Monday)."""
    compound = " " in day.pattern
    for match in day.finditer(said):
        if language == "az" and not compound and _AZ_COMPOUND_DAY.match(said, match.end()):
            continue
        return True
    return False


@dataclass(frozen=True)
class Recurrence:
    """A spec from `find` (or a slot), made concrete with the reminder's first day where the words left it open
    ("every week at 10" repeats on the weekday of the first reminder, "every month" on its day of the month)."""

    kind: str
    weekdays: tuple[str, ...] = ()
    day: int = 0

    @classmethod
    def parse(cls, spec: str, first: date) -> Recurrence | None:
        kind, _, rest = spec.partition(":")
        if kind == "weekly":
            days = tuple(day for day in rest.split(",") if day in WEEKDAYS) or (WEEKDAYS[first.weekday()],)
            return cls("weekly", tuple(sorted(set(days), key=WEEKDAYS.index)))
        if kind == "monthly":
            return cls("monthly_day", day=first.day)
        if kind == "monthly_day":
            return cls(kind, day=int(rest)) if rest.isdigit() and 1 <= int(rest) <= 31 else None
        if kind in ("daily", "workdays", "monthly_first_workday"):
            return cls(kind)
        return None

    @property
    def rrule(self) -> str:
        if self.kind == "daily":
            return "FREQ=DAILY"
        if self.kind == "workdays":
            return f"FREQ=DAILY;BYDAY={WORKING_WEEK}"
        if self.kind == "weekly":
            return f"FREQ=WEEKLY;BYDAY={','.join(self.weekdays)}"
        if self.kind == "monthly_first_workday":
            return f"FREQ=MONTHLY;BYDAY={WORKING_WEEK};BYSETPOS=1"
        return f"FREQ=MONTHLY;BYMONTHDAY={self.day}"

    @property
    def working_days(self) -> WorkingDays:
        """"Every working day" skips holidays; "the first working day" moves past them; the others keep the day."""
        return {"workdays": WorkingDays.SKIP, "monthly_first_workday": WorkingDays.NEXT}.get(self.kind, WorkingDays.ANY)

    def start(self, clock: time, today: date) -> datetime:
        """The rule's DTSTART: today (the first of the month for monthly rules) at the reminder's clock time."""
        return datetime.combine(today.replace(day=1) if self.kind.startswith("monthly") else today, clock)

    def describe(self, t: Translator, clock: datetime) -> str:
        """"every Friday at 17:00", "every working day at 09:00"… in the reader's language."""
        when = t.time(clock)
        if self.kind == "weekly":
            names = [format_date(_MONDAY + timedelta(days=WEEKDAYS.index(day)), "EEEE", locale=t.locale) for day in self.weekdays]
            return t("reminders.repeat.weekly", days=", ".join(names), time=when)
        if self.kind == "monthly_day":
            return t("reminders.repeat.monthly_day", day=self.day, time=when)
        return t(f"reminders.repeat.{self.kind}", time=when)


_MONDAY = date(2024, 1, 1)
