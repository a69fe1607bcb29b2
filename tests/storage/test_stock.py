"""Stock rules on SQLite and PostgreSQL: typo-tolerant search (actions/stock_search.py over storage's labels),
levels, movements, roles, and no overdraw under races."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import func, select

from actions.stock_search import find_item, search_items
from storage import audit, stock
from storage.database import Database
from storage.errors import InsufficientStock, InvalidRequest, NotFound, PermissionDenied
from storage.people import Employee
from storage.stock import LocationKind, MovementKind, StockItem, StockLevel, StockLocation, StockMovement
from tests.factories import Company, make_company

NOW = datetime(2026, 11, 23, 9, 0)
CATALOG = [
    ("CAB-HDMI-2M", "HDMI cable", ["hdmi lead", "display cable"]),
    ("PAP-A4-500", "A4 paper", ["printer paper", "copy paper"]),
    ("STA-STAPLER", "Stapler", []),
    ("STA-STAPLES", "Staples", ["staple refill"]),
    ("ACC-MOUSE", "Wireless mouse", ["mice", "computer mouse"]),
    ("ACC-KEYB", "Keyboard", []),
    ("BAT-AA", "AA batteries", ["double a battery"]),
    ("PEN-BLUE", "Ballpoint pen", ["biro", "qələm"]),
]

Movement = Callable[..., Awaitable[StockLevel]]


@dataclass
class Store:
    company: Company
    items: dict[str, StockItem]
    warehouse: StockLocation
    supply_room: StockLocation


@pytest.fixture
async def store(database: Database) -> Store:
    async with database.transaction() as session:
        company = await make_company(session)
        items = {sku: StockItem(sku=sku, name=name, aliases=aliases) for sku, name, aliases in CATALOG}
        warehouse = StockLocation(code="WH", name="Warehouse", kind=LocationKind.WAREHOUSE)
        supply_room = StockLocation(code="SR-3", name="Supply room, floor 3", kind=LocationKind.SUPPLY_ROOM)
        session.add_all([*items.values(), warehouse, supply_room])
        await session.flush()
        session.add_all(
            [
                StockLevel(item_id=items["CAB-HDMI-2M"].id, location_id=warehouse.id, quantity=10, reorder_level=3),
                StockLevel(item_id=items["CAB-HDMI-2M"].id, location_id=supply_room.id, quantity=2, reorder_level=2),
                StockLevel(item_id=items["PAP-A4-500"].id, location_id=supply_room.id, quantity=40, reserved=5, reorder_level=10),
                StockLevel(item_id=items["STA-STAPLER"].id, location_id=supply_room.id, quantity=4, reserved=3, reorder_level=1),
            ]
        )
    return Store(company, items, warehouse, supply_room)


async def move(database: Database, action: Movement, who: Employee, sku: str, location: StockLocation, quantity: int) -> StockLevel:
    async with database.transaction() as session:
        actor = await session.get(Employee, who.id)
        item = await session.scalar(select(StockItem).where(StockItem.sku == sku))
        place = await session.get(StockLocation, location.id)
        assert actor is not None and item is not None and place is not None
        return await action(session, actor, item, place, quantity, reason="test", now=NOW)


async def level_of(database: Database, store: Store, sku: str, location: StockLocation) -> tuple[int, int]:
    async with database.sessions() as session:
        level = await session.scalar(
            select(StockLevel).where(StockLevel.item_id == store.items[sku].id, StockLevel.location_id == location.id)
        )
        return (level.quantity, level.reserved) if level else (0, 0)


async def movement_count(database: Database) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(StockMovement)) or 0)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("hdmi cabel", "HDMI cable"),
        ("HDMI Cables", "HDMI cable"),
        ("A4 papers", "A4 paper"),
        ("STAPLER", "Stapler"),
        ("staplers", "Stapler"),
        ("staple", "Staples"),
        ("keybord", "Keyboard"),
        ("printer paper", "A4 paper"),
        ("mice", "Wireless mouse"),
        ("biro", "Ballpoint pen"),
        ("cab-hdmi-2m", "HDMI cable"),
        ("battery", "AA batteries"),
        ("qelem", "Ballpoint pen"),  # Azerbaijani typed without its letters: the NLU's folding, ə → e
    ],
)
async def test_find_item_tolerates_typos_case_plurals_and_aliases(database: Database, store: Store, query: str, name: str) -> None:
    async with database.sessions() as session:
        assert (await find_item(session, query)).name == name
        matches = await search_items(session, query)
    assert matches[0].item.name == name
    assert len({match.item.id for match in matches}) == len(matches)  # one entry per item
    assert [match.score for match in matches] == sorted((match.score for match in matches), reverse=True)


async def test_an_unknown_item_comes_with_did_you_mean_suggestions(database: Database, store: Store) -> None:
    async with database.sessions() as session:
        with pytest.raises(NotFound) as error:
            await find_item(session, "paper clips")
    assert error.value.code == "item_not_found"
    assert error.value.params["query"] == "paper clips" and error.value.params["suggestions"] == ["A4 paper"]


async def test_a_different_size_or_model_is_suggested_never_taken(database: Database, store: Store) -> None:
    # The catalogue has A4 paper only: "a3 paper" must not silently become A4.
    async with database.sessions() as session:
        with pytest.raises(NotFound) as error:
            await find_item(session, "a3 paper")
        assert error.value.code == "item_not_found"
        assert error.value.params["suggestions"][0] == store.items["PAP-A4-500"].name
        assert (await find_item(session, "A4 papers")).sku == "PAP-A4-500"


async def test_a_query_close_to_two_items_asks_which(database: Database, store: Store) -> None:
    async with database.sessions() as session:
        with pytest.raises(NotFound) as error:
            await find_item(session, "stapler remover")
    assert error.value.code == "item_ambiguous"
    assert set(error.value.params["suggestions"][:2]) == {"Stapler", "Staples"}


@pytest.mark.parametrize("query", ["weather in paris", "coffee machine", "projector", "i need a laptop", "usb stick", "", "?!"])
async def test_unrelated_text_matches_nothing(database: Database, store: Store, query: str) -> None:
    async with database.sessions() as session:
        assert await search_items(session, query) == []
        with pytest.raises(NotFound) as error:
            await find_item(session, query)
    assert error.value.code == "item_not_found" and error.value.params["suggestions"] == []


async def test_levels_are_per_location(database: Database, store: Store) -> None:
    async with database.sessions() as session:
        levels = await stock.levels_of(session, store.items["CAB-HDMI-2M"])
        assert (await stock.get_location(session, "WH")).id == store.warehouse.id
        with pytest.raises(NotFound) as error:
            await stock.get_location(session, "MOON")
    assert [(level.location.code, level.quantity, level.available) for level in levels] == [("SR-3", 2, 2), ("WH", 10, 10)]
    assert error.value.code == "location_not_found"


async def test_low_stock_lists_levels_at_or_below_their_reorder_level(database: Database, store: Store) -> None:
    async with database.sessions() as session:
        low = await stock.low_stock(session)
    # HDMI in the supply room: 2 available, reorder at 2; the stapler: 4 less 3 reserved = 1, reorder at 1.
    assert [(level.item.name, level.location.code) for level in low] == [("HDMI cable", "SR-3"), ("Stapler", "SR-3")]
    assert all(level.low for level in low)


async def test_receiving_adds_to_the_shelf_and_records_a_movement(database: Database, store: Store) -> None:
    level = await move(database, stock.receive, store.company.keeper, "CAB-HDMI-2M", store.warehouse, 5)
    assert (level.quantity, level.reserved, level.updated_at) == (15, 0, NOW)
    async with database.sessions() as session:
        movement = await session.scalar(select(StockMovement))
        entries = await audit.entries_for(session, "stock_level", level.id)
    assert movement is not None
    assert (movement.kind, movement.quantity, movement.actor_id, movement.reason, movement.at) == (
        MovementKind.IN, 5, store.company.keeper.id, "test", NOW,
    )
    assert [(entry.action, entry.details) for entry in entries] == [("stock.in", {"item": "CAB-HDMI-2M", "location": "WH", "quantity": 5})]


async def test_receiving_into_a_new_location_creates_its_level(database: Database, store: Store) -> None:
    level = await move(database, stock.receive, store.company.keeper, "ACC-KEYB", store.warehouse, 7)
    assert (level.quantity, level.item.name, level.location.code) == (7, "Keyboard", "WH")


async def test_issue_reserve_and_release_keep_quantities_consistent(database: Database, store: Store) -> None:
    keeper, alice = store.company.keeper, store.company.alice
    assert (await move(database, stock.reserve, alice, "PAP-A4-500", store.supply_room, 10)).available == 25
    assert (await move(database, stock.issue, keeper, "PAP-A4-500", store.supply_room, 20)).available == 5
    released = await move(database, stock.release, keeper, "PAP-A4-500", store.supply_room, 15)
    assert (released.quantity, released.reserved, released.available) == (20, 0, 20)
    async with database.sessions() as session:
        kinds = list(await session.scalars(select(StockMovement.kind).order_by(StockMovement.id)))
        actions = [entry.action for entry in await audit.entries_for(session, "stock_level", released.id)]
    assert kinds == [MovementKind.RESERVATION, MovementKind.OUT, MovementKind.RELEASE]
    assert actions == ["stock.reservation", "stock.out", "stock.release"]


@pytest.mark.parametrize(
    ("action", "sku", "quantity", "available"),
    [
        (stock.issue, "CAB-HDMI-2M", 11, 10),
        (stock.issue, "STA-STAPLER", 2, 1),  # 4 on the shelf, but 3 are reserved
        (stock.reserve, "STA-STAPLER", 2, 1),
        (stock.release, "STA-STAPLER", 4, 1),  # only 3 reserved
        (stock.issue, "ACC-KEYB", 1, 0),  # never stocked here
    ],
)
async def test_quantities_never_go_negative(
    database: Database, store: Store, action: Movement, sku: str, quantity: int, available: int
) -> None:
    location = store.warehouse if sku == "CAB-HDMI-2M" else store.supply_room
    before = await level_of(database, store, sku, location)
    with pytest.raises(InsufficientStock) as error:
        await move(database, action, store.company.keeper, sku, location, quantity)
    assert error.value.code == "insufficient_stock"
    assert (error.value.params["requested"], error.value.params["available"]) == (quantity, available)
    assert await level_of(database, store, sku, location) == before
    assert await movement_count(database) == 0


@pytest.mark.parametrize("quantity", [0, -3])
async def test_a_quantity_must_be_positive(database: Database, store: Store, quantity: int) -> None:
    with pytest.raises(InvalidRequest) as error:
        await move(database, stock.receive, store.company.keeper, "CAB-HDMI-2M", store.warehouse, quantity)
    assert error.value.code == "bad_quantity"
    assert await level_of(database, store, "CAB-HDMI-2M", store.warehouse) == (10, 0)


@pytest.mark.parametrize("action", [stock.receive, stock.issue, stock.release])
async def test_only_stock_keepers_move_stock(database: Database, store: Store, action: Movement) -> None:
    for someone in (store.company.alice, store.company.it_agent, store.company.manager):
        with pytest.raises(PermissionDenied) as error:
            await move(database, action, someone, "PAP-A4-500", store.supply_room, 1)
        assert error.value.code == "role_required"
    assert await level_of(database, store, "PAP-A4-500", store.supply_room) == (40, 5)
    assert await movement_count(database) == 0


async def test_an_admin_may_move_stock_and_anyone_may_reserve(database: Database, store: Store) -> None:
    async with database.transaction() as session:
        admin = await session.get(Employee, store.company.outsider.id)
        assert admin is not None
        admin.set_roles(["admin"])
    assert (await move(database, stock.issue, store.company.outsider, "CAB-HDMI-2M", store.warehouse, 1)).quantity == 9
    assert (await move(database, stock.reserve, store.company.bob, "CAB-HDMI-2M", store.warehouse, 2)).reserved == 2


async def test_simultaneous_issues_never_overdraw_the_shelf(database: Database, store: Store) -> None:
    # Ten cables on the shelf, six people take three each at once: exactly three of them get theirs.
    results = await asyncio.gather(
        *(move(database, stock.issue, store.company.keeper, "CAB-HDMI-2M", store.warehouse, 3) for _ in range(6)),
        return_exceptions=True,
    )
    succeeded = [r for r in results if isinstance(r, StockLevel)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    assert (len(succeeded), len(refused)) == (3, 3), results
    assert await level_of(database, store, "CAB-HDMI-2M", store.warehouse) == (1, 0)
    assert await movement_count(database) == 3


async def test_simultaneous_reservations_and_issues_never_overdraw_the_shelf(database: Database, store: Store) -> None:
    # 35 sheets free (40, 5 already reserved); reserving or issuing 10 at a time, only three of six fit.
    company = store.company
    attempts = [
        move(database, stock.reserve, company.alice, "PAP-A4-500", store.supply_room, 10),
        move(database, stock.issue, company.keeper, "PAP-A4-500", store.supply_room, 10),
        move(database, stock.reserve, company.bob, "PAP-A4-500", store.supply_room, 10),
        move(database, stock.issue, company.keeper, "PAP-A4-500", store.supply_room, 10),
        move(database, stock.reserve, company.manager, "PAP-A4-500", store.supply_room, 10),
        move(database, stock.reserve, company.hr, "PAP-A4-500", store.supply_room, 10),
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    assert sum(isinstance(r, StockLevel) for r in results) == 3, results
    assert sum(isinstance(r, InsufficientStock) for r in results) == 3, results
    quantity, reserved = await level_of(database, store, "PAP-A4-500", store.supply_room)
    assert quantity - reserved == 5 and reserved >= 5
    assert await movement_count(database) == 3


async def test_simultaneous_first_deliveries_to_a_new_shelf_all_count(database: Database, store: Store) -> None:
    results = await asyncio.gather(
        *(move(database, stock.receive, store.company.keeper, "ACC-MOUSE", store.warehouse, 4) for _ in range(4)),
        return_exceptions=True,
    )
    assert all(isinstance(r, StockLevel) for r in results), results
    assert await level_of(database, store, "ACC-MOUSE", store.warehouse) == (16, 0)
