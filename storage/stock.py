"""Stock: items, locations, quantities, movements; typo-tolerant search; quantities never go negative.

Every quantity change is one conditional UPDATE (`quantity - reserved >= n`), so concurrent issues or
reservations can't overdraw a shelf on either database.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from rapidfuzz import fuzz, process
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage import audit
from storage.base import Base, Timestamped, str_enum, utcnow
from storage.errors import InsufficientStock, InvalidRequest, NotFound
from storage.people import Employee, Role, require_role

MATCH_SCORE = 85.0
SUGGEST_SCORE = 60.0
CLEAR_LEAD = 4.0
"""How far the best match must lead the runner-up to be taken without asking."""


class LocationKind(enum.StrEnum):
    WAREHOUSE = "warehouse"
    SUPPLY_ROOM = "supply_room"


class MovementKind(enum.StrEnum):
    IN = "in"
    OUT = "out"
    RESERVATION = "reservation"
    RELEASE = "release"


class StockItem(Base):
    __tablename__ = "stock_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    aliases: Mapped[list[str]] = mapped_column(default=list)
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    category: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    """With the count of items, tells a running assistant that its NLU's copy of the catalogue is out of date."""


class StockLocation(Base):
    __tablename__ = "stock_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[LocationKind] = mapped_column(str_enum(LocationKind))


class StockLevel(Timestamped, Base):
    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("item_id", "location_id"),
        CheckConstraint("quantity >= 0 AND reserved >= 0 AND reserved <= quantity", name="never_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("stock_items.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    reorder_level: Mapped[int] = mapped_column(default=0)
    low_since: Mapped[datetime | None] = mapped_column(
        doc="When it last fell to its reorder level (its keepers were told then); cleared once it is above it again."
    )

    item: Mapped[StockItem] = relationship(lazy="joined")
    location: Mapped[StockLocation] = relationship(lazy="joined")

    @property
    def available(self) -> int:
        return self.quantity - self.reserved

    @property
    def low(self) -> bool:
        return self.available <= self.reorder_level


class StockMovement(Base):
    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("stock_items.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id", ondelete="CASCADE"))
    kind: Mapped[MovementKind] = mapped_column(str_enum(MovementKind))
    quantity: Mapped[int]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class ItemMatch:
    item: StockItem
    score: float
    matched: str


@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """Case-, accent- and plural-insensitive form of an item name or query. (Not `nlu.normalize`: storage doesn't
    depend on the NLU; unifying the two means moving the fuzzy search up into actions/, issue 12.)"""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = re.findall(r"\w+", plain)
    return " ".join(_singular(word) for word in words)


@lru_cache(maxsize=8192)
def _codes(normalized: str) -> frozenset[str]:
    """Words with digits in them (A4, AAA-size 2, USB3): sizes and models that must match exactly."""
    return frozenset(word for word in normalized.split() if any(ch.isdigit() for ch in word))


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.isascii():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@lru_cache(maxsize=4)
def _labels(catalogue: tuple[tuple[int, str, str, tuple[str, ...]], ...]) -> tuple[dict[int, tuple[int, str]], dict[int, str]]:
    """Every (item id, label) of the catalogue by a running key, and the labels normalised: computed once per
    catalogue content, since the catalogue changes far less often than people ask about it."""
    choices: dict[int, tuple[int, str]] = {}
    for item_id, name, sku, aliases in catalogue:
        for label in (name, sku, *aliases):
            choices[len(choices)] = (item_id, label)
    return choices, {key: normalize(label) for key, (_, label) in choices.items()}


async def search_items(session: AsyncSession, query: str, *, limit: int = 5) -> list[ItemMatch]:
    """Items whose name or an alias resembles the query, best first (one entry per item)."""
    wanted = normalize(query)
    if not wanted:
        return []
    # Names and aliases only: building an ORM object for every item in the catalogue would cost more than matching.
    rows = (await session.execute(select(StockItem.id, StockItem.name, StockItem.sku, StockItem.aliases).order_by(StockItem.id))).all()
    choices, normalized = _labels(tuple((item_id, name, sku, tuple(aliases)) for item_id, name, sku, aliases in rows))
    best: dict[int, tuple[float, str]] = {}
    wanted_codes = _codes(wanted)
    for _, score, key in process.extract(wanted, normalized, scorer=fuzz.WRatio, limit=limit * 6):
        item_id, label = choices[key]
        if normalized[key] == wanted:
            score = 100.0
        elif not wanted_codes <= _codes(normalized[key]):
            # "a3 paper" is not "A4 paper": a different model code may be suggested, never taken.
            score = min(score, MATCH_SCORE - 1)
        if item_id not in best or best[item_id][0] < score:
            best[item_id] = (float(score), label)
    kept = {item_id: found for item_id, found in best.items() if found[0] >= SUGGEST_SCORE}
    if not kept:
        return []
    items = await session.scalars(select(StockItem).where(StockItem.id.in_(list(kept))))
    matches = [ItemMatch(item, *kept[item.id]) for item in items]
    return sorted(matches, key=lambda match: (-match.score, match.item.name))[:limit]


async def find_item(session: AsyncSession, query: str) -> StockItem:
    """The one item the query means, or NotFound carrying 'did you mean' suggestions."""
    matches = await search_items(session, query)
    if matches and matches[0].score >= MATCH_SCORE:
        clear = len(matches) == 1 or matches[0].score - matches[1].score >= CLEAR_LEAD or matches[0].score == 100
        if clear:
            return matches[0].item
    raise NotFound(
        f"I don't know an item called {query!r}.",
        code="item_ambiguous" if matches and matches[0].score >= MATCH_SCORE else "item_not_found",
        query=query,
        suggestions=[match.item.name for match in matches],
    )


async def get_location(session: AsyncSession, code: str) -> StockLocation:
    location = await session.scalar(select(StockLocation).where(StockLocation.code == code))
    if location is None:
        raise NotFound(f"There is no location {code!r}.", code="location_not_found", location=code)
    return location


async def levels_of(session: AsyncSession, item: StockItem) -> list[StockLevel]:
    rows = await session.scalars(
        select(StockLevel).where(StockLevel.item_id == item.id).join(StockLocation).order_by(StockLocation.code)
    )
    return list(rows)


async def low_stock(session: AsyncSession) -> list[StockLevel]:
    rows = await session.scalars(
        select(StockLevel)
        .where(StockLevel.quantity - StockLevel.reserved <= StockLevel.reorder_level)
        .join(StockItem)
        .order_by(StockItem.name)
    )
    return list(rows)


async def mark_low(session: AsyncSession, level: StockLevel, *, now: datetime) -> datetime | None:
    """Record that the shelf is at or below its reorder level; returns the instant it crossed it if that is news
    (the keepers are told once per crossing, whoever notices it first: a chat turn or the scheduled check), None if
    it was low already or another transaction marked it first."""
    marked = await session.execute(
        update(StockLevel)
        .where(StockLevel.id == level.id, StockLevel.low_since.is_(None), StockLevel.quantity - StockLevel.reserved <= StockLevel.reorder_level)
        .values(low_since=now)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        return None
    level.low_since = now
    return now


async def unmarked_low(session: AsyncSession) -> list[StockLevel]:
    """Shelves at or below their reorder level that nobody was told about yet."""
    rows = await session.scalars(
        select(StockLevel)
        .where(StockLevel.quantity - StockLevel.reserved <= StockLevel.reorder_level, StockLevel.low_since.is_(None))
        .order_by(StockLevel.id)
    )
    return list(rows)


async def clear_recovered(session: AsyncSession) -> int:
    """Forget the crossing of shelves above their reorder level again (restocked): the next fall is news again."""
    result = await session.execute(
        update(StockLevel)
        .where(StockLevel.low_since.is_not(None), StockLevel.quantity - StockLevel.reserved > StockLevel.reorder_level)
        .values(low_since=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _level(session: AsyncSession, item: StockItem, location: StockLocation) -> StockLevel:
    level = await session.scalar(
        select(StockLevel).where(StockLevel.item_id == item.id, StockLevel.location_id == location.id)
    )
    if level is not None:
        return level
    level = StockLevel(item_id=item.id, location_id=location.id, quantity=0, reserved=0, reorder_level=0)
    try:
        async with session.begin_nested():
            session.add(level)
    except IntegrityError:
        return await _level(session, item, location)
    return level


MAX_MOVEMENT = 1_000_000
"""The most one movement may move: more is a typo (and a 20-digit number would overflow the integer column)."""


def _positive(quantity: int) -> int:
    if quantity <= 0:
        raise InvalidRequest("The quantity must be a positive whole number.", code="bad_quantity", quantity=quantity)
    if quantity > MAX_MOVEMENT:
        raise InvalidRequest(
            f"At most {MAX_MOVEMENT} can be recorded at once.", code="quantity_too_large", quantity=quantity, most=MAX_MOVEMENT
        )
    return quantity


async def _apply(
    session: AsyncSession,
    actor: Employee,
    item: StockItem,
    location: StockLocation,
    kind: MovementKind,
    quantity: int,
    reason: str,
    now: datetime | None,
) -> StockLevel:
    _positive(quantity)
    level = await _level(session, item, location)
    statement = update(StockLevel).where(StockLevel.id == level.id)
    if kind is MovementKind.IN:
        statement = statement.values(quantity=StockLevel.quantity + quantity)
    elif kind is MovementKind.OUT:
        statement = statement.where(StockLevel.quantity - StockLevel.reserved >= quantity).values(
            quantity=StockLevel.quantity - quantity
        )
    elif kind is MovementKind.RESERVATION:
        statement = statement.where(StockLevel.quantity - StockLevel.reserved >= quantity).values(
            reserved=StockLevel.reserved + quantity
        )
    else:  # release a reservation back to the shelf
        statement = statement.where(StockLevel.reserved >= quantity).values(reserved=StockLevel.reserved - quantity)
    at = now or utcnow()
    result = await session.execute(statement.values(updated_at=at).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.refresh(level)
        raise InsufficientStock(
            f"Only {level.available} {item.unit} of {item.name} available in {location.name}.",
            item=item.name,
            location=location.name,
            available=level.available,
            requested=quantity,
        )
    session.add(
        StockMovement(
            item_id=item.id, location_id=location.id, kind=kind, quantity=quantity, actor_id=actor.id, reason=reason.strip()[:500], at=at
        )
    )
    await audit.record(
        session,
        actor_id=actor.id,
        action=f"stock.{kind.value}",
        entity="stock_level",
        entity_id=level.id,
        details={"item": item.sku, "location": location.code, "quantity": quantity},
        at=at,
    )
    await session.flush()
    await session.refresh(level)
    if level.low_since is not None and not level.low:  # restocked above its reorder level: the next fall is news
        level.low_since = None
        await session.flush()
    return level


async def receive(session: AsyncSession, actor: Employee, item: StockItem, location: StockLocation, quantity: int, *, reason: str = "", now: datetime | None = None) -> StockLevel:
    require_role(actor, Role.STOCK_KEEPER, action="record stock")
    return await _apply(session, actor, item, location, MovementKind.IN, quantity, reason, now)


async def issue(session: AsyncSession, actor: Employee, item: StockItem, location: StockLocation, quantity: int, *, reason: str = "", now: datetime | None = None) -> StockLevel:
    require_role(actor, Role.STOCK_KEEPER, action="record stock")
    return await _apply(session, actor, item, location, MovementKind.OUT, quantity, reason, now)


async def reserve(session: AsyncSession, actor: Employee, item: StockItem, location: StockLocation, quantity: int, *, reason: str = "", now: datetime | None = None) -> StockLevel:
    """Any employee may set items aside for themselves; a stock keeper hands them out later."""
    return await _apply(session, actor, item, location, MovementKind.RESERVATION, quantity, reason, now)


async def release(session: AsyncSession, actor: Employee, item: StockItem, location: StockLocation, quantity: int, *, reason: str = "", now: datetime | None = None) -> StockLevel:
    require_role(actor, Role.STOCK_KEEPER, action="release reservations")
    return await _apply(session, actor, item, location, MovementKind.RELEASE, quantity, reason, now)
