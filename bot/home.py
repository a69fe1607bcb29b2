"""The person's home page, where a platform has one (Slack's App Home): the core's side of it.

What comes in. Three kinds of update ask for the page: the person opened it (the channel stores a `home:show`
update), they pressed one of its buttons (`home:approve:<id>`, `home:reject:<id>`), or the core wants it
republished because their data changed (below). All are `Incoming`s like any other, run through the inbox, the
router and the dialogue; actions/home.py composes the page. Their chat id is the person's user id — a home page
is no chat, and one key per person keeps their page's updates in order in the inbox (one chat's updates run one at
a time, oldest first), so an older page can't be published over a newer one.

Where the answer goes. Every reply to a home update goes to the home page (`Destination.HOME`): the page, and just
as well an apology or "who are you?", since there is no chat to answer in. The router publishes the last one (a
page shows one state) when the channel is a `HomeTab`, and drops it elsewhere.

Keeping it fresh. A page goes stale when the person's data changes, which happens in two places:
- a turn of theirs that changed something — every such turn (a leave request filed or withdrawn, a decision, a
  ticket raised or closed) also tells someone, i.e. queues an outbox message (`Turn.queued`);
- a notification delivered to them (a new request to decide, a decision, a ticket update).
In both, the core stores a `home:show` update for the person in the inbox, in the same transaction as the change
(the turn's) or as the record of the delivery — so a crash can't lose the refresh, a retried turn or delivery
can't make a second one (its key derives from the turn's event id or the outbox message's id), and the refresh
runs like any other update: retried, in order, on whichever replica runs the platform. Simpler alternatives lose
something: publishing from the router after the turn loses the refresh when the process dies in between, and
publishing from the delivery worker would compose pages outside the dialogue. The price is one more inbox row and
turn per change, only on platforms with a home page. A change that tells nobody (a request filed when there is no
one to decide it) waits for the next time the person opens the page, which always republishes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from actions.payloads import HOME_FAMILIES, ShowHome, decode, encode
from bot.messages import Destination, Incoming, Outgoing, Turn
from storage import inbox

SHOW = encode(ShowHome())


def update(platform: str, user_id: str, *, payload: str = SHOW, text: str = "", team_id: str | None = None) -> Incoming:
    """An update from (or for) the person's home page: open it (the default) or a press of one of its buttons. Not
    `private`: the page is no chat, so it must not be remembered as the person's private chat (the page is shown to
    them alone all the same)."""
    return Incoming(platform, user_id, user_id, private=False, text=text, payload=payload, team_id=team_id)


def is_home_update(incoming: Incoming) -> bool:
    """Whether the update is answered on the home page (its payload is of the `home` family)."""
    return incoming.payload is not None and isinstance(decode(incoming.payload), HOME_FAMILIES)


def answered_on_home(turn: Turn) -> Turn:
    """The turn with every reply sent to the home page (see the module's notes)."""
    return replace(turn, outgoing=tuple(Outgoing(outgoing.reply, Destination.HOME) for outgoing in turn.outgoing))


def _key(cause: str) -> str:
    key = f"home:{cause}"
    return key if len(key) <= inbox.MAX_KEY else f"home:{hashlib.sha256(cause.encode()).hexdigest()}"


async def refresh_later(session: AsyncSession, *, platform: str, user_id: str, cause: str, now: datetime) -> bool:
    """Store a `home:show` update for the person in the inbox, in the caller's transaction; `cause` names what
    changed (a turn's event id, an outbox message) so doing it again stores nothing. True if stored."""
    key = _key(cause)
    incoming = replace(update(platform, user_id), event_id=key, at=now)
    return await inbox.accept(session, platform=platform, key=key, chat_id=user_id, incoming=incoming.to_dict(), now=now)
