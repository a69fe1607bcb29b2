"""Running as a service: the HTTP app (health, readiness, metrics), the service in-process delivering the outbox,
and `backoffice run` as a real process stopped by SIGTERM. Loopback only; ports are picked by the OS."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from typer.testing import CliRunner

from actions.replies import Reply
from bot.channels.base import Address
from bot.cli import app, seed_demo_company, upgrade_database
from bot.messages import Incoming, Turn
from bot.metrics import Metrics
from bot.server import create_app
from bot.service import Service, ServiceError
from bot.settings import Settings, SettingsError, load_settings
from nlu import Interpreter
from storage import outbox, people
from storage.conversations import SeenEvent
from storage.database import Database
from storage.inbox import InboxStatus, InboxUpdate
from storage.outbox import OutboxMessage, OutboxStatus
from storage.people import Platform
from storage.stock import StockItem
from tests.channels.recording import RecordingChannel
from tests.channels.telegram_fake import FakeTelegram
from tests.conversations.conftest import NOW
from tests.factories import make_company
from tests.running import listening_url, serving, until

ROOT = Path(__file__).resolve().parent.parent

ClientFor = Callable[[Starlette], httpx.AsyncClient]


async def passing() -> bool:
    return True


async def failing() -> bool:
    return False


async def raising() -> bool:
    raise ConnectionRefusedError("database down")


@pytest.fixture
async def client_for() -> AsyncIterator[ClientFor]:
    """An HTTP client calling the app in-process (no socket)."""
    clients: list[httpx.AsyncClient] = []

    def make(app: Starlette) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def test_healthz_answers_while_readyz_names_what_is_not_ready(client_for: ClientFor) -> None:
    client = client_for(create_app(Metrics(), {"database": raising, "nlu": failing}))
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not ready", "checks": {"database": False, "nlu": False}}


async def test_readyz_is_200_when_every_check_passes(client_for: ClientFor) -> None:
    client = client_for(create_app(Metrics(), {"database": passing, "nlu": passing}))
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": True, "nlu": True}}


async def test_a_hanging_check_makes_readyz_answer_503_promptly(client_for: ClientFor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.server.CHECK_TIMEOUT", 0.05)

    async def hanging() -> bool:
        await asyncio.Event().wait()
        return True

    client = client_for(create_app(Metrics(), {"database": hanging}))
    async with asyncio.timeout(5):
        ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"] == {"database": False}


async def test_metrics_are_prometheus_text_with_values_refreshed_at_scrape_time(client_for: ClientFor) -> None:
    metrics = Metrics()
    depth = iter([(3, 1), (0, 2)])

    async def measure_outbox() -> None:
        metrics.set_outbox_depth(*next(depth))

    client = client_for(create_app(metrics, {}, before_scrape=measure_outbox))
    metrics.record_turn("telegram", "leave_request", "ru", 0.012)
    metrics.record_turn("telegram", "leave_request", "ru", 0.020)
    metrics.record_turn("slack", "greet", "en", 0.3)
    metrics.record_delivery_failure("telegram", "transient")
    metrics.observe_turn("telegram", Turn((), "uz", intent="payslip", error_id="E-1"), 0.004)
    metrics.observe_turn("telegram", Turn((), "uz", intent="payslip", replayed=True), 0.002)
    metrics.observe_turn("slack", Turn((), "en"), 0.003)

    first = await client.get("/metrics")
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/plain")
    body = first.text
    assert 'backoffice_messages_total{channel="telegram",intent="leave_request",language="ru"} 2.0' in body
    assert 'backoffice_messages_total{channel="slack",intent="greet",language="en"} 1.0' in body
    assert 'backoffice_turn_seconds_bucket{channel="telegram",le="0.01"} 2.0' in body
    assert 'backoffice_turn_seconds_bucket{channel="telegram",le="0.025"} 4.0' in body
    assert 'backoffice_turn_seconds_bucket{channel="slack",le="0.25"} 1.0' in body  # the unlinked one; not the 0.3 s turn
    assert 'backoffice_delivery_failures_total{kind="transient",platform="telegram"} 1.0' in body
    assert 'backoffice_messages_total{channel="telegram",intent="error",language="uz"} 1.0' in body
    assert 'backoffice_messages_total{channel="telegram",intent="replayed",language="uz"} 1.0' in body
    assert 'backoffice_messages_total{channel="slack",intent="unlinked",language="en"} 1.0' in body
    assert 'backoffice_outbox_messages{state="pending"} 3.0' in body and 'backoffice_outbox_messages{state="dead"} 1.0' in body
    assert "process_cpu_seconds_total" in body  # the process collector of prometheus-client

    second = (await client.get("/metrics")).text
    assert 'backoffice_outbox_messages{state="pending"} 0.0' in second and 'backoffice_outbox_messages{state="dead"} 2.0' in second


async def test_a_failed_refresh_still_serves_the_other_metrics(client_for: ClientFor) -> None:
    metrics = Metrics()

    async def broken() -> None:
        raise ConnectionRefusedError("database down")

    metrics.record_turn("console", "greet", "en", 0.001)
    response = await client_for(create_app(metrics, {}, before_scrape=broken)).get("/metrics")
    assert response.status_code == 200
    assert 'backoffice_messages_total{channel="console",intent="greet",language="en"} 1.0' in response.text


async def test_channels_mount_their_routes_and_big_bodies_are_refused(client_for: ClientFor) -> None:
    async def webhook(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"got {len(await request.body())} bytes")

    client = client_for(create_app(Metrics(), {}, routes=[Route("/telegram/webhook", webhook, methods=["POST"])]))
    accepted = await client.post("/telegram/webhook", content=b"{}")
    assert accepted.status_code == 200 and accepted.text == "got 2 bytes"
    refused = await client.post("/telegram/webhook", content=b"x" * 2_000_000)
    assert refused.status_code == 413
    assert (await client.get("/telegram/webhook")).status_code == 405


# --- the service, in this process: real HTTP on 127.0.0.1, the outbox delivered through a recording channel ---


@dataclass
class Prepared:
    settings: Settings
    alice_id: int
    message_ids: list[int]


async def prepare(database_url: str, data_dir: Path, *texts: str) -> Prepared:
    """A migrated database with the test company, Alice linked on Telegram, and messages queued for her."""
    database = Database(database_url)
    try:
        await upgrade_database(database)
        async with database.transaction() as session:
            company = await make_company(session)
            await people.link_identity(session, company.alice, Platform.TELEGRAM, "alice-tg")
            queued = [await outbox.enqueue(session, company.alice.id, Reply(text).to_dict()) for text in texts]
    finally:
        await database.dispose()
    settings = load_settings(database_url=database_url, data_dir=data_dir, http_host="127.0.0.1", http_port=0)
    return Prepared(settings, company.alice.id, [message.id for message in queued])


async def statuses(database_url: str, message_ids: list[int]) -> list[OutboxStatus]:
    database = Database(database_url)
    try:
        async with database.reading() as session:
            rows = await session.execute(select(OutboxMessage.id, OutboxMessage.status).where(OutboxMessage.id.in_(message_ids)))
            by_id = {message_id: status for message_id, status in rows}
    finally:
        await database.dispose()
    return [OutboxStatus(by_id[message_id]) for message_id in message_ids]


@pytest.fixture
def service_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    return tmp_path


async def test_the_service_serves_http_and_delivers_the_outbox_through_its_channel(
    database_url: str, service_directory: Path, interpreter: Interpreter
) -> None:
    prepared = await prepare(database_url, service_directory, "Your leave request #10 was approved.")
    channel = RecordingChannel("telegram")
    service = Service(prepared.settings, channels=[channel], interpreter=interpreter)
    async with serving(service):
        assert service.url.startswith("http://127.0.0.1:") and not service.url.endswith(":0")
        await until(lambda: len(channel.sent) == 1)
        assert channel.sent[0].address == Address("telegram", "dm:alice-tg")
        assert channel.sent[0].reply.text == "Your leave request #10 was approved."

        assert service.router is not None  # what a channel calls with each update it receives
        receipt = await service.router.receive(Incoming("telegram", "dm:alice-tg", "alice-tg", private=True, text="Hello!"), channel)
        assert receipt.turn.intent == "greet" and channel.sent[-1].address == Address("telegram", "dm:alice-tg")

        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"] == {"database": True, "nlu": True}
            scrape = ""  # the send is done; its result is recorded a moment later
            async with asyncio.timeout(20):
                while 'backoffice_outbox_messages{state="pending"} 0.0' not in scrape:
                    scrape = (await client.get("/metrics")).text
            assert 'backoffice_outbox_messages{state="dead"} 0.0' in scrape
            assert 'backoffice_messages_total{channel="telegram",intent="greet",language="en"} 1.0' in scrape
            assert 'backoffice_turn_seconds_count{channel="telegram"} 1.0' in scrape
    assert await statuses(database_url, prepared.message_ids) == [OutboxStatus.DELIVERED]
    with pytest.raises(httpx.ConnectError):  # stopped listening
        async with httpx.AsyncClient(base_url=service.url, timeout=2) as client:
            await client.get("/healthz")


async def test_stopping_lets_a_send_in_progress_finish_and_record_it(
    database_url: str, service_directory: Path, interpreter: Interpreter
) -> None:
    prepared = await prepare(database_url, service_directory, "first", "second")
    channel = RecordingChannel("telegram", delay=0.5)  # a slow platform
    service = Service(prepared.settings, channels=[channel], interpreter=interpreter)
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    await until(lambda: channel.attempts == 1)  # the first send is under way
    stop.set()
    async with asyncio.timeout(30):
        await running
    assert [message.reply.text for message in channel.sent] == ["first", "second"][: len(channel.sent)]
    assert len(channel.sent) >= 1  # the send in progress was not cut off
    delivered = await statuses(database_url, prepared.message_ids)
    assert delivered[0] is OutboxStatus.DELIVERED
    assert delivered == [OutboxStatus.DELIVERED] * len(channel.sent) + [OutboxStatus.PENDING] * (2 - len(channel.sent))
    assert await claimed(database_url) == 0  # nothing left leased to the stopped worker


async def test_stopping_finishes_a_request_in_progress(database_url: str, service_directory: Path, interpreter: Interpreter) -> None:
    prepared = await prepare(database_url, service_directory)
    turn_started = asyncio.Event()

    async def slow_webhook(request: Request) -> PlainTextResponse:  # a channel's webhook running a turn
        turn_started.set()
        await asyncio.sleep(0.5)
        return PlainTextResponse("turn done")

    service = Service(prepared.settings, interpreter=interpreter, routes=[Route("/telegram/webhook", slow_webhook, methods=["POST"])])
    async with serving(service) as stop:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            request = asyncio.create_task(client.post("/telegram/webhook", content=b"{}"))
            async with asyncio.timeout(10):
                await turn_started.wait()
            stop.set()  # SIGTERM arrives mid-turn
            response = await request
        assert response.status_code == 200 and response.text == "turn done"


class PollingRecordingChannel(RecordingChannel):
    """A channel that fetches its own updates (as Telegram does without a webhook); this one loses its connection."""

    def __init__(self) -> None:
        super().__init__("telegram")
        self.polling = asyncio.Event()

    async def poll(self, stop: asyncio.Event) -> None:
        self.polling.set()
        await asyncio.sleep(0.05)
        raise ConnectionResetError("getUpdates: connection reset")


async def test_a_polling_channel_runs_in_the_service_and_its_crash_stops_the_service(
    database_url: str, service_directory: Path, interpreter: Interpreter
) -> None:
    prepared = await prepare(database_url, service_directory)
    channel = PollingRecordingChannel()
    service = Service(prepared.settings, channels=[channel], interpreter=interpreter)
    with pytest.raises(ServiceError, match="poll telegram stopped unexpectedly") as failure:
        async with asyncio.timeout(30):
            await service.run(asyncio.Event())  # nobody asks it to stop: the crash does
    assert channel.polling.is_set()
    assert isinstance(failure.value.__cause__, ConnectionResetError)


async def test_the_service_keeps_the_nlu_stock_catalogue_fresh(database_url: str, service_directory: Path, interpreter: Interpreter) -> None:
    prepared = await prepare(database_url, service_directory)
    service = Service(prepared.settings, interpreter=interpreter, catalogue_check_seconds=0.05)
    async with serving(service):
        assistant = service.assistant
        assert assistant is not None and assistant.catalogue is not None
        assistant.catalogue_check_seconds = 0.0  # the assistant's own throttle would wait 10 s between looks
        items_at_start = assistant.catalogue[0]
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                session.add(StockItem(sku="LAMP-1", name="Desk lamp", aliases=["lamp"]))
        finally:
            await database.dispose()
        await until(lambda: assistant.catalogue is not None and assistant.catalogue[0] == items_at_start + 1)


async def test_a_turn_that_queues_a_notification_wakes_the_worker_and_old_delivery_ids_are_forgotten(
    database_url: str, service_directory: Path, interpreter: Interpreter
) -> None:
    prepared = await prepare(database_url, service_directory)
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            session.add(SeenEvent(platform="telegram", chat_id="c", user_id="u", event_id="old", seen_at=NOW - timedelta(days=3), replies={}))
            session.add(SeenEvent(platform="telegram", chat_id="c", user_id="u", event_id="recent", seen_at=NOW - timedelta(hours=1), replies={}))
            maria = await people.find_by_email(session, "maria@example.com")
            assert maria is not None
            await people.link_identity(session, maria, Platform.TELEGRAM, "maria-tg")
    finally:
        await database.dispose()
    channel = RecordingChannel("telegram")
    service = Service(prepared.settings, channels=[channel], interpreter=interpreter, clock=lambda: NOW)
    async with serving(service):
        assert service.router is not None and service.worker is not None
        service.worker.poll_interval = 3600.0  # from now on only a wake-up makes the worker look again
        await asyncio.sleep(0.1)  # let the worker go back to its (now hour-long) pause

        said = await service.router.receive(Incoming("telegram", "alice-tg", "alice-tg", private=True, text="hello"), channel)
        assert not said.turn.queued
        said = await service.router.receive(Incoming("telegram", "alice-tg", "alice-tg", private=True, text="I need sick leave tomorrow"), channel)
        said = await service.router.receive(Incoming("telegram", "alice-tg", "alice-tg", private=True, text="yes"), channel)
        assert said.turn.queued  # Maria, her manager, is told
        await until(lambda: any(sent.address.chat_id == "dm:maria-tg" for sent in channel.sent), seconds=10)

        remembered = Database(database_url)
        try:
            async with remembered.reading() as session:
                kept = set(await session.scalars(select(SeenEvent.event_id)))
        finally:
            await remembered.dispose()
        assert kept == {"recent"}  # the housekeeping ran at start: three-day-old ids (and their replies) are gone


async def test_an_update_accepted_into_the_inbox_is_answered_once_and_processed_rows_are_forgotten(
    database_url: str, service_directory: Path, interpreter: Interpreter
) -> None:
    prepared = await prepare(database_url, service_directory)
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            session.add(InboxUpdate(platform="telegram", key="old", chat_id="c", incoming={}, status=InboxStatus.DONE, processed_at=NOW - timedelta(days=3)))
    finally:
        await database.dispose()
    channel = RecordingChannel("telegram")
    service = Service(prepared.settings, channels=[channel], interpreter=interpreter, clock=lambda: NOW)
    async with serving(service):
        assert service.inbox is not None and service.inbox_worker is not None
        service.inbox_worker.poll_interval = 3600.0  # only the accept's wake-up makes it look again
        await asyncio.sleep(0.1)
        hello = Incoming("telegram", "dm:alice-tg", "alice-tg", private=True, text="Hello!")
        assert await service.inbox.accept(hello, "update-1") is True  # what an adapter does before acknowledging
        assert await service.inbox.accept(hello, "update-1") is False  # the platform's retry
        await until(lambda: len(channel.sent) == 1, seconds=10)
        await asyncio.sleep(0.2)  # a second answer would come now
        assert len(channel.to("dm:alice-tg")) == 1
    remembered = Database(database_url)
    try:
        async with remembered.reading() as session:
            kept = list(await session.execute(select(InboxUpdate.key, InboxUpdate.status, InboxUpdate.claimed_by)))
    finally:
        await remembered.dispose()
    assert [tuple(row) for row in kept] == [("update-1", InboxStatus.DONE, None)]  # "old" forgotten by housekeeping


async def claimed(database_url: str) -> int:
    database = Database(database_url)
    try:
        async with database.reading() as session:
            return len((await session.scalars(select(OutboxMessage.id).where(OutboxMessage.claimed_by.is_not(None)))).all())
    finally:
        await database.dispose()


async def test_a_busy_port_is_one_clear_error(service_directory: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        settings = load_settings(data_dir=service_directory, http_host="127.0.0.1", http_port=port)
        with pytest.raises(ServiceError, match=f"can't listen on 127.0.0.1:{port}"):
            await Service(settings).run(asyncio.Event())


async def test_a_database_without_the_schema_is_one_clear_error(database_url: str, service_directory: Path, interpreter: Interpreter) -> None:
    settings = load_settings(database_url=database_url, data_dir=service_directory, http_host="127.0.0.1", http_port=0)
    with pytest.raises(ServiceError, match="the database schema is at nothing, .*run `backoffice db upgrade`"):
        await Service(settings, interpreter=interpreter).run(asyncio.Event())


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [("HTTP_PORT", "70000", "HTTP_PORT: Input should be less than or equal to 65535"), ("LOG_FORMAT", "xml", "LOG_FORMAT: Input should be 'text' or 'json'")],
)
def test_service_settings_are_validated(monkeypatch: pytest.MonkeyPatch, service_directory: Path, variable: str, value: str, message: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_service_settings_defaults_and_any_case(monkeypatch: pytest.MonkeyPatch, service_directory: Path) -> None:
    for name in ("HTTP_HOST", "HTTP_PORT", "LOG_FORMAT", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    defaults = load_settings()
    assert (defaults.http_host, defaults.http_port, defaults.log_format, defaults.log_level) == ("127.0.0.1", 8080, "text", "INFO")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert (load_settings().log_format, load_settings().log_level) == ("json", "DEBUG")


# --- `backoffice run` as a real process ---


def test_backoffice_run_has_help() -> None:
    result = CliRunner().invoke(app, ["run", "--help"])
    assert result.exit_code == 0 and "SIGTERM" in result.output


async def test_backoffice_run_serves_probes_and_stops_cleanly_on_sigterm(tmp_path: Path, nlu_model_file: Path) -> None:
    data_dir = tmp_path / "data"
    database_url = f"sqlite:///{data_dir / 'backoffice.sqlite3'}"
    database = Database(database_url)
    try:
        await seed_demo_company(database, date(2026, 11, 23))
    finally:
        await database.dispose()
    (data_dir / "nlu").mkdir(parents=True)
    shutil.copy(nlu_model_file, data_dir / "nlu" / "model.joblib")  # the trained model: no retraining in the child
    log_file = tmp_path / "service.log"
    async with FakeTelegram(token="123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw") as telegram:  # no network in tests
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "0",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "DEBUG",  # the most a log could say: still no token
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_URL": telegram.api_url,
            "PYTHONPATH": str(ROOT),
        }
        # Stopped once the Telegram bot polls its (fake) Bot API: the assistant really ran, tokens and all.
        exit_code = await _run_until_ready_then_sigterm(environment, tmp_path, log_file, lambda: bool(telegram.calls_to("getUpdates")))
    records = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert exit_code == 0, records
    messages = [record["message"] for record in records]
    assert "SIGTERM received" in messages and messages[-1] == "stopped"
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in log_file.read_text(encoding="utf-8")


async def _run_until_ready_then_sigterm(
    environment: dict[str, str], tmp_path: Path, log_file: Path, running: Callable[[], bool]
) -> int:
    """`backoffice run` in a child process: wait until ready and `running()`, check the probes, SIGTERM it; its
    exit code."""
    with log_file.open("wb") as log_output:
        process = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import main; main()", "run"],
            cwd=tmp_path, env=environment, stdout=log_output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        url = await listening_url(log_file, process)
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            async with asyncio.timeout(60):
                while (ready := await client.get("/readyz")).status_code != 200:
                    await asyncio.sleep(0.1)
            assert ready.json()["checks"] == {"database": True, "nlu": True}
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200
            assert 'backoffice_outbox_messages{state="pending"}' in metrics.text and "process_resident_memory_bytes" in metrics.text
        await until(running, 60)
        process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(process.wait, 15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
