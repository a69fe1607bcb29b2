"""Clock times for reminders ("at 5pm", "в 17:00", "soat 17:00 da", "lúc 5 giờ chiều")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.entities.grammar import TimeGrammar, time_grammar

# Without am/pm, "at 5" in an office means 17:00, not 05:00.
AFTERNOON_GUESS = range(1, 7)


@dataclass(frozen=True, slots=True)
class TimeMatch:
    hour: int
    minute: int
    start: int  # folded offsets
    end: int

    @property
    def value(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


def _first(groups: dict[str, str | None], *names: str) -> str | None:
    for name in names:
        if groups.get(name):
            return groups[name]
    return None


def _to_time(match: re.Match[str], grammar: TimeGrammar) -> TimeMatch | None:
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
    if hour > 23 or minute > 59:
        return None
    if meridiem and grammar.evening.fullmatch(meridiem):
        hour = hour + 12 if hour < 12 else hour
    elif meridiem and grammar.morning.fullmatch(meridiem):
        hour = 0 if hour == 12 else hour
    elif prefix != "c" and minute_text is None and hour in AFTERNOON_GUESS:
        hour += 12
    return TimeMatch(hour, minute, *match.span())


def extract_times(folded: str, language: str) -> list[TimeMatch]:
    grammar = time_grammar(language)
    times = []
    for match in grammar.times.finditer(folded):
        found = _to_time(match, grammar)
        if found is not None:
            times.append(found)
    return times
