"""The Slack channel's inbound side: the HTTP Events API at `POST /slack/events`, through a slack-bolt AsyncApp.

bolt verifies every request (the signing secret's v0 HMAC and a timestamp within five minutes; anything else is
answered 401 before a listener runs, so it leaves no trace), answers Slack's URL verification, and drops the app's
own messages. The app is built with `process_before_response=True`, so Slack gets its answer only once the listener
returned: each listener turns the event or button press into one `Incoming`, stores it with
`await inbox.accept(incoming, key)` and does nothing else — the inbox worker runs it through the router later. A
retried delivery (`X-Slack-Retry-Num`) carries the same key and makes no second row. If the update can't be stored
(the assistant is still loading, the database is down) the request is answered 500 and Slack delivers it again.

What becomes an `Incoming`:
- `message` in a direct message (`channel_type` im): private. Other subtypes (edits, deletions, joins), bot messages
  and messages elsewhere are ignored — in channels the assistant answers only when mentioned;
- `app_mention` in a channel or group DM: not private, the app's mention taken out of the text, answered in the
  thread (the mention's own ts when it started none);
- `block_actions` for a button `slack_blocks.render` made (`ACTION_ID`): the button's value is the payload, its
  label the text; keyed by the conversation, the message's ts and the action's ts. Private when pressed in a
  direct message. Pressed on the app's Home tab (a view, no message), an update from the person's home page
  (bot/home.py), keyed by the view and the action's ts;
- `app_home_opened` on the Home tab (not the Messages or About tab): an update asking for the person's home page,
  which the core answers with `SlackChannel.publish_home`;
- a slash command (`/backoffice TEXT`, on the same URL): TEXT (or "help") from the person's direct message with
  the app — opened for them once (`conversations.open`) — so it is private and a form it starts goes on there;
  keyed by its trigger id (Slack never retries a command). Typed in a channel, only they see a pointer to the DM.
Keys are the event's `event_id` for events. Other events and actions are acknowledged and dropped (unanswered,
Slack would retry them). Nothing here logs a request body or text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.routing import Route

from bot import home
from bot.channels.slack.web import PLATFORM, reference_of
from bot.channels.slack_blocks import ACTION_ID
from bot.inbox import Inbox
from bot.messages import Incoming

EVENTS_PATH = "/slack/events"
OPEN_DM_SECONDS = 1.0
"""How long a slash command waits for its DM to be opened, inside Slack's 3 seconds."""
MAX_REMEMBERED = 10_000
InboxSource = Callable[[], Inbox | None]
"""Where to store updates: the service's inbox, None while the assistant is still loading."""

log = logging.getLogger(__name__)
bolt_log = logging.getLogger(f"{__name__}.bolt")
"""bolt's base logger. bolt writes the body of a request with a bad signature at INFO: its loggers stay at WARNING."""


class NotReady(Exception):
    """No inbox yet (the assistant is loading): the delivery is refused and Slack sends it again."""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def sender_team(body: dict[str, Any], event: dict[str, Any]) -> str | None:
    """The workspace of the person who wrote: `user_team` when they come from another organisation through a
    shared channel (Slack Connect), else the event's team."""
    team = event.get("user_team") or event.get("team") or body.get("team_id")
    return str(team) if team else None


def direct_message(body: dict[str, Any], event: dict[str, Any]) -> Incoming | None:
    """A person's message in their direct message with the app, or None for anything to ignore."""
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return None
    return Incoming(
        PLATFORM, str(event["channel"]), str(event["user"]), private=True, text=_text(event.get("text")),
        thread_id=event.get("thread_ts"), team_id=sender_team(body, event),
    )


def mention(body: dict[str, Any], event: dict[str, Any], bot_user_id: str | None) -> Incoming | None:
    """An @mention of the app in a channel: answered in its thread, the mention itself left out of the text."""
    if event.get("subtype") or event.get("bot_id") or not event.get("user") or not event.get("channel"):
        return None
    text = _text(event.get("text"))
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text).strip()
    return Incoming(
        PLATFORM, str(event["channel"]), str(event["user"]), private=False, text=text,
        thread_id=event.get("thread_ts") or event.get("ts"), team_id=sender_team(body, event),
    )


def button_press(body: dict[str, Any]) -> tuple[Incoming, str] | None:
    """A press of one of our buttons and its inbox key, or None when the payload lacks what that needs."""
    actions = body.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], dict) else {}
    user = body.get("user") or {}
    if (body.get("container") or {}).get("type") == "view":
        return home_press(body, action, user)
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    message = body.get("message") or {}
    message_ts = (body.get("container") or {}).get("message_ts") or message.get("ts")
    value, action_ts = action.get("value"), action.get("action_ts")
    if not (isinstance(value, str) and value and user.get("id") and channel and message_ts and action_ts):
        return None
    incoming = Incoming(
        PLATFORM, str(channel), str(user["id"]), private=str(channel).startswith("D"),
        text=_text((action.get("text") or {}).get("text")), payload=value, thread_id=message.get("thread_ts"),
        team_id=user.get("team_id") or (body.get("team") or {}).get("id"), source=reference_of(str(channel), str(message_ts)),
    )
    return incoming, f"action:{channel}:{message_ts}:{action_ts}"


def home_press(body: dict[str, Any], action: dict[str, Any], user: dict[str, Any]) -> tuple[Incoming, str] | None:
    """A press of a button on the person's Home tab (a view has no channel or message) and its inbox key; None for
    a view that is not a Home tab (the app opens no modals) or a payload lacking what that needs."""
    view = body.get("view") or {}
    view_id = (body.get("container") or {}).get("view_id") or view.get("id")
    value, action_ts = action.get("value"), action.get("action_ts")
    if view.get("type") != "home" or not (isinstance(value, str) and value and user.get("id") and view_id and action_ts):
        return None
    incoming = home.update(
        PLATFORM, str(user["id"]), payload=value, text=_text((action.get("text") or {}).get("text")),
        team_id=user.get("team_id") or (body.get("team") or {}).get("id"),
    )
    return incoming, f"action:{view_id}:{action_ts}"


def home_opened(body: dict[str, Any], event: dict[str, Any]) -> Incoming | None:
    """The person opened the app's Home tab: an update asking for their home page. None for the other tabs."""
    if event.get("tab") != "home" or not event.get("user"):
        return None
    return home.update(PLATFORM, str(event["user"]), team_id=sender_team(body, event))


def slash_command(body: dict[str, Any], direct_message: str) -> Incoming:
    """`/backoffice how many days off do I have` typed anywhere: the text after the command, answered in the
    person's direct message with the app (where a form it starts goes on), so it is private."""
    return Incoming(
        PLATFORM, direct_message, str(body["user_id"]), private=True, text=_text(body.get("text")).strip() or "help",
        team_id=str(body.get("team_id") or "") or None,
    )


def slack_app(client: AsyncWebClient, signing_secret: str, inbox: InboxSource) -> AsyncApp:
    """The bolt app: request verification on, listeners that only store what they receive, then acknowledge."""
    bolt_log.setLevel(logging.WARNING)
    app = AsyncApp(
        client=client, signing_secret=signing_secret, process_before_response=True, logger=bolt_log, name="backoffice"
    )

    async def store(incoming: Incoming, key: str) -> None:
        target = inbox()
        if target is None:
            raise NotReady("the assistant is not ready yet")
        await target.accept(incoming, key)

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        incoming = direct_message(body, event)
        if incoming is not None:
            await store(incoming, str(body.get("event_id") or f"{incoming.chat_id}:{event.get('ts')}"))

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        incoming = mention(body, event, context.bot_user_id)
        if incoming is not None:
            await store(incoming, str(body.get("event_id") or f"{incoming.chat_id}:{event.get('ts')}"))

    @app.event("app_home_opened")
    async def on_home_opened(body: dict[str, Any], event: dict[str, Any]) -> None:
        incoming = home_opened(body, event)
        if incoming is not None:
            await store(incoming, str(body.get("event_id") or f"home:{incoming.user_id}:{event.get('event_ts')}"))

    @app.action(ACTION_ID)
    async def on_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        pressed = button_press(body)
        if pressed is not None:
            await store(*pressed)
        await ack()

    direct_messages: dict[str, str] = {}
    """Slack user id → the app's direct message with them (stable; asked once per user and process)."""

    async def direct_message_with(user: str) -> str:
        """The app's DM with the person, to answer a command in. Asked before the 3-second ack, so briefly: if
        Slack is slow, the user id itself (Slack posts to a user id in the app's DM all the same, but a form the
        command starts then goes on in a conversation of its own)."""
        if user not in direct_messages:
            try:
                async with asyncio.timeout(OPEN_DM_SECONDS):
                    opened = await client.conversations_open(users=user)
            except (TimeoutError, SlackApiError, aiohttp.ClientError):
                return user
            found = str((opened.get("channel") or {}).get("id") or "")
            if not found:
                return user
            if len(direct_messages) >= MAX_REMEMBERED:
                direct_messages.pop(next(iter(direct_messages)))
            direct_messages[user] = found
        return direct_messages[user]

    @app.command(re.compile(r"^/"))
    async def on_command(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        user = str(body.get("user_id") or "")
        if not user or not body.get("trigger_id"):
            await ack()
            return
        dm = await direct_message_with(user)
        await store(slash_command(body, dm), f"command:{body['trigger_id']}")
        if body.get("channel_id") == dm or not context.bot_user_id:
            await ack()
        else:  # typed elsewhere: the person alone is shown where the answer is
            await ack(text=f":speech_balloon: <@{context.bot_user_id}>")

    # Anything else the app is sent (events it is subscribed to but has no use for, other buttons) is acknowledged
    # and dropped: unanswered, Slack would send it again and count the app as failing.
    @app.event(re.compile(".*"))
    async def on_other_event() -> None:
        return None

    @app.action(re.compile(".*"))
    async def on_other_action(ack: AsyncAck) -> None:
        await ack()

    @app.error
    async def on_error(error: Exception) -> BoltResponse:
        # Only the type: a database error's text may quote the stored update.
        log.error("a Slack request could not be stored (%s); Slack will deliver it again", type(error).__name__)
        return BoltResponse(status=500, body="")

    return app


def events_route(app: AsyncApp) -> Route:
    """`POST /slack/events` on the service's HTTP server, through bolt's Starlette adapter."""
    handler = AsyncSlackRequestHandler(app)

    async def endpoint(request: Any) -> Any:
        return await handler.handle(request)

    return Route(EVENTS_PATH, endpoint, methods=["POST"])
