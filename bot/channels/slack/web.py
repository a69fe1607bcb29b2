"""The Slack channel's outbound side: the core's replies as Slack messages, through slack_sdk's AsyncWebClient.

`send` posts the Block Kit messages `slack_blocks.render` makes of a reply (several when it had to be split; the
reference of the last one, which carries the buttons, is returned as `"<channel>:<ts>"`; to an address `only_for`
one person, as ephemeral messages only they see), `edit` replaces such a message (`chat.update`), and
`private_address` opens the person's direct message with the app (`conversations.open`); `publish_home` shows a
reply as the person's App Home tab (`views.publish`). As a `PeopleDirectory`
it tells the core a user's profile email (`users.info`, which needs the `users:read.email` scope) and finds the
user with a company email (`users.lookupByEmail`), both cached for a while, and which workspace the bot token
belongs to (`auth.test`, once). The client talks to `SLACK_API_URL` (a local Slack-compatible server in tests) and retries
rate limits (HTTP 429, waiting as long as `Retry-After` says) and dropped connections with slack_sdk's own retry
handlers. What still fails is reported to the core as a typed delivery error: transient (rate limited, Slack
unavailable, the network) or permanent (the chat is gone, archived, or won't take messages from us, the message
can't be edited). Errors name only Slack's error code; nothing logged here carries a message or a token.
"""

from __future__ import annotations

import logging
import re
import time
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
from bot.channels.slack_blocks import render, render_home

PLATFORM = "slack"
DEFAULT_API_URL = "https://slack.com/api/"
TIMEOUT_SECONDS = 15
RATE_LIMIT_RETRIES = 2
"""Times a request answered 429 is sent again (after its Retry-After) before the core is told to retry later."""
CONNECTION_RETRIES = 2
KNOWN_FOR_SECONDS = 3600.0
"""How long a user's profile email (or the user of an email) is taken as known before Slack is asked again."""
UNKNOWN_FOR_SECONDS = 300.0
"""How long "no such user" / "no email" is remembered: someone writing again and again costs one lookup a while."""
MAX_CACHED = 10_000

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


class ExpiringCache:
    """Answers remembered for a while (known ones longer than unknown ones), at most MAX_CACHED of them."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._entries: dict[str, tuple[float, str | None]] = {}
        self._clock = clock

    def get(self, key: str) -> tuple[bool, str | None]:
        """(found, value): found is False when never asked or expired."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            self._entries.pop(key, None)
            return False, None
        return True, entry[1]

    def put(self, key: str, value: str | None) -> None:
        if len(self._entries) >= MAX_CACHED:
            self._entries.pop(next(iter(self._entries)))  # the oldest entry
        self._entries[key] = (self._clock() + (KNOWN_FOR_SECONDS if value else UNKNOWN_FOR_SECONDS), value)


class SlackChannel:
    """The `Channel` for Slack (bot.channels.base): chat ids are Slack conversation ids, thread ids message ts."""

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._emails = ExpiringCache()
        self._users = ExpiringCache()
        self._workspace: str | None = None
        """None until auth.test said (and again if it said nothing)."""
        self._warned_no_email_scope = False

    async def send(self, address: Address, reply: Reply) -> str:
        reference = ""
        for message in render(reply):
            arguments: dict[str, Any] = {"channel": address.chat_id, "text": message.text, "blocks": message.blocks}
            if address.thread_id:
                arguments["thread_ts"] = address.thread_id
            if address.only_for:  # seen only by that person, and gone after a while: nothing to edit later
                await self._call("chat_postEphemeral", user=address.only_for, **arguments)
                continue
            response = await self._call("chat_postMessage", unfurl_links=False, unfurl_media=False, **arguments)
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

    async def publish_home(self, user_id: str, reply: Reply) -> None:
        """Show the reply as the person's App Home tab (`views.publish`; it replaces what the tab showed). Its
        buttons keep the action_ids `render` gives them, so presses come back through the usual `block_actions`."""
        await self._call("views_publish", user_id=user_id, view={"type": "home", "blocks": render_home(reply)})

    async def workspace(self) -> str:
        """The id of the workspace the bot token belongs to (asked once it is known). Empty when Slack didn't say,
        which the core treats as "nobody is from here" (it fails closed)."""
        if not self._workspace:
            response = await self._call("auth_test")
            self._workspace = str(response.get("team_id") or "") or None
        return self._workspace or ""

    async def _member(self, user: object) -> bool:
        """A full member of our workspace: not a bot, deactivated, guest or another organisation's account, and
        (where Slack says) with a confirmed email — only then does their email say who they are."""
        if not isinstance(user, dict) or not user.get("id"):
            return False
        if any(user.get(flag) for flag in ("deleted", "is_bot", "is_restricted", "is_ultra_restricted")):
            return False
        if user.get("is_email_confirmed") is False:
            return False
        team = user.get("team_id")
        return not team or team == await self.workspace()

    async def email_of(self, user_id: str) -> str | None:
        found, email = self._emails.get(user_id)
        if found:
            return email
        try:
            response = await self._call("users_info", user=user_id)
        except PermanentDeliveryError as error:  # user_not_found, …: nobody to link
            log.info("no Slack profile for a user: %s", error)
            self._emails.put(user_id, None)
            return None
        user = response.get("user")
        profile = user.get("profile") if isinstance(user, dict) else None
        email = profile.get("email") if isinstance(profile, dict) else None
        if isinstance(profile, dict) and "email" not in profile and not self._warned_no_email_scope:
            self._warned_no_email_scope = True
            log.warning("Slack profiles come without email: give the app the users:read.email scope and reinstall it")
        email = email.strip() if await self._member(user) and isinstance(email, str) and "@" in email else None
        self._emails.put(user_id, email)
        return email

    async def user_by_email(self, email: str) -> str | None:
        key = email.strip().lower()
        found, user_id = self._users.get(key)
        if found:
            return user_id
        try:
            response = await self._call("users_lookupByEmail", email=email.strip())
        except PermanentDeliveryError:  # users_not_found: not in this workspace
            self._users.put(key, None)
            return None
        user = response.get("user")
        user_id = str(user["id"]) if await self._member(user) and isinstance(user, dict) else None
        self._users.put(key, user_id)
        return user_id

    async def close(self) -> None:
        """Close the pooled connections (the service calls this once delivery has stopped)."""
        session, self.client.session = self.client.session, None
        if session is not None and not session.closed:
            await session.close()

    async def _call(self, method: str, **arguments: Any) -> Any:
        if self.client.session is None or self.client.session.closed:
            # One pooled session for every call (bolt's too: it shares the client). Without it slack_sdk opens a
            # session — a new TLS connection to Slack — per request. Made here, inside the running loop.
            self.client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))
        try:
            return await getattr(self.client, method)(**arguments)
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as error:
            raise delivery_error(error) from None
