"""Putting the parts together: database, language understanding, actions and the dialogue core."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from actions import default_routes
from bot.dialogue import Dialogue
from bot.settings import Settings
from nlu import Interpreter
from nlu.cli import PACKAGE_DATA
from storage.base import utcnow
from storage.database import Database
from storage.stock import StockItem


def model_path(settings: Settings) -> Path:
    return settings.data_dir / "nlu" / "model.joblib"


def load_interpreter(settings: Settings) -> Interpreter:
    """The trained model, retrained first if the training data changed since it was saved."""
    return Interpreter.load_or_train(model_path(settings), PACKAGE_DATA)


async def load_catalogue(database: Database, interpreter: Interpreter) -> None:
    """Teach the item extractor the live stock catalogue (names and aliases)."""
    async with database.reading() as session:
        items = list(await session.scalars(select(StockItem)))
    interpreter.set_catalogue({item.name: list(item.aliases) for item in items})


@dataclass
class Assistant:
    database: Database
    interpreter: Interpreter
    dialogue: Dialogue

    async def close(self) -> None:
        await self.database.dispose()


async def open_assistant(
    settings: Settings, *, interpreter: Interpreter | None = None, clock: Callable[[], datetime] = utcnow
) -> Assistant:
    database = Database(settings.resolved_database_url)
    interpreter = interpreter or load_interpreter(settings)
    await load_catalogue(database, interpreter)
    # The model is hundreds of thousands of long-lived objects: keep them out of the collector's way so its
    # full passes don't land as 10–20 ms pauses on random messages.
    gc.collect()
    gc.freeze()
    dialogue = Dialogue(
        database,
        interpreter,
        default_routes(),
        clock=clock,
        default_language=settings.default_language,
        timezone=settings.timezone,
    )
    return Assistant(database, interpreter, dialogue)
