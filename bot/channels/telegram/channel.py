"""The Telegram channel's outbound side: the core's replies as Bot API messages (bot/channels/telegram/render.py).

`send` posts a reply's messages (several when it is over 4,096 characters; the reference of the last, which carries
the inline keyboard, is returned as `"<chat id>:<message id>"`), `edit` replaces such a message with
editMessageText — without a keyboard unless the new reply has buttons, so no live button stays after a decision —
and `private_address` is the person's private chat, whose id in Telegram is their user id (if they never started
the bot, the send is refused with Forbidden, which the core handles as a chat it can't reach). A note the core
meant for one person in a group (`Address.only_for`) can't be hidden from the others in Telegram: it gets a button
that opens the person's private chat with the bot (`https://t.me/<bot>`, where a newcomer finds the Start button).
`answer_press` answers a button press after the core's turn, with its toast for a stale button (presses.py).
Failures reach the core as typed delivery errors (client.delivery_error); an edit to what the message already shows
is a success.

The channel also runs its inbound side for the service (`poll`, the service's PollingChannel): long polling, or
registering the webhook that `route` serves (bot/channels/telegram/receiving.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.routing import Route
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import BadRequest, TelegramError

from actions.replies import Reply
from bot.channels.base import Address, PermanentDeliveryError
from bot.channels.telegram.client import NOT_MODIFIED, PLATFORM, Client, Identity, delivery_error, message_reference
from bot.channels.telegram.receiving import Receiver
from bot.channels.telegram.render import TelegramMessage, render

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
"""A link someone typed, echoed back, is not unfurled into a preview."""


def _chat(chat_id: str) -> int | str:
    """Telegram's chat ids are integers (negative for groups); an @username stays a string."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


class TelegramChannel:
    """The `Channel` for Telegram (bot.channels.base): chat ids are Telegram chat ids, thread ids forum topics."""

    platform = PLATFORM

    def __init__(self, client: Client, identity: Identity, receiver: Receiver) -> None:
        self.client = client
        self.bot = client.bot
        self.identity = identity
        self.receiver = receiver

    async def close(self) -> None:
        """Close the Bot API connections, once nothing is sent any more (the service's last step)."""
        await self.client.close()

    async def poll(self, stop: asyncio.Event) -> None:
        """Receive updates until `stop` is set (the service runs this beside its workers)."""
        await self.receiver.run(stop)

    def route(self) -> Route | None:
        """The webhook's route for the service's HTTP server, in webhook mode."""
        return self.receiver.route() if self.receiver.webhook_url is not None else None

    async def send(self, address: Address, reply: Reply) -> str:
        reference = ""
        thread = int(address.thread_id) if address.thread_id and address.thread_id.isdigit() else None
        messages = render(reply)
        if address.only_for is not None and address.chat_id.startswith("-"):
            messages[-1] = await self._with_chat_link(messages[-1])
        for message in messages:
            sent = await self._call(self.bot.send_message(
                _chat(address.chat_id), message.text, entities=message.entities, reply_markup=message.keyboard,
                message_thread_id=thread, link_preview_options=NO_PREVIEW,
            ))
            reference = message_reference(sent.chat.id, sent.message_id)
        return reference

    async def _with_chat_link(self, message: TelegramMessage) -> TelegramMessage:
        """A note in a group for one person (the core's "answered privately" or "open a chat with me first";
        Telegram can't show it to them alone): with a button opening their private chat with the bot — for someone
        who never started it, the chat opens on its Start button. Labelled with the bot's @username, in any
        language.

        The plain deep link, on purpose: `https://t.me/<bot>?start=CODE` with a fresh link code would link an
        unlinked person in one tap, but a link code is a credential (whoever sends it first becomes that employee
        here), and everyone in the group can press this button. So no code ever goes into a group: an unlinked
        person who opens the chat and presses Start is told how to link (`/start CODE` with a code from HR or
        from the assistant in Slack, which is shown only in a private chat)."""
        username = (await self._call(self.identity.me())).username
        link = InlineKeyboardButton(f"@{username}", url=f"https://t.me/{username}")
        rows = [*message.keyboard.inline_keyboard] if message.keyboard is not None else []
        return TelegramMessage(message.text, message.entities, InlineKeyboardMarkup([*rows, [link]]))

    async def edit(self, reference: str, reply: Reply) -> None:
        chat_id, _, message_id = reference.rpartition(":")
        if not chat_id or not message_id.isdigit():
            raise PermanentDeliveryError("telegram: not a message reference")
        first, *rest = render(reply)
        await self._call(self._edit(_chat(chat_id), int(message_id), first, last=not rest))
        for message in rest:  # an outcome too long for one message (rare): the rest follows it
            await self._call(self.bot.send_message(
                _chat(chat_id), message.text, entities=message.entities, reply_markup=message.keyboard,
                link_preview_options=NO_PREVIEW,
            ))

    async def _edit(self, chat_id: int | str, message_id: int, message: TelegramMessage, *, last: bool) -> None:
        try:
            await self.bot.edit_message_text(
                message.text, chat_id=chat_id, message_id=message_id, entities=message.entities,
                reply_markup=message.keyboard if last else None, link_preview_options=NO_PREVIEW,
            )
        except BadRequest as error:
            if NOT_MODIFIED not in error.message.lower():  # it already shows exactly this: done
                raise

    async def private_address(self, user_id: str) -> Address | None:
        return Address(PLATFORM, user_id) if user_id.isdigit() else None

    async def answer_press(self, event_id: str | None, text: str | None) -> bool:
        """The core's answer to a button press (`bot.channels.base.PressAnswers`): its callback query answered, with
        `text` as a toast; False if it was answered already (by the timer) or arrived in another process."""
        return await self.receiver.presses.answer(event_id, text)

    @staticmethod
    async def _call(call: Any) -> Any:
        try:
            return await call
        except TelegramError as error:
            raise delivery_error(error) from None
