"""The Slack channel's outbound side: the core's replies as Slack messages, through slack_sdk's AsyncWebClient.

`send` posts the Block Kit messages `slack_blocks.render` makes of a reply (several when it had to be split; the
reference of the last one, which carries the buttons, is returned as `"<channel>:<ts>"`), `edit` replaces such a
message (`chat.update`), and `private_address` opens the person's direct message with the app
(`conversations.open`). The client talks to `SLACK_API_URL` (a local Slack-compatible server in tests) and retries
rate limits (HTTP 429, waiting as long as `Retry-After` says) and dropped connections with slack_sdk's own retry
handlers. What still fails is reported to the core as a typed delivery error: transient (rate limited, Slack
unavailable, the network) or permanent (the chat is gone, archived, or won't take messages from us, the message
can't be edited). Errors name only Slack's error code; nothing logged here carries a message or a token.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from actions.replies import Reply
from bot.channels.base import Address, DeliveryError, PermanentDeliveryError, TransientDeliveryError
from bot.channels.slack_blocks import render

PLATFORM = "slack"
DEFAULT_API_URL = "https://slack.com/api/"
TIMEOUT_SECONDS = 15
RATE_LIMIT_RETRIES = 2
"""Times a request answered 429 is sent again (after its Retry-After) before the core is told to retry later."""
CONNECTION_RETRIES = 2

TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
     # the app's credentials, not the message: fixed by configuration, after which the same message goes through
     "invalid_auth", "not_authed", "token_revoked", "token_expired"}
)
"""Slack error codes worth trying again later. Any other refusal (channel_not_found, account_inactive, is_archived,
not_in_channel, cant_update_message, message_not_found, invalid_blocks, …) is permanent for that message."""
_ERROR_CODE = re.compile(r"[a-z0-9_]{1,64}")

log = logging.getLogger(__name__)
sdk_log = logging.getLogger(f"{__name__}.sdk")
"""The client's logger. slack_sdk writes request parameters and response bodies (message text, payslip figures) at
DEBUG when its logger's own level allows it: kept at INFO, so LOG_LEVEL=DEBUG never puts them in the log."""


def web_client(token: str, api_url: str = DEFAULT_API_URL) -> AsyncWebClient:
    """The Web API client the channel and the bolt app share: `api_url` as its base, Slack's retry handlers on."""
    sdk_log.setLevel(logging.INFO)
    return AsyncWebClient(
        token=token,
        base_url=api_url if api_url.endswith("/") else api_url + "/",
        timeout=TIMEOUT_SECONDS,
        logger=sdk_log,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            AsyncConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        ],
    )


def delivery_error(error: Exception) -> DeliveryError:
    """What a failed Web API call means for the core: transient or permanent, said with Slack's error code only."""
    if isinstance(error, SlackApiError):
        response = error.response
        status = getattr(response, "status_code", None) or getattr(response, "status", None) or 0
        data = getattr(response, "data", None)
        raw_code = data.get("error") if isinstance(data, dict) else None
        code = raw_code if isinstance(raw_code, str) and _ERROR_CODE.fullmatch(raw_code) else f"http_{status}"
        reason = f"slack: {code}"
        if status == 429 or code in ("ratelimited", "rate_limited"):
            return TransientDeliveryError(reason, retry_after=_retry_after(getattr(response, "headers", None)))
        if status >= 500 or code in TRANSIENT_ERRORS:
            return TransientDeliveryError(reason)
        return PermanentDeliveryError(reason)
    if isinstance(error, TimeoutError | aiohttp.ClientError):
        return TransientDeliveryError(f"slack: {type(error).__name__}")
    raise error


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        if isinstance(value, list):  # slack_sdk's retry responses keep header values as lists
            value = value[0] if value else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def reference_of(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


class SlackChannel:
    """The `Channel` for Slack (bot.channels.base): chat ids are Slack conversation ids, thread ids message ts."""

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def send(self, address: Address, reply: Reply) -> str:
        reference = ""
        for message in render(reply):
            arguments: dict[str, Any] = {"channel": address.chat_id, "text": message.text, "blocks": message.blocks,
                                         "unfurl_links": False, "unfurl_media": False}
            if address.thread_id:
                arguments["thread_ts"] = address.thread_id
            response = await self._call("chat_postMessage", **arguments)
            reference = reference_of(str(response.get("channel") or address.chat_id), str(response["ts"]))
        return reference

    async def edit(self, reference: str, reply: Reply) -> None:
        channel, _, ts = reference.partition(":")
        if not channel or not ts:
            raise PermanentDeliveryError("slack: not a message reference")
        first, *rest = render(reply)
        await self._call("chat_update", channel=channel, ts=ts, text=first.text, blocks=first.blocks)
        for message in rest:  # an outcome too long for one message (rare): the rest follows it
            await self._call("chat_postMessage", channel=channel, text=message.text, blocks=message.blocks,
                             unfurl_links=False, unfurl_media=False)

    async def private_address(self, user_id: str) -> Address | None:
        try:
            response = await self._call("conversations_open", users=user_id)
        except PermanentDeliveryError as error:  # user_not_found, user_disabled, cannot_dm_bot, …
            log.info("no direct message with a Slack user: %s", error)
            return None
        channel = response.get("channel")
        chat_id = channel.get("id") if isinstance(channel, dict) else None
        return Address(PLATFORM, str(chat_id)) if chat_id else None

    async def _call(self, method: str, **arguments: Any) -> Any:
        try:
            return await getattr(self.client, method)(**arguments)
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as error:
            raise delivery_error(error) from None
