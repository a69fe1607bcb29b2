"""Fixtures for the channel tests: a `backoffice run` service with Slack configured against a fake Web API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.channels.slack import SlackChannel
from bot.channels.slack.web import web_client
from bot.service import configured_service
from bot.settings import load_settings
from nlu import Interpreter
from tests.channels.slack_events import SECRET, Running, prepare_company
from tests.channels.slack_fake import FakeSlack
from tests.conversations.conftest import NOW
from tests.running import serving


@pytest.fixture
async def running(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: Interpreter) -> AsyncIterator[Running]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    await prepare_company(database_url)
    async with FakeSlack() as slack:
        settings = load_settings(database_url=database_url, data_dir=tmp_path, http_host="127.0.0.1", http_port=0,
                                 slack_bot_token=slack.token, slack_signing_secret=SECRET, slack_api_url=slack.url)
        service = configured_service(settings, interpreter=interpreter, clock=lambda: NOW)
        async with serving(service), httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            yield Running(service, slack, http, database_url)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A fake Slack Web API on its own (no service)."""
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def channel(slack: FakeSlack) -> AsyncIterator[SlackChannel]:
    """The Slack channel talking to the fake; its connections closed afterwards."""
    channel = SlackChannel(web_client(slack.token, slack.url))
    yield channel
    await channel.close()
