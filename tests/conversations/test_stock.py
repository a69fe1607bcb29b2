"""Office supplies in chat: levels per location (typos and plurals welcome), 'did you mean' suggestions, the
low-stock list for keepers, and stock keepers recording movements — with alerts when a shelf runs low."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from actions.i18n import Translator
from actions.replies import Reply, Table
from bot.assistant import load_catalogue
from nlu import Interpreter
from storage.database import Database
from storage.outbox import OutboxMessage
from storage.stock import LocationKind, MovementKind, StockItem, StockLevel, StockLocation, StockMovement
from tests.conversations.conftest import Chat
from tests.factories import Company

EN, RU, UZ = (Translator(language) for language in ("en", "ru", "uz"))
CATALOG = [
    ("CBL-HDMI", "HDMI cable", ["hdmi lead"]),
    ("CBL-USBC", "USB-C cable", ["type-c cable"]),
    ("CBL-ETH", "Ethernet cable", ["lan cable", "patch cord"]),
    ("PAP-A4", "A4 paper", ["printer paper", "copy paper"]),
    ("STA-STAPLER", "Stapler", []),
]
SHELVES = [  # sku, location code, quantity, reorder level
    ("CBL-HDMI", "R1", 12, 5),
    ("CBL-HDMI", "SR-2", 5, 3),
    ("CBL-USBC", "R1", 6, 2),
    ("CBL-ETH", "WH", 20, 5),
    ("PAP-A4", "R1", 40, 10),
    ("STA-STAPLER", "R1", 1, 2),  # already below its reorder level
]


@dataclass
class Store:
    items: dict[str, int]
    locations: dict[str, int]


@pytest.fixture
async def store(database: Database, chat: Chat, interpreter: Interpreter) -> Store:
    async with database.transaction() as session:
        items = {sku: StockItem(sku=sku, name=name, aliases=aliases) for sku, name, aliases in CATALOG}
        locations = {
            "R1": StockLocation(code="R1", name="Room 1", kind=LocationKind.SUPPLY_ROOM),
            "SR-2": StockLocation(code="SR-2", name="Supply room 2", kind=LocationKind.SUPPLY_ROOM),
            "WH": StockLocation(code="WH", name="Warehouse", kind=LocationKind.WAREHOUSE),
        }
        session.add_all([*items.values(), *locations.values()])
        await session.flush()
        session.add_all(
            StockLevel(item_id=items[sku].id, location_id=locations[code].id, quantity=quantity, reorder_level=reorder)
            for sku, code, quantity, reorder in SHELVES
        )
        made = Store({sku: item.id for sku, item in items.items()}, {code: place.id for code, place in locations.items()})
    await load_catalogue(database, interpreter)  # the NLU learns this catalogue's names, as at start-up
    return made


async def quantity_at(database: Database, store: Store, sku: str, code: str) -> int:
    async with database.sessions() as session:
        level = await session.scalar(
            select(StockLevel).where(StockLevel.item_id == store.items[sku], StockLevel.location_id == store.locations[code])
        )
        return level.quantity if level else 0


async def movements(database: Database) -> list[tuple[str, int, int]]:
    async with database.sessions() as session:
        rows = await session.execute(select(StockMovement.kind, StockMovement.quantity, StockMovement.actor_id).order_by(StockMovement.id))
        return [(MovementKind(kind).value, quantity, actor) for kind, quantity, actor in rows]


async def outbox_count(database: Database) -> int:
    async with database.sessions() as session:
        return len(list(await session.scalars(select(OutboxMessage.id))))


def table_of(reply: Reply) -> Table:
    assert len(reply.blocks) == 1 and isinstance(reply.blocks[0], Table)
    return reply.blocks[0]


async def test_a_typo_still_finds_the_item_and_shows_every_shelf(chat: Chat, company: Company, store: Store) -> None:
    said = await chat.say(company.alice, "do we have hdmi cabel?")
    assert said.replies[0].text == EN("stock.levels", item="HDMI cable", count="17")
    assert table_of(said.replies[0]).rows == (("Room 1", "12"), ("Supply room 2", "5"))


async def test_a_plural_and_a_room_narrow_it_down_to_one_shelf(chat: Chat, company: Company, store: Store) -> None:
    said = await chat.say(company.alice, "how many HDMI cables in supply room 2?")
    assert said.text == EN("stock.level_at", location="Supply room 2", count="5", item="HDMI cable")


async def test_russian_question_about_paper(chat: Chat, company: Company, store: Store) -> None:
    said = await chat.say(company.bob, "сколько бумаги а4 осталось")
    assert said.replies[0].text == RU("stock.levels", item="A4 paper", count="40")


async def test_uzbek_question_in_uzbek(chat: Chat, company: Company, store: Store) -> None:
    said = await chat.say(company.outsider, "HDMI kabel nechta qolgan")
    assert said.replies[0].text == UZ("stock.levels", item="HDMI cable", count="17")


async def test_an_unclear_item_offers_suggestions_and_a_suggestion_shows_the_stock(chat: Chat, company: Company, store: Store) -> None:
    said = await chat.say(company.alice, "any cables left?")
    assert said.text.startswith(EN("stock.did_you_mean", query="cables").split("“")[0])
    offered = {button.label: button.payload for button in said.buttons}
    assert {"HDMI cable", "USB-C cable", "Ethernet cable"} <= set(offered)
    assert offered["USB-C cable"] == f"stock:show:{store.items['CBL-USBC']}"

    said = await chat.press(company.alice, "USB-C cable")
    assert said.replies[0].text == EN("stock.levels", item="USB-C cable", count="6")


async def test_an_item_we_never_stock_is_said_so(chat: Chat, company: Company, store: Store) -> None:
    said = await chat.say(company.alice, "do we have a flux capacitor?")
    assert said.buttons == []
    assert "flux capacitor" in said.text


async def test_keeper_records_stock_coming_in(chat: Chat, company: Company, database: Database, store: Store) -> None:
    said = await chat.say(company.keeper, "received 20 A4 paper in room 1")
    assert said.text == EN("stock.received", quantity="20", item="A4 paper", location="Room 1", count="60")
    assert await quantity_at(database, store, "PAP-A4", "R1") == 60
    assert await movements(database) == [("in", 20, company.keeper.id)]


async def test_keeper_issues_from_a_shelf_chosen_by_button(chat: Chat, company: Company, database: Database, store: Store) -> None:
    said = await chat.say(company.keeper, "issued 3 hdmi cables")
    assert said.text == EN("stock.ask_location", item="HDMI cable")
    assert [button.label for button in said.buttons] == ["Room 1", "Supply room 2"]
    room_1 = said.button("Room 1").payload

    said = await chat.press(company.keeper, "Room 1")
    assert said.text == EN("stock.confirm_out", quantity="3", item="HDMI cable", location="Room 1")
    said = await chat.press(company.keeper, "Yes")
    assert said.text == EN("stock.issued", quantity="3", item="HDMI cable", location="Room 1", count="9")
    assert await quantity_at(database, store, "CBL-HDMI", "R1") == 9
    assert await movements(database) == [("out", 3, company.keeper.id)]

    stale = await chat.press_payload(company.keeper, room_1)  # the old location button again: no second issue
    assert stale.text == EN("core.button_expired")
    assert await quantity_at(database, store, "CBL-HDMI", "R1") == 9


async def test_keeper_records_in_russian_with_a_location_code(chat: Chat, company: Company, database: Database, store: Store) -> None:
    said = await chat.say(company.keeper, "забрали 2 hdmi кабеля из SR-2")
    assert said.text == RU("stock.issued", quantity="2", item="HDMI cable", location="Supply room 2", count="3")
    assert await quantity_at(database, store, "CBL-HDMI", "SR-2") == 3


async def test_issuing_more_than_there_is_changes_nothing(chat: Chat, company: Company, database: Database, store: Store) -> None:
    said = await chat.say(company.keeper, "issued 8 hdmi cables from supply room 2")
    assert said.text == EN("error.insufficient_stock", available=5, item="HDMI cable", location="Supply room 2", requested=8)
    assert await quantity_at(database, store, "CBL-HDMI", "SR-2") == 5
    assert await movements(database) == []


async def test_a_shelf_reaching_its_reorder_level_alerts_the_keepers_once_per_crossing(
    chat: Chat, company: Company, database: Database, store: Store
) -> None:
    await chat.say(company.keeper, "issued 2 hdmi cables from supply room 2")  # 5 → 3, the reorder level
    [alert] = await chat.inbox(company.keeper)
    assert alert.text == EN("stock.low_alert", item="HDMI cable", location="Supply room 2", count="3", reorder="3")
    assert [button.payload for button in alert.buttons] == [f"stock:show:{store.items['CBL-HDMI']}"]

    await chat.say(company.keeper, "issued 1 hdmi cable from supply room 2")
    assert await quantity_at(database, store, "CBL-HDMI", "SR-2") == 2
    assert len(await chat.inbox(company.keeper)) == 1  # still below its level: no second alert
    assert await chat.inbox(company.alice) == []


async def test_low_stock_list_is_for_keepers_only(chat: Chat, company: Company, store: Store) -> None:
    said = await chat.say(company.keeper, "what's running low in the supply room")
    assert said.replies[0].text == EN("stock.low_list", count=1)
    assert table_of(said.replies[0]).rows == (("Stapler", "Room 1", "1", "2"),)

    assert (await chat.say(company.alice, "what's running low in the supply room")).text == EN("stock.low_ask_keeper")
    assert (await chat.say(company.bob, "что у нас заканчивается из канцелярии")).text == RU("stock.low_ask_keeper")


async def test_a_non_keeper_can_t_record_stock(chat: Chat, company: Company, database: Database, store: Store) -> None:
    said = await chat.say(company.alice, "received 20 A4 paper in room 1")
    assert said.text == EN("stock.keepers_only")
    assert await quantity_at(database, store, "PAP-A4", "R1") == 40
    assert await movements(database) == []
    assert await outbox_count(database) == 0
