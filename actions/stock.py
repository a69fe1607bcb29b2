"""Office supplies in chat: what's on the shelves and where, what's running low (stock keepers), and stock keepers
recording what came in and went out ("received 20 A4 paper in room 1", "issued 3 hdmi cables")."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from functools import cache, reduce
from itertools import pairwise
from typing import Any

from sqlalchemy import select

from actions import stock_alerts
from actions.context import ActionContext
from actions.forms import Form, SlotError, choice_button
from actions.i18n import Keywords, keyword_table, words_of
from actions.payloads import StockItemChoice, encode
from actions.registry import Routes
from actions.replies import Button, Table
from actions.stock_search import find_item, label_words, search_items
from storage import people, stock
from storage.errors import DomainError, InvalidRequest, NotFound
from storage.people import Role
from storage.stock import MovementKind, StockItem, StockLevel, StockLocation

routes = Routes()

MAX_SUGGESTIONS = 4
MAX_CHOICES = 6
FULL_LABEL_SCORE = 10
NUMBERED_ROOM_SCORE = 5


# --- reading the message -----------------------------------------------------------------------------------------


def movement_in(text: str) -> MovementKind | None:
    """'received', 'пришло', 'keldi' → in; 'issued', 'выдал', 'berdim' → out; both or neither → not a movement."""
    words = words_of(text)
    came_in = keyword_table("stock.keywords.in").count(words) > 0
    went_out = keyword_table("stock.keywords.out").count(words) > 0
    if came_in == went_out:
        return None
    return MovementKind.IN if came_in else MovementKind.OUT


def asks_low_stock(text: str) -> bool:
    return keyword_table("stock.keywords.low").count(words_of(text)) > 0


@cache
def _noise() -> Keywords:
    """Words that never name an item: common words and the movement and low-stock words."""
    tables = ("common", "in", "out", "low")
    return reduce(operator.or_, (keyword_table(f"stock.keywords.{table}") for table in tables))


def item_query(text: str, location: StockLocation | None = None) -> str:
    """The text minus common words, numbers, movement words and the location: what's left names the item."""
    place = set(words_of(f"{location.code} {location.name}")) if location else set()
    kept = [word for word in words_of(text) if not word.isdigit() and word not in place and not _noise().matches(word)]
    return " ".join(kept)


def location_in(text: str, locations: Sequence[StockLocation]) -> StockLocation | None:
    """The one location named in the text ("SR-2", "supply room 2", "room 2", "warehouse"), if exactly one is."""
    words = label_words(text)
    scored: dict[int, int] = {}
    for location in locations:
        best = max(_label_score(words, label_words(label)) for label in (location.code, location.name))
        if best:
            scored[location.id] = best
    if not scored:
        return None
    top = max(scored.values())
    winners = [location for location in locations if scored.get(location.id) == top]
    return winners[0] if len(winners) == 1 else None


def _label_score(words: tuple[str, ...], label: tuple[str, ...]) -> int:
    if not label:
        return 0
    size = len(label)
    if any(words[start : start + size] == label for start in range(len(words) - size + 1)):
        return FULL_LABEL_SCORE * size
    # "room 2" names "Supply room 2": a numbered label matches by its number and the word before it.
    for before, number in pairwise(label):
        if number.isdigit() and any(words[i] == before and words[i + 1] == number for i in range(len(words) - 1)):
            return NUMBERED_ROOM_SCORE
    return 0


def _quantity(ctx: ActionContext) -> int | None:
    for value in ctx.message.values("quantity"):
        try:
            return int(str(value))
        except ValueError:
            continue
    return None


def _is_keeper(ctx: ActionContext) -> bool:
    return ctx.employee.has_role(Role.STOCK_KEEPER, Role.ADMIN)


async def _locations(ctx: ActionContext) -> list[StockLocation]:
    return list(await ctx.session.scalars(select(StockLocation).order_by(StockLocation.code)))


# --- the intent -------------------------------------------------------------------------------------------------


@routes.intent("stock_query")
async def stock_query(ctx: ActionContext) -> None:
    try:
        async with ctx.session.begin_nested():
            await _answer(ctx)
    except DomainError as error:
        explain(ctx, error)


def explain(ctx: ActionContext, error: DomainError) -> None:
    if error.code == "role_required":
        ctx.say("stock.keepers_only")
    else:
        ctx.say_error(error)


async def _answer(ctx: ActionContext) -> None:
    text = ctx.message.text
    direction = movement_in(text)
    quantity = _quantity(ctx)
    if direction is not None and quantity is not None:
        await _record(ctx, direction, quantity)
        return
    named = ctx.message.values("item")
    if not named and asks_low_stock(text):
        await _low_stock(ctx)
        return
    locations = await _locations(ctx)
    location = location_in(text, locations)
    item = await _resolve_item(ctx, named, location)
    if item is not None:
        await _show_levels(ctx, item, location)


async def _resolve_item(ctx: ActionContext, named: list[Any], location: StockLocation | None) -> StockItem | None:
    """The item the message names (the NLU's item, else the leftover words), or None after saying 'did you mean'."""
    query = str(named[0]) if named else item_query(ctx.message.text, location)
    if not query.strip():
        ctx.say("stock.which_item")
        return None
    try:
        return await find_item(ctx.session, query)
    except NotFound:
        if named:
            leftover = item_query(ctx.message.text, location)
            if leftover and leftover != query:
                try:
                    return await find_item(ctx.session, leftover)
                except NotFound:
                    pass
    matches = await search_items(ctx.session, query, limit=MAX_SUGGESTIONS)
    if not matches:
        ctx.say("stock.unknown_item", query=query)
        return None
    buttons = [Button(match.item.name, encode(StockItemChoice(match.item.id))) for match in matches]
    ctx.say("stock.did_you_mean", query=query, buttons=buttons)
    return None


async def _show_levels(ctx: ActionContext, item: StockItem, location: StockLocation | None) -> None:
    levels = await stock.levels_of(ctx.session, item)
    t = ctx.t
    if location is not None:
        here = next((level.available for level in levels if level.location_id == location.id), 0)
        ctx.say("stock.level_at" if here else "stock.none_at", item=item.name, location=location.name, count=t.number(here))
        return
    rows = tuple((level.location.name, t.number(level.available)) for level in levels if level.available > 0)
    if not rows:
        ctx.say("stock.none_left", item=item.name)
        return
    total = sum(level.available for level in levels)
    table = Table((t("stock.column_location"), t("stock.column_available")), rows)
    ctx.say("stock.levels", item=item.name, count=t.number(total), blocks=(table,))


async def _low_stock(ctx: ActionContext) -> None:
    if not _is_keeper(ctx):
        ctx.say("stock.low_ask_keeper")
        return
    levels = await stock.low_stock(ctx.session)
    if not levels:
        ctx.say("stock.low_none")
        return
    t = ctx.t
    rows = tuple(
        (level.item.name, level.location.name, t.number(level.available), t.number(level.reorder_level)) for level in levels
    )
    header = (t("stock.column_item"), t("stock.column_location"), t("stock.column_available"), t("stock.column_reorder"))
    ctx.say("stock.low_list", count=len(levels), blocks=(Table(header, rows),))


# --- recording movements ---------------------------------------------------------------------------------------


async def _record(ctx: ActionContext, direction: MovementKind, quantity: int) -> None:
    # The same rule storage applies on receive/issue, asked first so a non-keeper isn't walked through choices.
    people.require_role(ctx.employee, Role.STOCK_KEEPER, action="record stock")
    named = ctx.message.values("item")
    if len(set(map(str, named))) > 1:
        ctx.say("stock.one_at_a_time")
        return
    locations = await _locations(ctx)
    location = location_in(ctx.message.text, locations)
    item = await _resolve_item(ctx, named, location)
    if item is None:
        return
    if location is None:
        candidates = await _candidate_locations(ctx, item, direction, locations)
        if not candidates:
            ctx.say("stock.none_left", item=item.name)
            return
        if len(candidates) > 1:
            ctx.start_form(
                StockMovementForm.name,
                kind=direction.value,
                item_id=item.id,
                item_name=item.name,
                quantity=quantity,
                reason=ctx.message.text[:500],
                choices=[[candidate.id, candidate.name] for candidate in candidates[:MAX_CHOICES]],
            )
            return
        location = candidates[0]
    await _move(ctx, direction, item, location, quantity, reason=ctx.message.text)


async def _candidate_locations(
    ctx: ActionContext, item: StockItem, direction: MovementKind, locations: list[StockLocation]
) -> list[StockLocation]:
    """Where this movement can happen: the shelves holding the item (any, when new stock has no shelf yet)."""
    levels = await stock.levels_of(ctx.session, item)
    if direction is MovementKind.OUT:
        return [level.location for level in levels if level.available > 0]
    holding = [level.location for level in levels if level.quantity > 0] or [level.location for level in levels]
    return holding or locations


async def _move(
    ctx: ActionContext, direction: MovementKind, item: StockItem, location: StockLocation, quantity: int, *, reason: str
) -> None:
    record = stock.receive if direction is MovementKind.IN else stock.issue
    level = await record(ctx.session, ctx.employee, item, location, quantity, reason=reason, now=ctx.now)
    ctx.say(
        "stock.received" if direction is MovementKind.IN else "stock.issued",
        item=item.name,
        quantity=ctx.t.number(quantity),
        location=location.name,
        count=ctx.t.number(level.available),
    )
    if direction is MovementKind.OUT and level.low:
        await _alert_keepers(ctx, level)


async def _alert_keepers(ctx: ActionContext, level: StockLevel) -> None:
    """The shelf just reached its reorder level: the keepers are told now, once per crossing (the scheduled check in
    actions/stock_alerts.py tells them of crossings no chat turn saw, under the same key)."""
    since = await stock.mark_low(ctx.session, level, now=ctx.now)
    if since is None:  # low already, and told then
        return
    build = stock_alerts.alert(level)
    for keeper in await stock_alerts.keepers(ctx.session):
        await ctx.notify(keeper, build, idempotency_key=stock_alerts.alert_key(keeper, level, since), due_at=ctx.now)


class StockMovementForm(Form):
    """Started by a movement whose location isn't clear: which shelf, then a yes/no before recording."""

    name = "stock_movement"
    required = ("location",)
    needs_prefill = True

    def extract(self, ctx: ActionContext, awaiting: str | None) -> dict[str, Any]:
        if awaiting != "location":
            return {}
        words = set(label_words(ctx.message.text))
        for location_id, location_name in ctx.slots.get("choices", []):
            if set(label_words(location_name)) <= words:
                return {"location": location_id}
        return {}

    async def check(self, ctx: ActionContext) -> None:
        chosen = ctx.slots.get("location")
        if chosen is None:
            return
        allowed = {str(location_id) for location_id, _ in ctx.slots.get("choices", [])}
        if str(chosen) not in allowed:
            raise SlotError(("location",), InvalidRequest("Pick one of the locations offered.", code="location_not_found", location=str(chosen)))

    def ask(self, ctx: ActionContext, slot: str) -> None:
        buttons = [choice_button(self, "location", location_id, name) for location_id, name in ctx.slots.get("choices", [])]
        ctx.say("stock.ask_location", item=ctx.slots["item_name"], buttons=buttons)

    async def confirm(self, ctx: ActionContext) -> None:
        names = {str(location_id): name for location_id, name in ctx.slots.get("choices", [])}
        key = "stock.confirm_in" if ctx.slots["kind"] == MovementKind.IN.value else "stock.confirm_out"
        ctx.say(key, item=ctx.slots["item_name"], quantity=ctx.t.number(int(ctx.slots["quantity"])), location=names[str(ctx.slots["location"])])

    async def submit(self, ctx: ActionContext) -> None:
        item = await ctx.session.get(StockItem, int(ctx.slots["item_id"]))
        location = await ctx.session.get(StockLocation, int(ctx.slots["location"]))
        if item is None or location is None:
            raise NotFound("That item or location no longer exists.", code="item_not_found", query=ctx.slots["item_name"], suggestions=[])
        await _move(ctx, MovementKind(ctx.slots["kind"]), item, location, int(ctx.slots["quantity"]), reason=str(ctx.slots.get("reason", "")))


routes.form(StockMovementForm())


@routes.button(StockItemChoice)
async def stock_button(ctx: ActionContext, press: StockItemChoice) -> None:
    """stock:show:<item id> — a 'did you mean' suggestion or a low-stock alert."""
    item = await ctx.session.get(StockItem, press.item_id)
    if item is None:
        ctx.say_stale_button()
        return
    await _show_levels(ctx, item, None)
