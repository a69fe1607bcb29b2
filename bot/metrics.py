"""What the service exposes at GET /metrics (Prometheus), kept in a registry of its own (no global state).

The router reports each turn (`observe_turn`, its `on_turn` hook) and the delivery worker each failed send
(`record_delivery_failure`, its `on_failure` hook); the outbox depth is set from the database just before each scrape (bot/service.py), so it is never stale.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector, ProcessCollector

from bot.messages import Turn

TURN_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""The README's target is p99 < 50 ms; buckets are dense around it."""


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.messages = Counter(
            "backoffice_messages",
            "Messages the assistant answered, by channel, understood intent and language.",
            ["channel", "intent", "language"],
            registry=self.registry,
        )
        self.turn_seconds = Histogram(
            "backoffice_turn_seconds",
            "Time from receiving a message to having its replies, by channel.",
            ["channel"],
            buckets=TURN_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.outbox_messages = Gauge(
            "backoffice_outbox_messages",
            "Outbox messages waiting to be delivered (pending) or given up on (dead), at scrape time.",
            ["state"],
            registry=self.registry,
        )
        self.delivery_failures = Counter(
            "backoffice_delivery_failures",
            "Failed sends or edits, by platform and kind (transient: retried later; permanent: chat unreachable; dead: given up).",
            ["platform", "kind"],
            registry=self.registry,
        )

    def record_turn(self, channel: str, intent: str, language: str, seconds: float) -> None:
        """One message answered on `channel`, understood as `intent` in `language`, in `seconds`."""
        self.messages.labels(channel=channel, intent=intent or "none", language=language or "none").inc()
        self.turn_seconds.labels(channel=channel).observe(seconds)

    def observe_turn(self, platform: str, turn: Turn, seconds: float) -> None:
        """The router's `on_turn` hook: a failed turn counts as intent "error", a retried delivery answered from
        its stored replies as "replayed", a message from someone not linked as "unlinked"."""
        intent = "error" if turn.error_id else "replayed" if turn.replayed else turn.intent or "unlinked"
        self.record_turn(platform, intent, turn.language, seconds)

    def record_delivery_failure(self, platform: str, kind: str) -> None:
        """A send or edit to `platform` failed; `kind` is "transient" (retried later), "permanent" (that chat is
        unreachable) or "dead" (the message was given up on). The delivery worker's `on_failure` hook."""
        self.delivery_failures.labels(platform=platform, kind=kind).inc()

    def set_outbox_depth(self, pending: int, dead: int) -> None:
        self.outbox_messages.labels(state="pending").set(pending)
        self.outbox_messages.labels(state="dead").set(dead)
