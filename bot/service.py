"""`backoffice run`: the long-running assistant — the HTTP server, the outbox delivery and the channels.

Everything runs in one event loop: uvicorn serves the Starlette app (bot/server.py) beside the delivery worker,
the scheduler (bot/scheduler.py: reminders, digests and alerts, fired by one replica at a time) and a periodic check
of the stock catalogue. The port is opened first, so /healthz answers (and /readyz says
"not ready") while the language model loads. On SIGTERM or SIGINT the service stops in the order that loses
nothing: stop accepting and finish the requests (turns) in progress, stop polling channels, let the inbox worker
finish the updates in hand (what is left stays stored for the next start), let the delivery worker finish its batch,
each releasing its claims, close the database — then the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import uvicorn
from sqlalchemy import text
from starlette.routing import BaseRoute

from actions import default_jobs
from bot.assistant import Assistant, load_interpreter, open_assistant
from bot.channels.base import Channel, ChannelStartError
from bot.delivery import DeliveryWorker
from bot.inbox import Inbox, InboxWorker
from bot.logs import configure_logging
from bot.messages import Turn
from bot.metrics import Metrics
from bot.router import Router
from bot.scheduler import Scheduler, policy_from
from bot.server import create_app
from bot.settings import Settings
from nlu import Interpreter
from storage import conversations, inbox, migrate, outbox
from storage.base import utcnow
from storage.database import Database
from storage.outbox import OutboxStatus

log = logging.getLogger(__name__)

GRACE_SECONDS = 10.0
"""How long requests in progress, and the delivery worker's last batch, may take to finish when stopping."""
KEEP_DELIVERY_IDS = timedelta(days=2)
"""How long a delivery id and the replies kept with it are remembered: platforms retry within minutes (Slack) or
hours (Telegram), and the replies may be private (a balance, a payslip), so no longer than that."""
HOUSEKEEPING_SECONDS = 3600.0


@runtime_checkable
class PollingChannel(Protocol):
    """A channel that runs its own receiving side (Telegram: long polling, or registering its webhook): the service
    runs `poll` until `stop` is set, and sets it before the delivery worker stops."""

    async def poll(self, stop: asyncio.Event) -> None: ...


@runtime_checkable
class ClosingChannel(Protocol):
    """A channel that holds connections open (Telegram's HTTP connection pools): closed once delivery stopped."""

    async def close(self) -> None: ...


class ServiceError(Exception):
    """The service could not start or a part of it stopped unexpectedly; the message says which."""


class EmbeddedServer(uvicorn.Server):
    """uvicorn in our event loop. The service, not uvicorn, owns SIGTERM/SIGINT: uvicorn's own handlers would
    re-raise the signal after its shutdown and kill the process before the worker released its claims."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 picks a free one); opened here so a busy port is one clear error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        raise ServiceError(f"can't listen on {host}:{port}: {error.strerror or error}") from None


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait until the event is set or the time is up; True if it was set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()


class Service:
    def __init__(
        self,
        settings: Settings,
        *,
        channels: Sequence[Channel] = (),
        routes: Sequence[BaseRoute] = (),
        interpreter: Interpreter | None = None,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
        catalogue_check_seconds: float | None = None,
    ) -> None:
        self.settings = settings
        self.channels = {channel.platform: channel for channel in channels}
        self.routes = list(routes)
        self.interpreter = interpreter
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.catalogue_check_seconds = catalogue_check_seconds
        """How often to look for stock catalogue changes; None: as often as the assistant allows."""
        self.assistant: Assistant | None = None
        self.router: Router | None = None
        """Runs turns for the channels (`await service.router.receive(incoming, channel)`), once the assistant is
        loaded; it reports every turn to the metrics."""
        self.worker: DeliveryWorker | None = None
        """The outbox delivery worker, once running (`wake()` it when a turn queued messages)."""
        self.inbox: Inbox | None = None
        """Where channel adapters store each update before acknowledging it (`await service.inbox.accept(incoming,
        key)`), once the assistant is loaded; until then an adapter refuses the delivery (the platform retries)."""
        self.inbox_worker: InboxWorker | None = None
        """Runs the stored updates through the router, beside the delivery worker."""
        self.scheduler: Scheduler | None = None
        """Fires the scheduled reminders into the outbox while this replica leads (bot/scheduler.py)."""
        self.url = ""
        """Where the HTTP server listens, e.g. http://127.0.0.1:8080 (set once it does)."""
        self.started = asyncio.Event()
        """Set when the assistant is loaded and delivery runs (readiness, for in-process callers)."""

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then shut down cleanly. Raises ServiceError if a part fails."""
        listener = listen(self.settings.http_host, self.settings.http_port)
        host, port = listener.getsockname()[:2]
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        server = EmbeddedServer(
            uvicorn.Config(
                create_app(self.metrics, {"database": self._database_ready, "nlu": self._nlu_ready}, before_scrape=self._measure_outbox, routes=self.routes),
                log_config=None,  # our handler (bot/logs.py) with its redaction filter gets uvicorn's records too
                access_log=False,  # probes and scrapes every few seconds are noise
                lifespan="off",
                server_header=False,
                timeout_graceful_shutdown=int(GRACE_SECONDS),
            )
        )
        serving = asyncio.create_task(server.serve(sockets=[listener]), name="http")
        log.info("listening on %s", self.url)
        inbound_stop, delivery_stop = asyncio.Event(), asyncio.Event()
        inbound: list[asyncio.Task[None]] = []
        background: list[asyncio.Task[None]] = []
        try:
            self.assistant = await self._open_assistant()
            self.worker = DeliveryWorker(self.assistant.database, self.channels, clock=self.clock, on_failure=self.metrics.record_delivery_failure)
            self.router = Router(self.assistant.database, self.assistant.dialogue, clock=self.clock, on_turn=self._observe_turn)
            self.inbox_worker = InboxWorker(self.assistant.database, self.router, self.channels, clock=self.clock)
            self.inbox = Inbox(self.assistant.database, clock=self.clock, on_accepted=self.inbox_worker.wake)
            self.scheduler = Scheduler(
                self.assistant.database, default_jobs(), policy=policy_from(self.settings), clock=self.clock, on_queued=self.worker.wake
            )
            background = [
                asyncio.create_task(self.worker.run(delivery_stop), name="delivery"),
                asyncio.create_task(self.scheduler.run(delivery_stop), name="scheduler"),
                asyncio.create_task(self._keep_catalogue_fresh(delivery_stop), name="catalogue"),
                asyncio.create_task(self._forget_old_deliveries(delivery_stop), name="housekeeping"),
            ]
            inbound = [
                asyncio.create_task(channel.poll(inbound_stop), name=f"poll {platform}")
                for platform, channel in self.channels.items()
                if isinstance(channel, PollingChannel)
            ]
            # Stopped with the receiving side: what it leaves is stored and claimed again after a restart.
            inbound.append(asyncio.create_task(self.inbox_worker.run(inbound_stop), name="inbox"))
            self.started.set()
            log.info("ready: delivering to %s", ", ".join(sorted(self.channels)) or "no channel yet")
            stopping = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait([stopping, serving, *inbound, *background], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            ended = [task for task in done if task is not stopping]
            if ended:
                error = _exception_of(ended[0])
                if isinstance(error, ChannelStartError):  # a refused setting: its one line says it all (not
                    inbound[:] = [task for task in inbound if task is not ended[0]]  # again "failed while stopping")
                    raise ServiceError(str(error)) from None
                raise ServiceError(f"{ended[0].get_name()} stopped unexpectedly") from error
            log.info("stopping")
        finally:
            await self._shutdown(server, serving, inbound_stop, inbound, delivery_stop, background)

    async def _open_assistant(self) -> Assistant:
        await self._check_schema()
        # Loading (or retraining) the model is seconds of CPU work: in a thread, so /healthz keeps answering.
        interpreter = self.interpreter or await asyncio.to_thread(load_interpreter, self.settings)
        return await open_assistant(self.settings, interpreter=interpreter, clock=self.clock)

    async def _check_schema(self) -> None:
        database = Database(self.settings.resolved_database_url)
        try:
            current, head = await migrate.current_revision(database), migrate.head_revision()
        finally:
            await database.dispose()
        if current != head:
            raise ServiceError(f"the database schema is at {current or 'nothing'}, this code needs {head}: run `backoffice db upgrade`")

    async def _shutdown(
        self,
        server: EmbeddedServer,
        serving: asyncio.Task[None],
        inbound_stop: asyncio.Event,
        inbound: list[asyncio.Task[None]],
        delivery_stop: asyncio.Event,
        background: list[asyncio.Task[None]],
    ) -> None:
        server.should_exit = True  # stop accepting; requests in progress get GRACE_SECONDS to finish
        inbound_stop.set()
        await _finish([serving, *inbound], "receiving")
        delivery_stop.set()  # only now: turns that just finished may have queued messages
        await _finish(background, "delivery")
        for channel in self.channels.values():
            if isinstance(channel, ClosingChannel):
                try:
                    await channel.close()
                except Exception:  # noqa: BLE001 - the process is ending; the connections go with it
                    log.warning("closing the %s channel failed", channel.platform, exc_info=True)
        if self.assistant is not None:
            await self.assistant.close()
        log.info("stopped")

    async def _database_ready(self) -> bool:
        if self.assistant is None:
            return False
        async with self.assistant.database.reading() as session:
            await session.execute(text("SELECT 1"))
        return True

    async def _nlu_ready(self) -> bool:
        return self.assistant is not None

    async def _measure_outbox(self) -> None:
        if self.assistant is None:
            return
        async with self.assistant.database.reading() as session:
            counts = await outbox.depth(session)
        self.metrics.set_outbox_depth(counts[OutboxStatus.PENDING], counts[OutboxStatus.DEAD])

    def _observe_turn(self, platform: str, turn: Turn, seconds: float) -> None:
        self.metrics.observe_turn(platform, turn, seconds)
        if turn.queued and self.worker is not None:
            self.worker.wake()  # notifications go out now, not at the worker's next poll
        if turn.queued and self.inbox_worker is not None:
            self.inbox_worker.wake()  # the turn may have stored a refresh of the person's home page (bot/home.py)

    async def _forget_old_deliveries(self, stop: asyncio.Event) -> None:
        assert self.assistant is not None
        while True:
            try:
                async with self.assistant.database.transaction() as session:
                    forgotten = await conversations.forget_events(session, seen_before=self.clock() - KEEP_DELIVERY_IDS)
                    processed = await inbox.forget_done(session, before=self.clock() - KEEP_DELIVERY_IDS)
                if forgotten or processed:
                    log.info("forgot %d delivery ids and %d processed updates older than %s", forgotten, processed, KEEP_DELIVERY_IDS)
            except Exception:  # retried at the next interval; keeping them a while longer loses nothing
                log.warning("forgetting old delivery ids failed", exc_info=True)
            if await _wait(stop, HOUSEKEEPING_SECONDS):
                return

    async def _keep_catalogue_fresh(self, stop: asyncio.Event) -> None:
        assert self.assistant is not None
        every = self.catalogue_check_seconds or self.assistant.catalogue_check_seconds
        while not await _wait(stop, every):
            try:
                await self.assistant.refresh_catalogue()
            except Exception:  # a failed check is retried at the next interval; the old catalogue still works
                log.warning("checking the stock catalogue failed", exc_info=True)


def _exception_of(task: asyncio.Task[object]) -> BaseException | None:
    return None if task.cancelled() else task.exception()


async def _finish(tasks: list[asyncio.Task[None]], what: str) -> None:
    """Wait for the tasks to end by themselves, then cancel what is left after the grace period."""
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=GRACE_SECONDS)
    for task in late:
        log.warning("%s: %s did not stop within %.0f s; cancelling it", what, task.get_name(), GRACE_SECONDS)
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, Exception):
            log.error("%s: %s failed while stopping", what, task.get_name(), exc_info=result)


async def serve_until_signalled(settings: Settings) -> None:
    """Run the service until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(number: signal.Signals) -> None:
        log.info("%s received", number.name)
        stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, on_signal, number)
    await configured_service(settings).run(stop)


def configured_service(
    settings: Settings, *, interpreter: Interpreter | None = None, clock: Callable[[], datetime] = utcnow
) -> Service:
    """The service with the channels its settings configure. Slack, with SLACK_BOT_TOKEN: over Socket Mode when
    SLACK_APP_TOKEN is set (an inbound task, no route; SLACK_SIGNING_SECRET is then not needed), else over the HTTP
    Events API (`POST /slack/events`) with SLACK_SIGNING_SECRET. A missing one stops start-up, naming it. Telegram,
    with TELEGRAM_BOT_TOKEN, beside Slack or alone (`_telegram`)."""
    channels: list[Channel] = []
    routes: list[BaseRoute] = []
    token, secret, app_token = settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token
    if token is None and (secret is not None or app_token is not None):
        given = "SLACK_APP_TOKEN" if app_token is not None else "SLACK_SIGNING_SECRET"
        raise ServiceError(f"SLACK_BOT_TOKEN is not set: Slack needs it besides {given}")
    if token is not None and secret is None and app_token is None:
        raise ServiceError("SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP Events API) is not set: Slack needs one of them besides SLACK_BOT_TOKEN")
    if token is not None and app_token is not None:
        from bot.channels.slack import slack_socket_mode  # slack-bolt is imported only when Slack is configured

        channels.append(slack_socket_mode(token.get_secret_value(), app_token.get_secret_value(), inbox=lambda: service.inbox, api_url=settings.slack_api_url))
    elif token is not None and secret is not None:
        from bot.channels.slack import slack

        parts = slack(token.get_secret_value(), secret.get_secret_value(), inbox=lambda: service.inbox, api_url=settings.slack_api_url)
        channels.append(parts.channel)
        routes.append(parts.route)
    if settings.telegram_bot_token is not None:
        channel, route = _telegram(settings, inbox=lambda: service.inbox)
        channels.append(channel)
        routes.extend([route] if route is not None else [])
    service = Service(settings, channels=channels, routes=routes, interpreter=interpreter, clock=clock)
    return service


def _telegram(settings: Settings, *, inbox: Callable[[], Inbox | None]) -> tuple[Channel, BaseRoute | None]:
    """Telegram, with TELEGRAM_BOT_TOKEN: long polling, or a webhook at `POST /telegram/webhook` when
    TELEGRAM_WEBHOOK_URL is set (which needs TELEGRAM_WEBHOOK_SECRET); the command menu in every language."""
    token, webhook_url, secret = settings.telegram_bot_token, settings.telegram_webhook_url, settings.telegram_webhook_secret
    assert token is not None
    if webhook_url is not None and secret is None:
        raise ServiceError("TELEGRAM_WEBHOOK_SECRET is not set: a Telegram webhook (TELEGRAM_WEBHOOK_URL) needs one")
    from bot.channels.telegram import telegram  # python-telegram-bot is imported only when Telegram is configured
    from bot.commands import command_menus

    parts = telegram(
        token.get_secret_value(), inbox=inbox, api_url=settings.telegram_api_url, file_url=settings.telegram_file_url,
        webhook_url=webhook_url, webhook_secret=secret.get_secret_value() if secret is not None else None,
        commands=command_menus(settings.default_language),
    )
    return parts.channel, parts.route


def run_service(settings: Settings) -> int:
    """`backoffice run`: configure logging, serve until a signal; the process exit code (0: stopped cleanly)."""
    configure_logging(settings.log_level, settings.log_format, secrets=settings.secret_values)
    try:
        asyncio.run(serve_until_signalled(settings))
    except ServiceError as error:
        log.error("service failed: %s", error, exc_info=error.__cause__ is not None)
        return 1
    except Exception:
        log.exception("service failed")
        return 1
    return 0
