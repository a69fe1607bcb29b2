"""Stock keepers hear about a shelf at or below its reorder level once per crossing: when it falls there (told at
once if a keeper's own chat turn issued the last items, else by this job's next sweep), not again while it stays
low, and again only after it was restocked above the level and fell once more. Each crossing is marked on the stock
level (`low_since`), in the transaction that tells the keepers, and names their messages' idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from actions.i18n import Translator
from actions.payloads import StockItemChoice, encode
from actions.replies import Button, Reply
from actions.scheduled import JobContext, Jobs, job_key
from storage import people, stock
from storage.people import Employee, Role
from storage.stock import StockLevel

jobs = Jobs()

KIND = "stock_low"


@jobs.job(KIND, every="FREQ=MINUTELY;INTERVAL=15")
async def stock_low(ctx: JobContext) -> None:
    await stock.clear_recovered(ctx.session)
    levels = await stock.unmarked_low(ctx.session)
    if not levels:
        return
    to_tell = await keepers(ctx.session)
    for level in levels:
        since = await stock.mark_low(ctx.session, level, now=ctx.now)
        if since is None:  # marked meanwhile by a chat turn, which told the keepers
            continue
        build = alert(level)
        for keeper in to_tell:
            await ctx.send(keeper, _one(build), key=alert_key(keeper, level, since))


async def keepers(session: AsyncSession) -> list[Employee]:
    """Who hears about low stock: the stock keepers, and admins."""
    found = {keeper.id: keeper for role in (Role.STOCK_KEEPER, Role.ADMIN) for keeper in await people.with_role(session, role)}
    return list(found.values())


def alert_key(keeper: Employee, level: StockLevel, since: datetime) -> str:
    return job_key(KIND, keeper, since, level.id)


def _one(build: Callable[[Translator], Reply]) -> Callable[[Translator], list[Reply]]:
    return lambda t: [build(t)]


def alert(level: StockLevel) -> Callable[[Translator], Reply]:
    """The alert about `level` as it is now, in whichever language it is built for."""
    available, reorder, item, location = level.available, level.reorder_level, level.item, level.location

    def build(t: Translator) -> Reply:
        return Reply(
            t("stock.low_alert", item=item.name, location=location.name, count=t.number(available), reorder=t.number(reorder)),
            buttons=(Button(t("stock.button_show"), encode(StockItemChoice(item.id))),),
        )

    return build
