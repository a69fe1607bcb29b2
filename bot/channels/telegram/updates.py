"""Telegram updates as the core's `Incoming`: what the assistant answers, and what it leaves alone.

- A message in a private chat: private, its text (or a photo's caption). `/start CODE` and `/link CODE` are passed
  as they are — the core links the account (bot/linking.py); `/help@our_bot` loses the `@our_bot`.
- A message in a group: only when it is addressed to the assistant — a command (not one for another bot), a mention
  of the bot (taken out of the text), or a reply to one of the bot's own messages. Not private: the core sends
  anything sensitive to the person's private chat. In a forum topic, the topic is the thread answered in.
- A callback query (an inline keyboard button pressed): its `callback_data` is the payload, the button's label the
  text, the pressed message's reference the source (a reply that replaces it edits that message). Every callback query must be answered (the client spins until it is), also one the core never sees (a
  button on a message too old for Telegram to show us).
- Messages from bots or from a channel (no sender), and messages without text, are left alone.

The sender's `language_code` goes with each update (the core's language for someone not known yet). The inbox key
is the update's `update_id`: a delivery of the same update again is the same row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import CallbackQuery, Chat, Message, MessageEntity, Update

from bot.channels.telegram.client import PLATFORM, Me, message_reference
from bot.messages import Incoming

ALLOWED_UPDATES = ("message", "callback_query")
"""The update types asked for (getUpdates, setWebhook): nothing else reaches the bot."""


@dataclass(frozen=True)
class Inbound:
    """One update, read: the inbox key, the `Incoming` for the core (None: nothing to answer), and the callback
    query to answer, if it was one."""

    key: str
    incoming: Incoming | None
    callback_query_id: str | None = None


def read(update: Update, me: Me) -> Inbound:
    key = str(update.update_id)
    if update.callback_query is not None:
        return Inbound(key, _pressed(update.callback_query), update.callback_query.id)
    if update.message is not None:
        return Inbound(key, _written(update.message, me))
    return Inbound(key, None)


def _thread(message: Message) -> str | None:
    return str(message.message_thread_id) if message.is_topic_message and message.message_thread_id else None


def _written(message: Message, me: Me) -> Incoming | None:
    sender = message.from_user
    if sender is None or sender.is_bot:
        return None
    if message.text is not None:
        text, entities = message.text, message.parse_entities()
    elif message.caption is not None:
        text, entities = message.caption, message.parse_caption_entities()
    else:
        return None
    private = message.chat.type == Chat.PRIVATE
    command = next((part for entity, part in entities.items() if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0), None)
    if command is not None:
        name, _, addressee = command.partition("@")
        if addressee and addressee.lower() != me.username.lower():
            return None  # `/help@another_bot`
        text = name + text[len(command):]
    elif not private:
        mentioned = any(
            (entity.type == MessageEntity.MENTION and part.lower() == f"@{me.username.lower()}")
            or (entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == me.id)
            for entity, part in entities.items()
        )
        replied = message.reply_to_message is not None and message.reply_to_message.from_user is not None and (
            message.reply_to_message.from_user.id == me.id
        )
        if not (mentioned or replied):
            return None
        text = re.sub(rf"@{re.escape(me.username)}\b", " ", text, flags=re.IGNORECASE).strip()
    return Incoming(
        PLATFORM, str(message.chat.id), str(sender.id), private=private, text=text, thread_id=_thread(message),
        language=sender.language_code,
    )


def _pressed(query: CallbackQuery) -> Incoming | None:
    message = query.message
    if message is None or not query.data or query.from_user.is_bot:
        return None  # an inline-mode message or a game: nothing of ours
    label = ""
    if isinstance(message, Message):
        markup = message.reply_markup
        rows = markup.inline_keyboard if markup is not None else ()
        label = next((button.text for row in rows for button in row if button.callback_data == query.data), "")
    return Incoming(
        PLATFORM, str(message.chat.id), str(query.from_user.id), private=message.chat.type == Chat.PRIVATE, text=label,
        payload=query.data, thread_id=_thread(message) if isinstance(message, Message) else None,
        language=query.from_user.language_code, source=message_reference(message.chat.id, message.message_id),
    )
