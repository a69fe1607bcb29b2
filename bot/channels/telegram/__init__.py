"""Telegram, through python-telegram-bot: `TelegramChannel` sends (bot/channels/telegram/channel.py, rendering in
render.py) and receives into the inbox — by long polling, or at `POST /telegram/webhook` when TELEGRAM_WEBHOOK_URL
is set (receiving.py, reading updates in updates.py). Both sides share one Bot API client on `TELEGRAM_API_URL`
with PTB's rate limiter (client.py); button presses are answered after the core's turn, a stale one with a toast
(presses.py). Accounts are linked with `/start CODE` or `/link CODE`, and the menu's commands mean what they say,
both handled by the core (bot/linking.py, bot/commands.py); Telegram tells us no one's email."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import Route

from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.client import DEFAULT_API_URL, DEFAULT_FILE_URL, PLATFORM, Client, Identity, delivery_error
from bot.channels.telegram.receiving import WEBHOOK_PATH, CommandMenus, InboxSource, Receiver
from bot.channels.telegram.render import render

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_FILE_URL",
    "PLATFORM",
    "WEBHOOK_PATH",
    "Telegram",
    "TelegramChannel",
    "delivery_error",
    "render",
    "telegram",
]


@dataclass(frozen=True)
class Telegram:
    channel: TelegramChannel
    route: Route | None
    """`POST /telegram/webhook`, in webhook mode; None when polling."""


def telegram(
    token: str,
    *,
    inbox: InboxSource,
    api_url: str = DEFAULT_API_URL,
    file_url: str = DEFAULT_FILE_URL,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    commands: CommandMenus | None = None,
    poll_seconds: float | None = None,
) -> Telegram:
    """The Telegram channel and, with a webhook URL (which needs the secret), its route, for the service (`inbox`
    gives the service's inbox once loaded; `commands` the command menus by language)."""
    client = Client(token, api_url=api_url, file_url=file_url)
    identity = Identity(client.bot)
    receiver = Receiver(client.bot, identity, inbox, webhook_url=webhook_url, webhook_secret=webhook_secret, commands=commands,
                        **({"poll_seconds": poll_seconds} if poll_seconds is not None else {}))
    channel = TelegramChannel(client, identity, receiver)
    return Telegram(channel, channel.route())
