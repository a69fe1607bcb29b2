"""Stock: items, locations, quantities, movements (and the catalogue's labels for the actions' item search);
quantities never go negative.

Every quantity change is one conditional UPDATE (`quantity - reserved >= n`), so concurrent issues or
reservations can't overdraw a shelf on either database.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage import audit
from storage.base import Base, Timestamped, str_enum, utcnow
from storage.errors import InsufficientStock, InvalidRequest, NotFound
from storage.people import Employee, Role, require_role


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


async def item_labels(session: AsyncSession) -> tuple[tuple[int, str, str, tuple[str, ...]], ...]:
    """(id, name, SKU, aliases) of every item, by id: what the actions' item search compares (actions/stock_search.py).
    Columns only: building an ORM object for every item in the catalogue would cost more than the matching."""
    rows = await session.execute(select(StockItem.id, StockItem.name, StockItem.sku, StockItem.aliases).order_by(StockItem.id))
    return tuple((item_id, name, sku, tuple(aliases)) for item_id, name, sku, aliases in rows)


async def items_by_id(session: AsyncSession, ids: Iterable[int]) -> list[StockItem]:
    return list(await session.scalars(select(StockItem).where(StockItem.id.in_(list(ids)))))


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
