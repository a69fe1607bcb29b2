"""What the outbox delivery worker and the inbox worker share: rounds of leased work until told to stop.

A worker claims a small batch under its name (a lease), works on it, records the results, and sleeps until the
next poll or a `wake()` (something was just queued). A failed round (the database unreachable, say) is logged and
retried after a growing pause; it never ends the loop. A round may leave work running in the background (the
inbox worker keeps updates in flight across rounds): on stop that work finishes first (`_settle`), or is cancelled
with the worker. Then the claims still held are given back so another worker can take them at once instead of
waiting for the leases to run out. That last part (`ClaimingWorker`) is also the scheduler's, whose rounds
APScheduler times instead (bot/scheduler.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from abc import ABC, abstractmethod
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from storage.database import Database

log = logging.getLogger(__name__)

MAX_PAUSE_AFTER_FAILURES = 60.0


def worker_name() -> str:
    """A name for the claims of one worker in one process on one host (at most 40 characters)."""
    return f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:40]


class ClaimingWorker(ABC):
    """A worker that holds claims (leases) under its name, and gives them back when it stops."""

    what: ClassVar[str]
    """What it works on, for the log ("outbox", "inbox")."""

    def __init__(self, database: Database, *, poll_interval: float, name: str | None) -> None:
        self.database = database
        self.poll_interval = poll_interval
        self.name = name or worker_name()
        self._stop = asyncio.Event()
        """The `stop` of the running `run`, for a round that waits (for a free slot, say) to give up when it is set."""

    async def release(self) -> None:
        """Give back every claim this worker still holds, so another worker can take that work at once."""
        try:
            async with self.database.transaction() as session:
                released = await self._release_claims(session)
        except Exception as error:  # stopping anyway: the leases run out by themselves
            log.warning("could not release %s claims (%s)", self.what, type(error).__name__)
            return
        if released:
            log.info("released %d %s claims", released, self.what)

    @abstractmethod
    async def _release_claims(self, session: AsyncSession) -> int:
        """Release this worker's claims; returns how many."""


class PollingWorker(ClaimingWorker):
    """Rounds until stopped, each after the last one's pause (the poll interval, or less after a `wake()`)."""

    def __init__(self, database: Database, *, poll_interval: float, name: str | None) -> None:
        super().__init__(database, poll_interval=poll_interval, name=name)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Start a round now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set (a round in progress and the work it left running finish first), then release
        the claims still held."""
        self._stop = stop
        failures = 0
        try:
            while not stop.is_set():
                try:
                    more = await self._round()
                except Exception as error:  # the database is unreachable, say: keep going, try again a bit later
                    failures += 1
                    log.error("%s round failed (%s); trying again", self.what, type(error).__name__)
                    await self._pause(stop, min(self.poll_interval * 2**failures, MAX_PAUSE_AFTER_FAILURES))
                    continue
                failures = 0
                if not more:
                    await self._pause(stop, self.poll_interval)
        finally:
            try:
                await self._settle()
            finally:
                await self.release()

    @abstractmethod
    async def _round(self) -> bool:
        """One round of work; True when more may be waiting right away (no pause before the next round)."""

    async def _settle(self) -> None:
        """Before the claims are released on stop: let the work the rounds left running finish, or cancel it if
        this task is cancelled meanwhile. Nothing runs past a round here by default."""
        return

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        """Sleep until the next poll, a wake-up or the stop, whichever comes first."""
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        self._wake.clear()
