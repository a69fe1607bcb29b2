"""Putting the parts together: database, language understanding, actions and the dialogue core."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from actions import default_routes
from bot.dialogue import Dialogue
from bot.settings import Settings
from nlu import ClassifierConfig, Interpreter
from nlu.cli import PACKAGE_DATA, model_file
from storage.base import utcnow
from storage.database import Database
from storage.stock import StockItem


def model_path(settings: Settings) -> Path:
    return model_file(settings.data_dir / "nlu" / "model.joblib", settings.nlu_sentence_encoder)


def load_interpreter(settings: Settings) -> Interpreter:
    """The trained model, retrained first if the training data changed since it was saved."""
    config = ClassifierConfig(sentence_encoder=settings.nlu_sentence_encoder)
    interpreter = Interpreter.load_or_train(model_path(settings), PACKAGE_DATA, config=config)
    interpreter.warm_up()  # at start-up, rather than on someone's first message
    return interpreter


CatalogueVersion = tuple[int, datetime | None]
"""How many stock items there are and when the latest changed: a new, removed, renamed or re-aliased item changes it."""
CATALOGUE_CHECK_SECONDS = 10.0
"""The least time between two looks at the catalogue's version (one aggregate query)."""


async def catalogue_version(database: Database) -> CatalogueVersion:
    async with database.reading() as session:
        count, latest = (await session.execute(select(func.count(StockItem.id), func.max(StockItem.updated_at)))).one()
    return int(count), latest


async def load_catalogue(database: Database, interpreter: Interpreter) -> CatalogueVersion:
    """Teach the item extractor the live stock catalogue (names and aliases); returns the version it loaded."""
    # The version is read first: a change landing between the two reads is then seen again at the next check.
    version = await catalogue_version(database)
    async with database.reading() as session:
        items = list(await session.scalars(select(StockItem)))
    interpreter.set_catalogue({item.name: list(item.aliases) for item in items})
    return version


@dataclass
class Assistant:
    database: Database
    interpreter: Interpreter
    dialogue: Dialogue
    catalogue: CatalogueVersion | None = None
    """The version of the stock catalogue the NLU knows (None: not loaded)."""
    catalogue_check_seconds: float = CATALOGUE_CHECK_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    _catalogue_checked: float | None = field(default=None, repr=False)

    async def refresh_catalogue(self, *, force: bool = False) -> bool:
        """Reload the NLU's stock catalogue if items were added, removed or changed since it was loaded (by this
        or any other process); True if it reloaded. Looks at the database at most every catalogue_check_seconds
        unless forced, so the service may call it as often as it likes."""
        moment = self.monotonic()
        if not force and self._catalogue_checked is not None and moment - self._catalogue_checked < self.catalogue_check_seconds:
            return False
        self._catalogue_checked = moment
        if not force and self.catalogue is not None and await catalogue_version(self.database) == self.catalogue:
            return False
        self.catalogue = await load_catalogue(self.database, self.interpreter)
        return True

    async def close(self) -> None:
        await self.database.dispose()


async def open_assistant(
    settings: Settings, *, interpreter: Interpreter | None = None, clock: Callable[[], datetime] = utcnow
) -> Assistant:
    database = Database(settings.resolved_database_url)
    interpreter = interpreter or load_interpreter(settings)
    catalogue = await load_catalogue(database, interpreter)
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
    return Assistant(database, interpreter, dialogue, catalogue=catalogue)
