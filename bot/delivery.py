"""Delivering the outbox: each channel passes a sender; failures are retried later with back-off."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from actions.replies import Reply
from storage import outbox
from storage.base import utcnow
from storage.database import Database
from storage.people import Employee

log = logging.getLogger(__name__)

Sender = Callable[[Employee, Reply], Awaitable[None]]
"""Sends a reply to a person on one channel; raises if it could not."""


async def deliver_due(database: Database, send: Sender, *, now: datetime | None = None, limit: int = 50) -> int:
    """Send what is due; returns how many were delivered."""
    at = now or utcnow()
    async with database.transaction() as session:
        claimed = [(message.id, message.recipient_id, message.payload) for message in await outbox.claim_due(session, now=at, limit=limit)]
    delivered = 0
    for message_id, recipient_id, payload in claimed:
        async with database.transaction() as session:
            recipient = await session.get(Employee, recipient_id)
            try:
                if recipient is None:
                    raise LookupError(f"recipient {recipient_id} no longer exists")
                await send(recipient, Reply.from_dict(payload))
            except Exception as error:  # any channel failure: keep the message and retry later
                log.warning("delivery of outbox message %s failed: %s", message_id, type(error).__name__)
                await outbox.mark_failed(session, message_id, f"{type(error).__name__}: {error}", now=at)
            else:
                await outbox.mark_delivered(session, message_id, now=at)
                delivered += 1
    return delivered
