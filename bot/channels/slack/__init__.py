"""Slack, over the HTTP Events API: `SlackChannel` sends (bot/channels/slack/web.py), a slack-bolt app at
`POST /slack/events` receives into the inbox (bot/channels/slack/events.py). Both share one Web API client, built
with `SLACK_API_URL` as its base and slack_sdk's retry handlers. Not yet here: Socket Mode, the App Home tab, and
linking a Slack user by their profile email (for now Slack users are linked by code or by the employees import)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import Route

from bot.channels.slack.events import EVENTS_PATH, InboxSource, events_route, slack_app
from bot.channels.slack.web import DEFAULT_API_URL, PLATFORM, SlackChannel, delivery_error, web_client

__all__ = ["DEFAULT_API_URL", "EVENTS_PATH", "PLATFORM", "Slack", "SlackChannel", "delivery_error", "slack"]


@dataclass(frozen=True)
class Slack:
    channel: SlackChannel
    route: Route


def slack(token: str, signing_secret: str, *, inbox: InboxSource, api_url: str = DEFAULT_API_URL) -> Slack:
    """The Slack channel and its events route, for the service (`inbox` gives the service's inbox once loaded)."""
    client = web_client(token, api_url)
    return Slack(SlackChannel(client), events_route(slack_app(client, signing_secret, inbox)))
