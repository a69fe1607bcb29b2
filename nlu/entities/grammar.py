"""Compiled per-language patterns for dates, months and times, built once per process from `vocabulary`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from nlu.entities.text import fold
from nlu.entities.vocabulary import WORDS, LanguageWords

WORD_START = r"(?<![^\W_])"
WORD_END = r"(?![^\W_])"
NEVER = r"(?!x)x"


def alternation(fragment: str) -> str:
    """A folded, non-capturing group for a vocabulary fragment (or a pattern that never matches)."""
    return f"(?:{fold(fragment)})" if fragment else NEVER


def named(name: str, fragment: str) -> str:
    return f"(?P<{name}>{alternation(fragment)})"


def relative_group(offset: int) -> str:
    return f"rel_{'n' if offset < 0 else 'p'}{abs(offset)}"


RELATIVE_GROUPS = {relative_group(offset): offset for offset in range(-2, 3)}


@dataclass(frozen=True)
class DateGrammar:
    language: str
    atoms: re.Pattern[str]
    cue: re.Pattern[str]
    months: tuple[re.Pattern[str], ...]
    weekdays: tuple[re.Pattern[str], ...]
    ambiguous_month: re.Pattern[str]
    range_gap: re.Pattern[str]
    between: re.Pattern[str]
    between_and: re.Pattern[str]
    from_suffix: re.Pattern[str]
    to_suffix: re.Pattern[str]
    week_unit: re.Pattern[str]
    month_prefix_before: re.Pattern[str]
    month_context_after: re.Pattern[str]
    until_before: re.Pattern[str]
    until_after: re.Pattern[str]
    until_suffix: re.Pattern[str]

    def month_number(self, text: str) -> int | None:
        digits = re.search(r"\d+", text)
        if digits:
            number = int(digits.group())
            return number if 1 <= number <= 12 else None
        for number, pattern in enumerate(self.months, start=1):
            if pattern.fullmatch(text):
                return number
        return None

    def weekday_number(self, text: str) -> int | None:
        for number, pattern in enumerate(self.weekdays):
            if pattern.fullmatch(text):
                return number
        return None



def _month_alternation(words: LanguageWords) -> str:
    if words.month_numeric:
        return f"(?:{alternation(words.month_numeric)}\\s*\\d{{1,2}}(?!\\d))"
    return alternation("|".join(words.months))


@cache
def date_grammar(language: str) -> DateGrammar:
    words = WORDS[language]
    month = _month_alternation(words)
    ordinal = f"(?:{alternation(words.day_ordinal)})?" if words.day_ordinal else ""
    day_prefix = alternation(words.day_prefix)
    year = r"(?:\s*,?\s*(?P<{0}>\d{{4}})(?:\s*" + alternation(words.year_word) + r")?)?"
    days_units = alternation(words.day_unit)
    units = f"(?:{days_units}|{alternation(words.week_unit)})"
    month_of = r"\s*(?:of\s+|-|/)?\s*" if language != "vi" else r"\s*(?:/)?\s*"
    branches = [
        r"(?P<iso_y>\d{4})-(?P<iso_m>\d{1,2})-(?P<iso_d>\d{1,2})(?!\d)",
        r"(?P<ym_y>\d{4})[-/.](?P<ym_m>\d{1,2})(?![\d./-])",
        r"(?P<my_m>\d{1,2})[./](?P<my_y>\d{4})(?![\d./-])",
        r"(?<![\d.:/,])(?P<num_d>\d{1,2})[./](?P<num_m>\d{1,2})(?:[./](?P<num_y>\d{4}|\d{2}))?(?![\d:]|[./]\d)",
        (
            rf"(?:{day_prefix}\s+)?(?<![\d.:/,])(?P<dm_d>\d{{1,2}}){ordinal}{month_of}(?P<dm_m>{month})\.?"
            + year.format("dm_y")
        ),
        rf"(?P<md_m>{month})\.?\s+(?:the\s+)?(?P<md_d>\d{{1,2}}){ordinal}(?![\d:]|[./]\d)" + year.format("md_y"),
        named("after_next_week", words.week_after_next),
        rf"(?:{alternation(words.offsets_before)})\s+(?:(?P<ob_n>\d{{1,3}})\s+)?(?P<ob_u>{units})",
        rf"(?P<oa_n>\d{{1,3}})\s*-?\s*(?P<oa_u>{units})\w*\s+(?:{alternation(words.offsets_after)})",
        rf"(?:(?:{alternation(words.duration_before)})\s+)?(?P<dur_n>\d{{1,3}})\s*-?\s*(?P<dur_u>{days_units})",
        named("next_week", words.next_week),
        named("this_week", words.this_week),
        (
            rf"(?:(?P<wd_next>{alternation(words.next_modifier)})\s+|(?P<wd_this>{alternation(words.this_modifier)})\s+"
            rf"|(?P<wd_last>{alternation(words.last_modifier)})\s+)?"
            rf"(?P<wd>{alternation('|'.join(words.weekdays))})\.?"
            rf"(?:\s+(?P<wd_nw>{alternation(words.next_week)})|\s+(?P<wd_tw>{alternation(words.this_week)})"
            rf"|\s+(?P<wd_lw>{alternation(words.last_week)})|\s+(?P<wd_la>{alternation(words.last_after)}))?"
        ),
        named("last_week", words.last_week),
        "|".join(named(relative_group(offset), w) for offset, w in words.relative_days.items()),
        named("last_month", words.last_month),
        named("this_month", words.this_month),
        named("next_month", words.next_month),
        named("months_ago", words.months_ago),
        rf"(?P<mo>{month})" + year.format("mo_y"),
        rf"(?:(?P<d_pre>{day_prefix})\s+)?(?<![\d.:/,#№-])(?P<d_d>\d{{1,2}})(?P<d_ord>{ordinal})(?![\d:]|[./]\d)",
    ]
    suffix = f"(?P<suf>{fold(words.suffix)})?" if words.suffix else ""
    atoms = re.compile(
        WORD_START + "(?:" + "|".join(f"(?:{branch})" for branch in branches) + ")" + suffix + WORD_END
    )
    cue_words = [words.week_after_next, words.next_week, words.this_week, words.last_week, words.last_month, words.this_month, words.month_numeric]
    cue_words += list(words.months) + list(words.weekdays) + list(words.relative_days.values())
    cue = re.compile(r"\d|" + WORD_START + alternation("|".join(w for w in cue_words if w)))
    return DateGrammar(
        language=language,
        atoms=atoms,
        cue=cue,
        months=tuple(re.compile(alternation(m)) for m in words.months),
        weekdays=tuple(re.compile(alternation(w)) for w in words.weekdays),
        ambiguous_month=re.compile(alternation(words.ambiguous_months)),
        range_gap=re.compile(rf"\s*(?:{alternation(words.range_to)})?\s*"),
        between=re.compile(rf"{WORD_START}{alternation(words.between)}\s*$"),
        between_and=re.compile(rf"\s*{alternation(words.between_and)}\s*"),
        from_suffix=re.compile(rf"-?\w*(?:{alternation(words.from_suffix)})(?:\s+\w+)?"),
        to_suffix=re.compile(rf"-?(?:{alternation(words.to_suffix)})(?:\s+\w+)?"),
        week_unit=re.compile(alternation(words.week_unit)),
        month_prefix_before=re.compile(rf"{WORD_START}(?:{alternation(words.month_prefix)})\s+$"),
        month_context_after=re.compile(rf"\s*(?:{alternation(words.month_context)}){WORD_END}"),
        until_before=re.compile(rf"{WORD_START}(?:{alternation(words.until_before)})\s+$"),
        until_after=re.compile(rf"\s+(?:{alternation(words.until_after)}){WORD_END}"),
        until_suffix=re.compile(rf"(?:{alternation(words.until_suffix)})(?:\s+\w+)?$"),
    )


def _either(*fragments: str) -> str:
    return "|".join(f for f in fragments if f)


@dataclass(frozen=True)
class TimeGrammar:
    times: re.Pattern[str]
    morning: re.Pattern[str]
    evening: re.Pattern[str]
    relative: re.Pattern[str]  # "in 10 minutes", "через полчаса"
    hour_unit: re.Pattern[str]
    reminder: re.Pattern[str]
    weak_bare: re.Pattern[str]  # "в 10", a time only in a reminder
    day_part: re.Pattern[str]  # "утром", "this afternoon": a time only in a reminder, or the half of a bare hour
    alone: re.Pattern[str]  # a whole message that is only a weak cue and an hour: "в 10"


@cache
def time_grammar(language: str) -> TimeGrammar:
    words = WORDS[language]
    meridiem = f"(?:\\s*(?P<{{0}}_mer>{alternation(words.morning)}|{alternation(words.evening)}))?"
    hour_word = f"(?:\\s*{alternation(words.hour_word)})"
    minutes = f"(?:\\s*(?P<{{0}}_min2>\\d{{{{1,2}}}})\\s*{alternation(words.minute_word)}|\\s*(?P<{{0}}_half>{alternation(words.half_hour)}))?"
    time_suffix = f"(?:\\s*-?\\s*{alternation(words.time_suffix)})?" if words.time_suffix else ""
    branches = [
        # 17:00, 5:30 pm, 17h30 (a colon or "h" with minutes is a time anywhere)
        rf"(?:(?:{alternation(words.time_cue)}|{alternation(words.weak_time_cue)})\s+)?"
        rf"(?P<c_h>\d{{1,2}})(?::|h)(?P<c_m>\d{{2}})" + meridiem.format("c") + time_suffix,
        # a cue word, then an hour with optional minutes: "at 5", "lúc 5 giờ chiều", "στις 5.30", "soat 17 da"
        rf"(?:{alternation(words.time_cue)})\s+(?P<s_h>\d{{1,2}})(?:[.](?P<s_m>\d{{2}}))?(?:{hour_word})?"
        + minutes.format("s") + meridiem.format("s") + time_suffix,
        # a weak cue needs an hour word or a part of the day: "в 5 вечера", "в 17 часов"
        rf"(?:{alternation(words.weak_time_cue)})\s+(?P<w_h>\d{{1,2}})(?:[.](?P<w_m>\d{{2}}))?"
        rf"(?:{hour_word}" + minutes.format("w") + meridiem.format("w") + rf"|\s*(?P<w_mer2>{alternation(words.morning)}|{alternation(words.evening)}))",
        # an hour with an am/pm or hour word and no cue: "5pm", "5 giờ chiều", "17h"
        rf"(?P<b_h>\d{{1,2}})(?:{hour_word}" + minutes.format("b") + meridiem.format("b")
        + rf"|\s*(?P<b_mer2>{alternation(words.clock_suffix)}))",
    ]
    branches.append(named("noon", words.noon))
    if language == "en":
        branches.append(r"(?P<midnight>midnight)")
    times = re.compile(
        WORD_START + "(?:" + "|".join(f"(?:{b})" for b in branches) + ")" + r"(?![^\W_]|[.:]\d)"
    )
    units = rf"(?P<unit>{alternation(words.minute_unit)}|{alternation(words.hour_unit)})"
    amount = r"(?:(?P<n>\d{1,3})|an?|one|один|одну|bir|bitta|μια|μια|μιση|mot|một)"
    relative = re.compile(
        WORD_START
        + rf"(?:(?:{alternation(words.time_in)})\s+(?:(?P<half>{alternation(words.half_an_hour)})|{amount}?\s*{units})"
        + rf"|(?:(?P<half2>{alternation(words.half_an_hour)})|(?P<n2>\d{{1,3}})\s*(?P<unit2>{alternation(words.minute_unit)}|{alternation(words.hour_unit)}))"
        + rf"\w*\s+(?:{alternation(words.time_later)}))"
        + WORD_END
    )
    return TimeGrammar(
        times=times,
        morning=re.compile(alternation(words.morning)),
        evening=re.compile(alternation(words.evening)),
        relative=relative,
        hour_unit=re.compile(alternation(words.hour_unit)),
        reminder=re.compile(WORD_START + alternation(words.reminder_words)),
        day_part=re.compile(
            rf"{WORD_START}(?:(?P<morning>{alternation(_either(words.morning, words.day_part_morning))})"
            rf"|(?P<evening>{alternation(_either(words.evening, words.day_part_evening))})){WORD_END}"
        ),
        alone=re.compile(
            rf"\s*(?:{alternation(words.alone_time_cue)})\s+\d{{1,2}}(?:[.:]\d{{2}})?\s*[.!?]?\s*"
        ),
        weak_bare=re.compile(
            rf"{WORD_START}(?:{alternation(words.weak_time_cue)})\s+(?P<h>\d{{1,2}})(?:[.:](?P<m>\d{{2}}))?(?![\w.,:/]|\s*%)"
        ),
    )
