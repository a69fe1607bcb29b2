"""Public holidays per calendar, and counting working days for leave."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import holidays as holiday_calendars
from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.errors import InvalidRequest

WEEKEND = frozenset({5, 6})  # Saturday, Sunday
HALF = Decimal("0.5")


class PublicHoliday(Base):
    __tablename__ = "public_holidays"
    __table_args__ = (UniqueConstraint("calendar", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar: Mapped[str] = mapped_column(String(16), index=True)
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(200))


async def holidays_between(session: AsyncSession, calendar: str, start: date, end: date) -> dict[date, str]:
    if not calendar:
        return {}
    rows = await session.execute(
        select(PublicHoliday.day, PublicHoliday.name).where(
            PublicHoliday.calendar == calendar, PublicHoliday.day >= start, PublicHoliday.day <= end
        )
    )
    return {day: name for day, name in rows}


def working_days(
    start: date,
    end: date,
    holidays: set[date] | dict[date, str],
    *,
    half_day_start: bool = False,
    half_day_end: bool = False,
) -> Decimal:
    """Working days from start to end inclusive; a half-day start/end counts that day as half."""
    if end < start:
        raise InvalidRequest("The leave ends before it starts.", code="end_before_start", start=start, end=end)
    if start == end and half_day_start and half_day_end:
        raise InvalidRequest("A one-day leave can't be only the afternoon and only the morning.", code="half_days_clash")

    def is_working(day: date) -> bool:
        return day.weekday() not in WEEKEND and day not in holidays

    total = Decimal(0)
    day = start
    while day <= end:
        if is_working(day):
            total += 1
        day += timedelta(days=1)
    if half_day_start and is_working(start):
        total -= HALF
    if half_day_end and is_working(end) and not (start == end and half_day_start):
        total -= HALF
    return total


async def load_calendar(session: AsyncSession, calendar: str, years: list[int]) -> int:
    """Fill a country calendar from the `holidays` package; returns how many days were added."""
    try:
        source = holiday_calendars.country_holidays(calendar, years=years)
    except NotImplementedError:
        raise InvalidRequest(f"Unknown holiday calendar {calendar!r}.", code="unknown_calendar", calendar=calendar) from None
    known = set(
        await session.scalars(
            select(PublicHoliday.day).where(
                PublicHoliday.calendar == calendar,
                PublicHoliday.day >= date(min(years), 1, 1),
                PublicHoliday.day <= date(max(years), 12, 31),
            )
        )
    )
    added = 0
    for day, name in sorted(source.items()):
        if day not in known:
            session.add(PublicHoliday(calendar=calendar, day=day, name=name[:200]))
            added += 1
    await session.flush()
    return added
