"""Fixtures for the channel tests: a `backoffice run` service with Slack configured against a fake Web API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.cli import upgrade_database
from bot.service import configured_service
from bot.settings import load_settings
from nlu import Interpreter
from storage import people
from storage.database import Database
from tests.channels.slack_events import ALICE, SECRET, Running
from tests.channels.slack_fake import FakeSlack
from tests.conversations.conftest import NOW
from tests.factories import make_company
from tests.running import serving


@pytest.fixture
async def running(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: Interpreter) -> AsyncIterator[Running]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    database = Database(database_url)
    try:
        await upgrade_database(database)
        async with database.transaction() as session:
            company = await make_company(session)
            await people.link_identity(session, company.alice, "slack", ALICE)
    finally:
        await database.dispose()
    async with FakeSlack() as slack:
        settings = load_settings(database_url=database_url, data_dir=tmp_path, http_host="127.0.0.1", http_port=0,
                                 slack_bot_token=slack.token, slack_signing_secret=SECRET, slack_api_url=slack.url)
        service = configured_service(settings, interpreter=interpreter, clock=lambda: NOW)
        async with serving(service), httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            yield Running(service, slack, http, database_url)
