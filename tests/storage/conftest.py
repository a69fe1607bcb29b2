"""Storage tests share the small test company (tests/factories.py) on every backend."""

from __future__ import annotations

import pytest

from storage.database import Database
from tests.factories import Company, make_company


@pytest.fixture
async def company(database: Database) -> Company:
    async with database.transaction() as session:
        return await make_company(session)
