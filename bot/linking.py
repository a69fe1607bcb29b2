"""Linking a chat account, for the channels (which never touch the database themselves): with a one-time code,
or — on a platform that knows its users' company email (Slack) — by that email.

The Telegram adapter turns `/start CODE` (a deep link `t.me/<bot>?start=CODE`) and `/link CODE` into
`await linker.link(incoming, code)`; a Slack adapter can do the same with `link CODE` in a direct message.
`link_code_in(text)` recognises those commands. The answer is one reply in the person's language: a welcome, or
why the code didn't work.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from actions.i18n import LANGUAGES, Translator, catalogue
from actions.replies import Reply
from actions.smalltalk import first_name
from bot.messages import Incoming
from storage import linking, people
from storage.base import utcnow
from storage.database import Database
from storage.errors import DomainError
from storage.people import ChatIdentity, Platform

log = logging.getLogger(__name__)

_COMMAND = re.compile(r"^\s*/?(?:start|link)(?:@\w+)?\s+(?P<code>[A-Za-z0-9]{5}[ -]?[A-Za-z0-9]{5})\s*$", re.IGNORECASE)
"""Shaped like a code (five and five letters or digits), so "link my telegram" is left to the NLU."""

PLATFORM_NAMES = {Platform.TELEGRAM.value: "Telegram", Platform.SLACK.value: "Slack", Platform.CONSOLE.value: "console"}


def link_code_in(text: str) -> str | None:
    """The code of a `/start CODE`, `/link CODE` or `link CODE` message (also `/link@bot CODE`), else None."""
    found = _COMMAND.match(text)
    if found is None or linking.normalise(found.group("code")) is None:
        return None
    return found.group("code")


class ByEmail(enum.Enum):
    LINKED = "linked"
    UNKNOWN = "unknown"
    """No active employee has the email."""
    TAKEN = "taken"
    """The employee with the email is linked to another account on the platform."""


class Linker:
    def __init__(self, database: Database, *, clock: Callable[[], datetime] = utcnow, default_language: str = "en") -> None:
        self.database = database
        self.clock = clock
        self.default_language = default_language

    async def link(self, incoming: Incoming, code: str, *, team_id: str | None = None, language: str | None = None) -> Reply:
        """Link the sender's account (incoming.platform, incoming.user_id) with the code; a private chat is
        remembered as the person's private address. `language`: the platform's hint (Telegram's
        language_code) for a refusal, which goes to someone not known yet."""
        try:
            async with self.database.transaction() as session:
                linked = await linking.redeem(
                    session,
                    code,
                    incoming.platform,
                    incoming.user_id,
                    team_id=team_id,
                    private_address=incoming.chat_id if incoming.private else None,
                    now=incoming.at or self.clock(),
                )
                employee = linked.employee
                t = Translator(employee.language)
                key = "linking.already_linked" if linked.already else "linking.linked"
                reply = Reply(t(key, name=first_name(employee), platform=PLATFORM_NAMES.get(incoming.platform, incoming.platform)))
        except DomainError as error:
            # The code itself is never logged: it is a credential for the next quarter of an hour.
            log.info("link refused on %s: %s", incoming.platform, error.code)
            return Reply(self._refusal(error, language))
        log.info("linked a %s account to employee %s", incoming.platform, employee.id)
        return reply

    async def knows(self, incoming: Incoming) -> bool:
        """Whether the sender's account is linked to an employee (active or not). Asked of every Slack message, so
        one indexed lookup of the account, no employee loaded."""
        async with self.database.reading() as session:
            found = await session.scalar(
                select(ChatIdentity.id).where(
                    ChatIdentity.platform == Platform(incoming.platform), ChatIdentity.external_id == incoming.user_id
                )
            )
            return found is not None

    async def link_by_email(self, incoming: Incoming, email: str) -> ByEmail:
        """Link the sender to the active employee with this email, as the platform vouches for it (a workspace's
        profile emails are set by its administrators). Audited like any link. Never moves a link: an employee
        already linked to another account on the platform is linked anew only by a code (or an unlink first)."""
        async with self.database.transaction() as session:
            employee = await people.find_by_email(session, email)
            if employee is None or not employee.active:
                return ByEmail.UNKNOWN
            if await people.identities_on(session, employee.id, incoming.platform):
                log.warning("a %s account shows the email of employee %s, who is linked to another: not linked", incoming.platform, employee.id)
                return ByEmail.TAKEN
            await linking.link(
                session, employee, incoming.platform, incoming.user_id, via="profile email", now=incoming.at or self.clock(),
                team_id=incoming.team_id, private_address=incoming.chat_id if incoming.private else None,
            )
        log.info("linked a %s account to employee %s by its profile email", incoming.platform, employee.id)
        return ByEmail.LINKED

    def _refusal(self, error: DomainError, language: str | None) -> str:
        hint = (language or "").split("-")[0].lower()
        t = Translator(hint if hint in LANGUAGES else self.default_language)
        key = f"error.{error.code}"
        if key not in catalogue():
            key = "error.generic"
        platform = error.params.get("platform")
        return t(key, platform=PLATFORM_NAMES.get(str(platform), str(platform))) if "platform" in error.params else t(key)
