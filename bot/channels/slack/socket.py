"""The Slack channel over Socket Mode: Slack's events and button presses come over a websocket the assistant opens,
so it needs no public URL. Used when SLACK_APP_TOKEN (an app-level token, `xapp-…`) is set.

The same bolt app as the HTTP Events API (bot/channels/slack/events.py, built with `process_before_response=True`)
handles every envelope, through slack_bolt's async Socket Mode handler on slack_sdk's aiohttp `SocketModeClient`.
The handler dispatches an envelope to the app and sends its acknowledgement only once the app has answered, that
is once the listener has stored the update in the inbox. A listener that failed (the database is down) makes the
app answer 500, and the handler acknowledges nothing but a 200, so Slack delivers the envelope again (with
`retry_attempt` counting up); the inbox key is the event's `event_id`, so a retried envelope makes no second row.

`apps.connections.open`, which gives each connection its websocket URL, goes to SLACK_API_URL with the app token.
The first call is made here, at start: Slack refusing the app token ends `poll` with a `ChannelStartError` that
names SLACK_APP_TOKEN, and the service stops with that one line. From then on slack_sdk keeps the connection: it
connects again by itself when Slack asks (`disconnect`, every few hours), when the socket closes or its pings go
unanswered, so a lost connection never stops the service. On stop the socket is closed; an envelope still in hand
then is not acknowledged, and Slack sends it again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import ChannelStartError, TransientDeliveryError
from bot.channels.slack.web import DEFAULT_API_URL, SlackChannel, delivery_error, web_client

PING_SECONDS = 10.0
"""How often slack_sdk pings the socket; unanswered for four times as long, it connects again."""
REFUSED_CREDENTIALS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired"})
"""Error codes that, for `apps.connections.open`, mean the app token is wrong rather than Slack briefly unwell."""

log = logging.getLogger(__name__)
sdk_log = logging.getLogger(f"{__name__}.sdk")
"""The Socket Mode client's logger. slack_sdk writes every envelope it receives (message text, payslip figures) at
DEBUG when its logger allows it: kept at INFO, where it only says that it connects again and why."""


class SlackSocketChannel(SlackChannel):
    """The Slack channel (sending as `SlackChannel` does) that also receives over Socket Mode: the service runs
    `poll(stop)` as one of its inbound tasks (bot.service.PollingChannel)."""

    def __init__(
        self, client: AsyncWebClient, app: AsyncApp, app_token: str, *, api_url: str = DEFAULT_API_URL,
        ping_interval: float = PING_SECONDS,
    ) -> None:
        super().__init__(client)
        self.app = app
        self.api_url = api_url
        self.ping_interval = ping_interval
        self._app_token = app_token
        sdk_log.setLevel(logging.INFO)

    async def poll(self, stop: asyncio.Event) -> None:
        """Connect, receive until `stop` is set, then close the socket. Raises ChannelStartError if Slack refuses
        the app token at start."""
        # Made here, not in __init__: slack_sdk's client starts a task and opens an aiohttp session on creation.
        handler = AsyncSocketModeHandler(
            self.app, self._app_token, logger=sdk_log, web_client=web_client(self._app_token, self.api_url),
            ping_interval=self.ping_interval,
        )
        connecting: asyncio.Task[None] | None = None
        try:
            handler.client.wss_uri = await self._first_url(handler.client.web_client)
            connecting = asyncio.create_task(self._connect(handler), name="slack socket mode connect")
            await stop.wait()
        finally:
            if connecting is not None and not connecting.done():
                connecting.cancel()  # slack_sdk still trying to open the first socket
                with contextlib.suppress(asyncio.CancelledError):
                    await connecting
            await handler.close_async()
            log.info("Slack Socket Mode connection closed")

    async def _first_url(self, client: AsyncWebClient) -> str | None:
        """The first websocket URL; None when Slack can't be asked right now (slack_sdk then keeps asking)."""
        try:
            response = await client.apps_connections_open(app_token=self._app_token)
        except SlackApiError as error:
            failure = delivery_error(error)  # "slack: <error code>"; transient for rate limits and Slack's own trouble
            code = str(failure).removeprefix("slack: ")
            if isinstance(failure, TransientDeliveryError) and code not in REFUSED_CREDENTIALS:
                log.warning("Slack did not open a Socket Mode connection (%s); trying again", code)
                return None
            raise ChannelStartError(f"SLACK_APP_TOKEN was refused by Slack's apps.connections.open ({code})") from None
        except (TimeoutError, aiohttp.ClientError) as error:
            log.warning("can't reach Slack at SLACK_API_URL for Socket Mode (%s); trying again", type(error).__name__)
            return None
        url = response.get("url")
        return str(url) if url else None

    @staticmethod
    async def _connect(handler: AsyncSocketModeHandler) -> None:
        await handler.connect_async()  # returns once connected; retries (and logs why) until then
        if not handler.client.closed:
            log.info("connected to Slack over Socket Mode")

