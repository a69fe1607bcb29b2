"""Which stock item a piece of text means: typo-, case-, accent- and plural-tolerant matching against the
catalogue's names, SKUs and aliases (storage only reads them), folded by the NLU's one normalisation so a query and
a label compare alike however they were typed ("qelem" is "qələm", "kagiz" is "kağız")."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from sqlalchemy.ext.asyncio import AsyncSession

from nlu.normalize import words
from storage import stock
from storage.errors import NotFound
from storage.stock import StockItem

MATCH_SCORE = 85.0
SUGGEST_SCORE = 60.0
CLEAR_LEAD = 4.0
"""How far the best match must lead the runner-up to be taken without asking."""

Catalogue = tuple[tuple[int, str, str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class ItemMatch:
    item: StockItem
    score: float
    matched: str


@lru_cache(maxsize=8192)
def label_words(text: str) -> tuple[str, ...]:
    """The words an item or location label and what people type are compared by: folded (`nlu.normalize.words`,
    hyphens and apostrophes split "USB-C" into "usb", "c"), English plurals made singular."""
    return tuple(_singular(word) for word in words(text, joined=False))


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.isascii():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _comparable(text: str) -> str:
    return " ".join(label_words(text))


@lru_cache(maxsize=8192)
def _codes(comparable: str) -> frozenset[str]:
    """Words with digits in them (A4, AAA-size 2, USB3): sizes and models that must match exactly."""
    return frozenset(word for word in comparable.split() if any(ch.isdigit() for ch in word))


@lru_cache(maxsize=4)
def _labels(catalogue: Catalogue) -> tuple[dict[int, tuple[int, str]], dict[int, str]]:
    """Every (item id, label) of the catalogue by a running key, and the labels folded: computed once per
    catalogue content, since the catalogue changes far less often than people ask about it."""
    choices: dict[int, tuple[int, str]] = {}
    for item_id, name, sku, aliases in catalogue:
        for label in (name, sku, *aliases):
            choices[len(choices)] = (item_id, label)
    return choices, {key: _comparable(label) for key, (_, label) in choices.items()}


async def search_items(session: AsyncSession, query: str, *, limit: int = 5) -> list[ItemMatch]:
    """Items whose name, SKU or an alias resembles the query, best first (one entry per item)."""
    wanted = _comparable(query)
    if not wanted:
        return []
    choices, comparable = _labels(await stock.item_labels(session))
    best: dict[int, tuple[float, str]] = {}
    wanted_codes = _codes(wanted)
    for _, score, key in process.extract(wanted, comparable, scorer=fuzz.WRatio, limit=limit * 6):
        item_id, label = choices[key]
        if comparable[key] == wanted:
            score = 100.0
        elif not wanted_codes <= _codes(comparable[key]):
            # "a3 paper" is not "A4 paper": a different model code may be suggested, never taken.
            score = min(score, MATCH_SCORE - 1)
        if item_id not in best or best[item_id][0] < score:
            best[item_id] = (float(score), label)
    kept = {item_id: found for item_id, found in best.items() if found[0] >= SUGGEST_SCORE}
    if not kept:
        return []
    matches = [ItemMatch(item, *kept[item.id]) for item in await stock.items_by_id(session, kept)]
    return sorted(matches, key=lambda match: (-match.score, match.item.name))[:limit]


async def find_item(session: AsyncSession, query: str) -> StockItem:
    """The one item the query means, or NotFound carrying 'did you mean' suggestions."""
    matches = await search_items(session, query)
    if matches and matches[0].score >= MATCH_SCORE:
        clear = len(matches) == 1 or matches[0].score - matches[1].score >= CLEAR_LEAD or matches[0].score == 100
        if clear:
            return matches[0].item
    raise NotFound(
        f"I don't know an item called {query!r}.",
        code="item_ambiguous" if matches and matches[0].score >= MATCH_SCORE else "item_not_found",
        query=query,
        suggestions=[match.item.name for match in matches],
    )
