"""A running assistant learns stock items added, renamed or removed after it started (by any process)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from actions import default_routes
from bot.assistant import Assistant, load_catalogue
from bot.dialogue import Dialogue
from nlu import Interpreter
from storage.database import Database
from storage.stock import StockItem

TODAY = date(2026, 11, 23)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def items_named(interpreter: Interpreter, text: str) -> list[str]:
    return [e["value"] for e in interpreter.parse(text, today=TODAY)["entities"] if e["entity"] == "item"]


@pytest.fixture
async def assistant(database: Database, nlu_model_file: Path) -> Assistant:
    interpreter = Interpreter.load(nlu_model_file)  # its own copy: the catalogue is changed here
    async with database.transaction() as session:
        session.add(StockItem(sku="PAPER-A4", name="A4 paper", aliases=["printer paper"]))
    version = await load_catalogue(database, interpreter)
    dialogue = Dialogue(database, interpreter, default_routes())
    return Assistant(database, interpreter, dialogue, catalogue=version, catalogue_check_seconds=30, monotonic=Clock())


async def add_item(database: Database, sku: str, name: str, aliases: list[str]) -> None:
    async with database.transaction() as session:
        session.add(StockItem(sku=sku, name=name, aliases=aliases))


async def test_an_item_added_after_start_up_is_understood_after_a_refresh(database: Database, assistant: Assistant) -> None:
    assert items_named(assistant.interpreter, "do we have any ergonomic chairs?") == []
    await add_item(database, "CHAIR-1", "Ergonomic chair", ["office chair"])
    assert await assistant.refresh_catalogue()
    assert items_named(assistant.interpreter, "do we have any ergonomic chairs?") == ["Ergonomic chair"]
    assert items_named(assistant.interpreter, "is there an office chair in room 2?") == ["Ergonomic chair"]


async def test_the_database_is_asked_at_most_once_per_interval_and_nothing_reloads_without_a_change(
    database: Database, assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = assistant.monotonic
    assert isinstance(clock, Clock)
    reloads: list[int] = []
    original = assistant.interpreter.set_catalogue

    def counted(items: Mapping[str, Iterable[str]]) -> None:
        reloads.append(len(items))
        original(items)

    monkeypatch.setattr(assistant.interpreter, "set_catalogue", counted)

    assert not await assistant.refresh_catalogue()  # unchanged since start-up: no reload
    await add_item(database, "CHAIR-1", "Ergonomic chair", [])
    clock.now += 10
    assert not await assistant.refresh_catalogue()  # too soon to look again
    clock.now += 25
    assert await assistant.refresh_catalogue()
    assert reloads == [2]
    assert await assistant.refresh_catalogue(force=True)  # forced: reloads even without a change


async def test_a_renamed_or_removed_item_is_noticed(database: Database, assistant: Assistant) -> None:
    clock = assistant.monotonic
    assert isinstance(clock, Clock)
    await add_item(database, "CHAIR-1", "Ergonomic chair", ["office chair"])
    assert await assistant.refresh_catalogue()
    async with database.transaction() as session:
        chair = await session.scalar(select(StockItem).where(StockItem.sku == "CHAIR-1"))
        assert chair is not None
        chair.aliases = ["office chair", "kneeling stool"]
    clock.now += 60
    assert await assistant.refresh_catalogue()
    assert items_named(assistant.interpreter, "do we have a kneeling stool?") == ["Ergonomic chair"]

    async with database.transaction() as session:
        await session.delete(await session.scalar(select(StockItem).where(StockItem.sku == "CHAIR-1")))
    clock.now += 60
    assert await assistant.refresh_catalogue()
    assert items_named(assistant.interpreter, "do we have a kneeling stool?") == []
