"""Slack: `SlackChannel` sends (bot/channels/slack/web.py), a slack-bolt app receives into the inbox
(bot/channels/slack/events.py), either at `POST /slack/events` (the HTTP Events API) or over a websocket it opens
(Socket Mode, `SlackSocketChannel` in bot/channels/slack/socket.py). Both share one Web API client, built with
`SLACK_API_URL` as its base and slack_sdk's retry handlers. The App Home tab: `SlackChannel.publish_home` and the
`app_home_opened` listener (the page itself is the core's, bot/home.py). Not yet here: linking a Slack user
by their profile email (for now Slack users are linked by code or by the employees import)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import Route

from bot.channels.slack.events import EVENTS_PATH, InboxSource, events_route, slack_app
from bot.channels.slack.socket import SlackSocketChannel
from bot.channels.slack.web import DEFAULT_API_URL, PLATFORM, SlackChannel, delivery_error, web_client

__all__ = [
    "DEFAULT_API_URL", "EVENTS_PATH", "PLATFORM", "Slack", "SlackChannel", "SlackSocketChannel", "delivery_error", "slack",
    "slack_socket_mode",
]


@dataclass(frozen=True)
class Slack:
    channel: SlackChannel
    route: Route


def slack(token: str, signing_secret: str, *, inbox: InboxSource, api_url: str = DEFAULT_API_URL) -> Slack:
    """The Slack channel and its events route, for the service (`inbox` gives the service's inbox once loaded)."""
    client = web_client(token, api_url)
    return Slack(SlackChannel(client), events_route(slack_app(client, signing_secret, inbox)))


def slack_socket_mode(
    token: str, app_token: str, *, inbox: InboxSource, api_url: str = DEFAULT_API_URL, signing_secret: str = ""
) -> SlackSocketChannel:
    """The Slack channel receiving over Socket Mode (no route: the service runs its `poll`). The signing secret is
    not needed: envelopes come over the socket the app token opened, and bolt verifies no signature on them."""
    client = web_client(token, api_url)
    return SlackSocketChannel(client, slack_app(client, signing_secret, inbox), app_token, api_url=api_url)
