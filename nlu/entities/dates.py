"""Dates, date ranges and payslip months from fast per-language rules, with dateparser for the leftovers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from nlu.entities.grammar import RELATIVE_GROUPS, DateGrammar, alternation, date_grammar
from nlu.entities.text import FoldedText

PAST_TOLERANCE = timedelta(days=7)  # "the 5th" said on the 9th still means the 5th just gone
# A day and month without a year is the next such date, unless it fell within the last month: "10 November" said
# on 23 November is the 10th just gone (sick leave to record, or a mistake the leave rules can point out), never a
# date eleven months ahead.
RECENT_PAST = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class Atom:
    """One date-like piece of a message, in folded offsets, before it is resolved against today."""

    kind: str  # date | day | weekday | relative | week | offset | duration | month
    start: int
    end: int
    day: int | None = None
    month: int | None = None
    year: int | None = None
    weekday: int | None = None
    week_shift: int | None = None  # weekday: 1 = next week, 0 = this week, -1 = last week, None = the next to come
    past: bool = False  # weekday: "last Monday", the most recent one before today
    offset: int = 0  # relative/offset: days from today; duration: number of days
    explicit: bool = False  # a bare day number marked as a date ("ngày 5", "the 5th")
    role: str | None = None  # from/to, given by a case ending (Uzbek -dan/-gacha)
    weak: bool = False  # month word that is also an ordinary word ("may")


@dataclass(frozen=True, slots=True)
class DateMatch:
    entity: str  # start_date | end_date | month
    value: str
    start: int  # folded offsets
    end: int
    source: str = "rules"


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _full_year(year: int | None) -> int | None:
    if year is not None and year < 100:
        return 2000 + year
    return year


def _atom_from_match(match: re.Match[str], grammar: DateGrammar) -> Atom | None:
    groups = match.groupdict()
    start, end = match.span()
    suffix = groups.get("suf") or ""
    role = None
    if suffix:
        if grammar.from_suffix.fullmatch(suffix):
            role = "from"
        elif grammar.to_suffix.fullmatch(suffix):
            role = "to"
    atom = _classify(groups, start, end, grammar)
    if atom is None:
        return None
    return replace(atom, role=role) if role else atom


def _classify(groups: dict[str, Any], start: int, end: int, grammar: DateGrammar) -> Atom | None:
    if groups["iso_y"]:
        return Atom("date", start, end, int(groups["iso_d"]), int(groups["iso_m"]), int(groups["iso_y"]))
    if groups["ym_y"]:
        return Atom("month", start, end, month=int(groups["ym_m"]), year=int(groups["ym_y"]))
    if groups["my_m"]:
        return Atom("month", start, end, month=int(groups["my_m"]), year=int(groups["my_y"]))
    if groups["num_d"]:
        year = _full_year(_int(groups["num_y"]))
        return Atom("date", start, end, int(groups["num_d"]), int(groups["num_m"]), year)
    if groups["dm_d"]:
        month = grammar.month_number(groups["dm_m"])
        return Atom("date", start, end, int(groups["dm_d"]), month, _int(groups["dm_y"]))
    if groups["md_m"]:
        month = grammar.month_number(groups["md_m"])
        return Atom("date", start, end, int(groups["md_d"]), month, _int(groups["md_y"]))
    if groups["ob_u"] or groups["oa_u"]:
        count = int(groups["ob_n"] or groups["oa_n"] or 1)
        unit = groups["ob_u"] or groups["oa_u"]
        days = count * 7 if grammar.week_unit.fullmatch(unit) else count
        return Atom("offset", start, end, offset=days)
    if groups["dur_n"]:
        return Atom("duration", start, end, offset=int(groups["dur_n"]))
    if groups["after_next_week"]:
        return Atom("week", start, end, offset=2)
    if groups["next_week"]:
        return Atom("week", start, end, offset=1)
    if groups["this_week"]:
        return Atom("week", start, end, offset=0)
    if groups["last_week"]:
        return Atom("week", start, end, offset=-1)
    if groups["wd"]:
        shift = None
        if groups["wd_next"] or groups["wd_nw"]:
            shift = 1
        elif groups["wd_this"] or groups["wd_tw"]:
            shift = 0
        elif groups["wd_lw"]:
            shift = -1
        past = bool(groups["wd_last"] or groups["wd_la"]) and shift is None
        weekday = grammar.weekday_number(groups["wd"])
        return Atom("weekday", start, end, weekday=weekday, week_shift=shift, past=past)
    for group, offset in RELATIVE_GROUPS.items():
        if groups.get(group):
            return Atom("relative", start, end, offset=offset)
    if groups["last_month"]:
        return Atom("month", start, end, offset=-1)
    if groups["this_month"]:
        return Atom("month", start, end, offset=0)
    if groups["next_month"]:
        return Atom("month", start, end, offset=1)
    if groups["months_ago"]:
        return Atom("month", start, end, offset=-_months_ago(groups["months_ago"]))
    if groups["mo"]:
        weak = bool(grammar.ambiguous_month.fullmatch(groups["mo"])) and not groups["mo_y"]
        month = grammar.month_number(groups["mo"])
        return Atom("month", start, end, month=month, year=_int(groups["mo_y"]), weak=weak)
    if groups["d_d"]:
        # "the 5th" and "5-го" are dates; "3rd floor" is not
        explicit = bool(groups["d_pre"] or (groups["d_ord"] and grammar.language != "en"))
        return Atom("day", start, end, day=int(groups["d_d"]), explicit=explicit)
    return None


_SMALL_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ikki": 2, "iki": 2, "uch": 3, "uc": 3, "δυο": 2, "τρεις": 3}


def _months_ago(text: str) -> int:
    digits = re.search(r"\d+", text)
    if digits:
        return int(digits.group())
    for word in text.split():
        if word in _SMALL_NUMBERS:
            return _SMALL_NUMBERS[word]
    return 2


_NOT_A_DAY_AFTER = re.compile(
    r"\s*" + alternation("floor|room|place|row|level|grade|quarter|time|этаж|кабинет|qavat|mərtəbə|όροφ|tầng")
)


def find_atoms(folded: str, grammar: DateGrammar, taken: list[tuple[int, int]]) -> list[Atom]:
    atoms = []
    for match in grammar.atoms.finditer(folded):
        if any(match.start() < end and start < match.end() for start, end in taken):
            continue
        atom = _atom_from_match(match, grammar)
        if atom is None or atom.kind == "day" and _NOT_A_DAY_AFTER.match(folded, atom.end):
            continue
        atoms.append(atom)
    return atoms


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def upcoming(day: int, month: int, today: date, not_before: date | None = None) -> date | None:
    """The first such day that is not more than a month in the past (or not before `not_before`)."""
    earliest = not_before or today - RECENT_PAST
    for year in range(earliest.year, earliest.year + 5):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= earliest:
            return candidate
    return None


def upcoming_day_of_month(day: int, today: date) -> date | None:
    earliest = today - PAST_TOLERANCE
    year, month = earliest.year, earliest.month
    for _ in range(13):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= earliest:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def weekday_date(
    weekday: int, week_shift: int | None, today: date, not_before: date | None = None, past: bool = False
) -> date:
    if not_before is not None:
        return not_before + timedelta(days=(weekday - not_before.weekday()) % 7)
    if past:
        return today - timedelta(days=(today.weekday() - weekday) % 7 or 7)
    monday = today - timedelta(days=today.weekday())
    if week_shift is not None and week_shift != 0:  # -1 last week, 1 next week, 2 the week after next
        return monday + timedelta(days=7 * week_shift + weekday)
    if week_shift == 0:
        this_week = monday + timedelta(days=weekday)
        return this_week if this_week >= today else this_week + timedelta(days=7)
    days_ahead = (weekday - today.weekday()) % 7 or 7
    return today + timedelta(days=days_ahead)


def resolve_single(atom: Atom, today: date, not_before: date | None = None) -> date | None:
    if atom.kind == "date":
        if atom.month is None or not 1 <= atom.month <= 12 or atom.day is None:
            return None
        if atom.year is not None:
            return _safe_date(atom.year, atom.month, atom.day)
        return upcoming(atom.day, atom.month, today, not_before)
    if atom.kind == "weekday" and atom.weekday is not None:
        return weekday_date(atom.weekday, atom.week_shift, today, not_before, atom.past)
    if atom.kind in ("relative", "offset"):
        return today + timedelta(days=atom.offset)
    if atom.kind == "day" and atom.day is not None:
        if not_before is not None:
            return upcoming_day_of_month_from(atom.day, not_before)
        return upcoming_day_of_month(atom.day, today)
    return None


def upcoming_day_of_month_from(day: int, not_before: date) -> date | None:
    return upcoming_day_of_month(day, not_before + PAST_TOLERANCE)


def week_range(atom: Atom, today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7 * atom.offset)
    start = max(monday, today) if atom.offset == 0 else monday
    return start, monday + timedelta(days=4)


def month_value(atom: Atom, today: date) -> str | None:
    if atom.month is None:
        index = today.year * 12 + today.month - 1 + atom.offset
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    if not 1 <= atom.month <= 12:
        return None
    year = atom.year if atom.year is not None else (today.year if atom.month <= today.month else today.year - 1)
    return f"{year:04d}-{atom.month:02d}"


DATE_KINDS = frozenset({"date", "weekday", "relative", "offset"})


def _inherit_month(partial: Atom, full: Atom) -> Atom:
    return replace(partial, kind="date", month=full.month, year=full.year)


def _try_range(first: Atom, second: Atom, folded: str, grammar: DateGrammar, today: date) -> tuple[date, date] | None:
    gap = folded[first.end : second.start]
    joined = grammar.range_gap.fullmatch(gap) is not None and (gap.strip() != "" or first.role == "from")
    consecutive_only = False
    if not joined and grammar.between_and.fullmatch(gap):
        joined = True
        consecutive_only = grammar.between.search(folded, 0, first.start) is None
    if not joined:
        return None
    if first.kind == "day" and second.kind == "day":
        return _day_range(first, second, gap, today)
    if first.kind == second.kind == "weekday" and first.week_shift is None and not first.past:
        first = replace(first, week_shift=second.week_shift)  # "Wednesday to Friday next week": both next week
    if first.kind == "day" and second.kind == "date" and second.month is not None:
        first = _inherit_month(first, second)
    elif first.kind == "date" and second.kind == "day" and first.month is not None:
        second = _inherit_month(second, first)
    if first.kind not in DATE_KINDS or second.kind not in DATE_KINDS:
        return None
    start = resolve_single(first, today)
    if start is None:
        return None
    # "from 10 to 5 December" names one month: both ends stay in it, so the leave rules can say it ends before
    # it starts, instead of the end moving a year ahead
    one_month = first.kind == "date" and second.kind == "date" and first.month == second.month
    explicit_years = first.kind == "date" and second.kind == "date" and second.year is not None
    if one_month and second.year is None and second.day is not None and second.month is not None:
        end = _safe_date(start.year, second.month, second.day)
    elif second.kind == "date" and second.year is not None or second.kind in ("relative", "offset"):
        end = resolve_single(second, today)
    else:
        end = resolve_single(second, today, not_before=start)
    if end is None or consecutive_only and end != start + timedelta(days=1):
        return None
    if end < start and not (one_month or explicit_years):
        return None
    return start, end


def _day_range(first: Atom, second: Atom, gap: str, today: date) -> tuple[date, date] | None:
    """"the 14th to the 18th", "с 14 по 18", "14 dan 18 gacha": the next such days, the end in the start's month
    (or the next month when it is smaller: "28 to 3"). A bare "14-18" needs "the"/"-го" marks to be dates."""
    if gap.strip() in ("", "-") and not (first.explicit or second.explicit):
        return None
    if first.day is None or second.day is None or first.day == second.day:
        return None
    start = upcoming_day_of_month(first.day, today)
    if start is None:
        return None
    year, month = (start.year, start.month) if second.day > first.day else _next_month(start.year, start.month)
    end = _safe_date(year, month, second.day)
    return (start, end) if end is not None else None


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _with_named_months(atoms: list[Atom], folded: str) -> list[Atom]:
    """Two bare days beside a month word take its month: "14-dən 18-dək dekabr", "dekabrin 14-dən 18-dək"."""
    result: list[Atom | None] = list(atoms)
    for index, atom in enumerate(atoms):
        if atom.kind != "month" or atom.month is None:
            continue
        for first_index, near_index in ((index - 2, index - 1), (index + 1, index + 2)):
            if first_index < 0 or near_index >= len(atoms) or result[first_index] is None:
                continue
            days = (atoms[first_index], atoms[min(first_index, near_index) + 1])
            if days[0].kind != "day" or days[1].kind != "day":
                continue
            near = atoms[index - 1] if near_index < index else atoms[index + 1]
            gap = folded[near.end : atom.start] if near_index < index else folded[atom.end : near.start]
            if gap.strip(" ,") or days[0].day is None or days[1].day is None:
                continue
            result[first_index] = replace(_inherit_month(days[0], atom), explicit=True)
            result[first_index + 1] = replace(_inherit_month(days[1], atom), explicit=True)
            result[index] = None
            break
    return [atom for atom in result if atom is not None]


_NEXT_TO_THE_WEEK = re.compile(r"[\s,:]*(?:\w{1,4}\s+)?")  # "next week: Monday", "next week on Monday"
# "next week I'm moving, so from Wednesday to Friday": further on in the same sentence, a weekday range
_LATER_IN_THE_SENTENCE = re.compile(r"[^.!?;\n]*")
_MAX_WORDS_BEFORE_A_RANGE = 8


def _weeks_to_weekdays(atoms: list[Atom], folded: str) -> list[Atom]:
    """"next week Monday to Wednesday": the week names the week of the weekdays after it, and is not a range.

    A single weekday takes the week only right after it ("next week, Friday"); a weekday range takes it anywhere later
    in the same sentence, as people say why before they say when ("tuần sau nhà em có việc nên từ thứ ba đến thứ năm")."""
    result: list[Atom] = []
    shift: int | None = None
    previous_end = -1
    for index, atom in enumerate(atoms):
        if atom.kind == "week" and atom.offset != 0:
            shift, previous_end = atom.offset, atom.end
            result.append(atom)
            continue
        if shift is not None and atom.kind == "weekday" and atom.week_shift is None and not atom.past:
            gap = folded[previous_end : atom.start]
            following = atoms[index + 1] if index + 1 < len(atoms) else None
            begins_a_range = (
                following is not None
                and following.kind == "weekday"
                and following.week_shift is None
                and not following.past
                and following.start - atom.end <= 12  # "to", "đến", "μέχρι", "по": a connector, not a clause
            )
            if _NEXT_TO_THE_WEEK.fullmatch(gap) or (
                begins_a_range
                and _LATER_IN_THE_SENTENCE.fullmatch(gap)
                and len(gap.split()) <= _MAX_WORDS_BEFORE_A_RANGE
            ):
                if result and result[-1].kind == "week":
                    result.pop()
                result.append(replace(atom, week_shift=shift))
                previous_end = atom.end
                continue
        shift = None
        result.append(atom)
    return result


def _duration_range(duration: Atom, anchor: Atom, folded: str, today: date) -> tuple[date, date] | None:
    left, right = (duration, anchor) if duration.start < anchor.start else (anchor, duration)
    gap = folded[left.end : right.start]
    if len(gap.split()) > 2 or duration.offset < 1 or duration.offset > 366:
        return None
    start = resolve_single(anchor, today)
    if start is None:
        return None
    return start, start + timedelta(days=duration.offset - 1)


def resolve(atoms: list[Atom], folded: str, grammar: DateGrammar, today: date) -> list[DateMatch]:
    atoms = _weeks_to_weekdays(_with_named_months(atoms, folded), folded)
    matches: list[DateMatch] = []
    used: set[int] = set()
    for index, atom in enumerate(atoms):
        if index in used:
            continue
        following = atoms[index + 1] if index + 1 < len(atoms) else None
        if following is not None and atom.kind != "duration" and following.kind != "duration":
            dates = _try_range(atom, following, folded, grammar, today)
            if dates is not None:
                used.update((index, index + 1))
                matches.append(DateMatch("start_date", dates[0].isoformat(), atom.start, atom.end))
                matches.append(DateMatch("end_date", dates[1].isoformat(), following.start, following.end))
                continue
        if atom.kind == "duration":
            for neighbour_index in (index + 1, index - 1):
                if neighbour_index in used and neighbour_index != index - 1:
                    continue
                if not 0 <= neighbour_index < len(atoms):
                    continue
                neighbour = atoms[neighbour_index]
                if neighbour.kind not in DATE_KINDS:
                    continue
                dates = _duration_range(atom, neighbour, folded, today)
                if dates is None:
                    continue
                _replace_single(matches, neighbour)
                used.update((index, neighbour_index))
                matches.append(DateMatch("start_date", dates[0].isoformat(), neighbour.start, neighbour.end))
                matches.append(DateMatch("end_date", dates[1].isoformat(), atom.start, atom.end))
                break
            continue
        used.add(index)
        matches.extend(_single(atom, folded, grammar, today))
    return sorted(matches, key=lambda m: (m.start, m.entity != "start_date"))


def _replace_single(matches: list[DateMatch], atom: Atom) -> None:
    matches[:] = [m for m in matches if not (m.start == atom.start and m.end == atom.end)]


def _single(atom: Atom, folded: str, grammar: DateGrammar, today: date) -> list[DateMatch]:
    if atom.kind == "week":
        start, end = week_range(atom, today)
        return [
            DateMatch("start_date", start.isoformat(), atom.start, atom.end),
            DateMatch("end_date", end.isoformat(), atom.start, atom.end),
        ]
    if atom.kind == "month":
        if (
            atom.weak
            and not grammar.month_prefix_before.search(folded, 0, atom.start)
            and not grammar.month_context_after.match(folded, atom.end)
        ):
            return []
        value = month_value(atom, today)
        return [DateMatch("month", value, atom.start, atom.end)] if value else []
    if atom.kind == "day" and not atom.explicit:
        return []
    resolved = resolve_single(atom, today)
    if resolved is None:
        return []
    entity = "end_date" if _marked_as_end(atom, folded, grammar) else "start_date"
    return [DateMatch(entity, resolved.isoformat(), atom.start, atom.end)]


def _marked_as_end(atom: Atom, folded: str, grammar: DateGrammar) -> bool:
    """"until Friday", "по пятницу", "jumagacha", "cüməyə qədər": a lone date that ends a period."""
    if grammar.until_before.search(folded, 0, atom.start) or grammar.until_after.match(folded, atom.end):
        return True
    written = folded[atom.start : atom.end]
    return atom.role == "to" and grammar.until_suffix.search(written) is not None


class DateparserFallback:
    """dateparser, for a month word next to a number in a shape the rules do not know ("December the 5th")."""

    def __init__(self) -> None:
        self._parsers: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._parsers = {}

    def warm_up(self, languages: Iterable[str], today: date) -> None:
        """Build what the first call would: dateparser's timezone patterns (~150 ms, once per process) and each
        language's parser (10-30 ms)."""
        for language in languages:
            self.parse("1 1", language, today)

    def parse(self, text: str, language: str, today: date) -> date | None:
        key = f"{language}/{today.isoformat()}"
        parser = self._parsers.get(key)
        if parser is None:
            from dateparser.date import DateDataParser

            if len(self._parsers) > 16:
                self._parsers.clear()
            parser = DateDataParser(
                languages=[language],
                settings={
                    "PREFER_DATES_FROM": "future",
                    "DATE_ORDER": "DMY",
                    "REQUIRE_PARTS": ["day", "month"],
                    "RELATIVE_BASE": datetime(today.year, today.month, today.day),
                },
            )
            self._parsers[key] = parser
        result = parser.get_date_data(text)
        return result.date_obj.date() if result.date_obj is not None else None


_NUMBER_NEAR = re.compile(r"\d")


def extract_dates(
    text: FoldedText,
    language: str,
    today: date,
    taken: list[tuple[int, int]],
    fallback: DateparserFallback,
) -> list[DateMatch]:
    grammar = date_grammar(language)
    folded = text.folded
    if grammar.cue.search(folded) is None:
        return []
    atoms = find_atoms(folded, grammar, taken)
    if not atoms:
        return []
    if language == "vi":
        atoms = [a for a in atoms if not _is_unaccented_homograph(a, text)]
    matches = resolve(atoms, folded, grammar, today)
    return _fallback_months(matches, text, language, today, fallback)


def _is_unaccented_homograph(atom: Atom, text: FoldedText) -> bool:
    """Vietnamese "mai" (tomorrow) folds like mãi/mái/mại; accept only the plain spelling."""
    if atom.kind != "relative" or text.folded[atom.start : atom.end] != "mai":
        return False
    start, end = text.span(atom.start, atom.end)
    return text.original[start:end].lower() != "mai"


def _fallback_months(
    matches: list[DateMatch], text: FoldedText, language: str, today: date, fallback: DateparserFallback
) -> list[DateMatch]:
    result = []
    for match in matches:
        if match.entity != "month" or match.value is None:
            result.append(match)
            continue
        window_start = max(0, match.start - 8)
        window_end = min(len(text.folded), match.end + 8)
        around = text.folded[window_start : match.start] + " " + text.folded[match.end : window_end]
        if _NUMBER_NEAR.search(around) is None or not any(c.isalpha() for c in text.folded[match.start : match.end]):
            result.append(match)
            continue
        original_start, original_end = text.span(window_start, window_end)
        parsed = fallback.parse(text.original[original_start:original_end], language, today)
        if parsed is None:
            result.append(match)
        else:
            result.append(DateMatch("start_date", parsed.isoformat(), match.start, match.end, "dateparser"))
    return result
