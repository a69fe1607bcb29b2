"""The one HTTP application of the service: health, readiness and metrics, plus whatever routes channels mount
(Slack's /slack/events, Telegram's /telegram/webhook).

It knows nothing about the database or the assistant: the service passes in the readiness checks and what to
refresh before a scrape, so the app is easy to test on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from prometheus_client import make_asgi_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from bot.metrics import Metrics

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_048_576
"""Chat platform updates are a few kilobytes; refuse anything bigger before reading it."""
CHECK_TIMEOUT = 3.0
"""Seconds a readiness check may take before it counts as failed (a probe must answer promptly)."""

Check = Callable[[], Awaitable[bool]]
"""A readiness check: True when that part is ready. An exception or a time-out counts as not ready."""


async def _nothing() -> None:
    return None


async def healthz(request: Request) -> JSONResponse:
    """The process is alive and its event loop answers."""
    return JSONResponse({"status": "ok"})


async def _passes(name: str, check: Check) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return await check()
    except Exception as error:  # a failing dependency means "not ready", never a 500
        log.warning("readiness check %s failed: %s", name, type(error).__name__)
        return False


class _ScrapedMetrics:
    """prometheus-client's exposition app, after refreshing the values computed at scrape time."""

    def __init__(self, metrics: Metrics, refresh: Callable[[], Awaitable[None]]) -> None:
        self.exposition = make_asgi_app(metrics.registry)
        self.refresh = refresh

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.refresh()
        except Exception as error:  # stale gauges are better than no metrics at all
            log.warning("refreshing metrics before a scrape failed: %s", type(error).__name__)
        await self.exposition(scope, receive, send)


def create_app(
    metrics: Metrics,
    readiness: Mapping[str, Check],
    *,
    before_scrape: Callable[[], Awaitable[None]] = _nothing,
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The service's Starlette app: GET /healthz, /readyz (200 when every check passes, else 503, with each
    check's result), /metrics, and the given extra routes."""

    async def readyz(request: Request) -> JSONResponse:
        results = {name: await _passes(name, check) for name, check in readiness.items()}
        ready = all(results.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": results}, status_code=200 if ready else 503)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", _ScrapedMetrics(metrics, before_scrape), methods=["GET"]),
            *routes,
        ],
        max_body_size=MAX_BODY_BYTES,
    )
