"""Clock times for reminders ("at 5pm", "в 17:00", "soat 17:00 da", "lúc 5 giờ chiều")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.entities.grammar import TimeGrammar, time_grammar
from nlu.entities.text import FoldedText

# Without am/pm, "at 5" in an office means 17:00, not 05:00.
AFTERNOON_GUESS = range(1, 7)
MORNING_HOUR = 9  # "remind me tomorrow morning"
EVENING_HOUR = 18


@dataclass(frozen=True, slots=True)
class TimeMatch:
    hour: int
    minute: int
    start: int  # folded offsets
    end: int
    from_now: bool = False  # "in 2 hours": hour/minute are an offset from the moment of the message
    clock_hour: int | None = None  # the hour as written when no am/pm said which half of the day it is

    @property
    def value(self) -> str:
        if self.from_now:
            hours = f"{self.hour}H" if self.hour else ""
            minutes = f"{self.minute}M" if self.minute or not self.hour else ""
            return f"PT{hours}{minutes}"
        return f"{self.hour:02d}:{self.minute:02d}"


def _first(groups: dict[str, str | None], *names: str) -> str | None:
    for name in names:
        if groups.get(name):
            return groups[name]
    return None


# Vietnamese words that fold like a part of the day: "tôi" (I) is not "tối" (evening), "sang" (to go) not "sáng".
_VIETNAMESE_DAY_PARTS = {"toi": "tối", "sang": "sáng"}


def _is_homograph(text: FoldedText, start: int, end: int, language: str) -> bool:
    if language != "vi":
        return False
    accented = _VIETNAMESE_DAY_PARTS.get(text.folded[start:end].strip())
    if accented is None:
        return False
    original_start, original_end = text.span(start, end)
    written = text.original[original_start:original_end].strip().lower()
    if written == "toi" and text.folded.startswith(" nay", end):
        return False  # "toi nay" typed without accents is still "tối nay" (tonight)
    return written != accented


def _to_time(match: re.Match[str], grammar: TimeGrammar, text: FoldedText, language: str) -> TimeMatch | None:
    groups = match.groupdict()
    if groups.get("noon"):
        return TimeMatch(12, 0, *match.span())
    if groups.get("midnight"):
        return TimeMatch(0, 0, *match.span())
    for prefix in ("c", "s", "w", "b"):
        hour_text = groups.get(f"{prefix}_h")
        if hour_text:
            break
    else:
        return None
    hour = int(hour_text)
    minute_text = _first(groups, f"{prefix}_m", f"{prefix}_min2")
    minute = int(minute_text) if minute_text else (30 if groups.get(f"{prefix}_half") else 0)
    meridiem = _first(groups, f"{prefix}_mer", f"{prefix}_mer2")
    start, end = match.span()
    if hour > 23 or minute > 59:
        return None
    if meridiem:
        group = f"{prefix}_mer" if groups.get(f"{prefix}_mer") else f"{prefix}_mer2"
        if _is_homograph(text, *match.span(group), language):
            if group.endswith("2") and minute_text is None:
                return None  # the part of the day was all that made it a time
            meridiem, end = None, len(text.folded[: match.start(group)].rstrip())
    clock_hour = None
    if meridiem and grammar.evening.fullmatch(meridiem):
        hour = hour + 12 if hour < 12 else hour
    elif meridiem and grammar.morning.fullmatch(meridiem):
        hour = 0 if hour == 12 else hour
    else:
        clock_hour = hour if hour <= 12 else None
        if prefix != "c" and minute_text is None and hour in AFTERNOON_GUESS:
            hour += 12
    return TimeMatch(hour, minute, start, end, clock_hour=clock_hour)


def _from_now(match: re.Match[str], grammar: TimeGrammar) -> TimeMatch:
    start, end = match.span()
    if match.group("half") or match.group("half2"):
        return TimeMatch(0, 30, start, end, from_now=True)
    count = int(match.group("n") or match.group("n2") or 1)
    unit = match.group("unit") or match.group("unit2") or ""
    if grammar.hour_unit.fullmatch(unit):
        return TimeMatch(count, 0, start, end, from_now=True)
    return TimeMatch(count // 60, count % 60, start, end, from_now=True)


def is_reminder(folded: str, language: str) -> bool:
    return time_grammar(language).reminder.search(folded) is not None


def _overlaps(start: int, end: int, times: list[TimeMatch]) -> bool:
    return any(start < t.end and t.start < end for t in times)


_JOINER = re.compile(r"[\s,]*")


def extract_times(text: FoldedText, language: str) -> list[TimeMatch]:
    grammar = time_grammar(language)
    folded = text.folded
    times = [_from_now(match, grammar) for match in grammar.relative.finditer(folded)]
    for match in grammar.times.finditer(folded):
        if _overlaps(match.start(), match.end(), times):
            continue
        found = _to_time(match, grammar, text, language)
        if found is not None:
            times.append(found)
    reminder = grammar.reminder.search(folded) is not None
    if reminder or grammar.alone.fullmatch(folded):
        for match in grammar.weak_bare.finditer(folded):
            if _overlaps(match.start(), match.end(), times):
                continue
            hour, minute = int(match.group("h")), int(match.group("m") or 0)
            if hour <= 23 and minute <= 59:
                clock_hour = hour if match.group("m") is None and hour <= 12 else None
                hour = hour + 12 if match.group("m") is None and hour in AFTERNOON_GUESS else hour
                times.append(TimeMatch(hour, minute, *match.span(), clock_hour=clock_hour))
    for match in grammar.day_part.finditer(folded):
        if _overlaps(match.start(), match.end(), times) or _is_homograph(text, *match.span(), language):
            continue
        evening = not match.group("morning")
        following = next((t for t in times if t.start >= match.end()), None)
        if (
            following is not None
            and following.clock_hour is not None
            and _JOINER.fullmatch(folded, match.end(), following.start)
        ):
            # "tonight at 8", "утром в 6": the part of the day says which 8 or 6
            hour = following.clock_hour % 12 + (12 if evening else 0)
            times[times.index(following)] = TimeMatch(hour, following.minute, match.start(), following.end)
        elif reminder:
            times.append(TimeMatch(EVENING_HOUR if evening else MORNING_HOUR, 0, *match.span()))
    return sorted(times, key=lambda t: t.start)
