"""Prometheus metrics of the bot: one `BotMetrics` per web app, fed by the BotApp observers.

Each app gets its own `CollectorRegistry` (tests build several apps in one process). What is
counted in the process (skill turns, dialog events) is kept in counters and a histogram; what
lives in the database (the outbox by state, pushes sent and failed) is read at scrape time by a
custom collector, so every web process reports the same truth whichever of them is scraped and
the scheduler process (which sends the pushes) needs no metrics endpoint of its own.

With several gunicorn workers, set PROMETHEUS_MULTIPROC_DIR to an empty directory: the
in-process metrics are then aggregated over all workers (prometheus_client multiprocess mode).
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from core.db import Database
from core.models.outbox import OUTBOX_STATES, Notification

log = logging.getLogger("cpoint.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Skill latency buckets around the 5-second Kakao deadline.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0)

# Dialog events that mean the citizen finished, and those that mean they gave up (or were
# given up on): the names the dialogs, the router and BotApp emit. Other events (started,
# step names...) are counted only in the generic events counter.
COMPLETED_EVENTS = frozenset({"completed"})
ABANDONED_EVENTS = frozenset({"cancelled", "expired"})

# Outbox states that count as "pushes failed" for the counter read from the database.
FAILED_STATES = ("dead", "uncertain")


class OutboxCollector(Collector):
    """Reads the notification outbox at scrape time: depth by state and kind, the age of the
    oldest due message, and pushes sent / failed (monotonic while rows are kept)."""

    def __init__(self, db: Database, now: Callable[[], float] | None = None) -> None:
        self.db = db
        self._now = now

    def describe(self):  # no DB access at registration time
        return []

    def collect(self) -> Iterable:
        depth = GaugeMetricFamily(
            "cpoint_outbox_notifications", "Notifications in the outbox by state and kind.",
            labels=["state", "kind"])
        sent = CounterMetricFamily(
            "cpoint_pushes_sent", "Pushes accepted by the Event API (outbox rows in state sent).",
            labels=["kind"])
        failed = CounterMetricFamily(
            "cpoint_pushes_failed",
            "Pushes that failed for good (outbox rows dead or uncertain).", labels=["kind", "state"])
        attempts = CounterMetricFamily(
            "cpoint_push_attempts", "Send attempts recorded on outbox rows (retries included).",
            labels=["kind"])
        oldest = GaugeMetricFamily(
            "cpoint_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending notification (0 when none is pending).")
        up = GaugeMetricFamily("cpoint_outbox_scrape_ok", "1 when the outbox could be read.")
        try:
            rows, oldest_created = self._read()
        except Exception as exc:  # a scrape must answer even when the database does not
            log.error("outbox metrics unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        seen_states = set()
        attempts_by_kind: dict[str, int] = {}
        for state, kind, count, tries in rows:
            seen_states.add(state)
            depth.add_metric([state, kind], count)
            attempts_by_kind[kind] = attempts_by_kind.get(kind, 0) + int(tries or 0)
            if state == "sent":
                sent.add_metric([kind], count)
            elif state in FAILED_STATES:
                failed.add_metric([kind, state], count)
        for state in OUTBOX_STATES:  # every state present, even at zero, for stable dashboards
            if state not in seen_states:
                depth.add_metric([state, ""], 0)
        for kind, tries in sorted(attempts_by_kind.items()):
            attempts.add_metric([kind], tries)
        now = self._now() if self._now else time.time()
        oldest.add_metric([], max(0.0, now - oldest_created) if oldest_created is not None else 0.0)
        up.add_metric([], 1)
        yield from (depth, sent, failed, attempts, oldest, up)

    def _read(self):

        with self.db.session() as s:
            rows = s.execute(
                select(Notification.state, Notification.kind, func.count(), func.sum(Notification.attempts))
                .group_by(Notification.state, Notification.kind)
                .order_by(Notification.state, Notification.kind)
            ).all()
            first = s.execute(
                select(func.min(Notification.created_at)).where(Notification.state == "pending")
            ).scalar()
        oldest = first.replace(tzinfo=UTC).timestamp() if first is not None else None
        return rows, oldest


class BotMetrics:
    """The metrics of one app. `observe(bot_app)` hooks it to a BotApp's observers."""

    def __init__(self, db: Database | None = None, *, clock=None, multiprocess_dir: str | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        # In multiprocess mode the live metrics write to files and are not registered anywhere:
        # the scrape registry reads the files of every worker instead.
        self._live = None if multiprocess_dir else CollectorRegistry(auto_describe=True)
        self.registry = self._live or CollectorRegistry()
        if multiprocess_dir:
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(self.registry, path=multiprocess_dir)
        reg = self._live
        self.skill_requests = Counter(
            "cpoint_skill_requests", "Skill turns handled, by skill and outcome.",
            ["skill", "outcome"], registry=reg)
        self.skill_latency = Histogram(
            "cpoint_skill_request_seconds", "Time to answer a skill turn, by skill and outcome.",
            ["skill", "outcome"], buckets=LATENCY_BUCKETS, registry=reg)
        self._turn_children: dict[tuple[str, str], tuple] = {}
        self.dialog_events = Counter(
            "cpoint_dialog_events", "Dialog events (started, completed, cancelled, expired, ...).",
            ["dialog", "event"], registry=reg)
        self.dialog_completions = Counter(
            "cpoint_dialog_completions", "Dialogs the citizen finished.", ["dialog"], registry=reg)
        self.dialog_abandonments = Counter(
            "cpoint_dialog_abandonments", "Dialogs given up: cancelled, expired or failed.",
            ["dialog", "reason"], registry=reg)
        if db is not None:
            now = (lambda: clock.now().timestamp()) if clock is not None else None
            self.registry.register(OutboxCollector(db, now))

    # -- observers ------------------------------------------------------------
    def on_turn(self, skill: str, outcome: str, seconds: float) -> None:
        key = (skill or "unknown", outcome or "unknown")
        children = self._turn_children.get(key)
        if children is None:  # labels() takes a lock and builds a key on every call
            children = self._turn_children[key] = (
                self.skill_requests.labels(*key), self.skill_latency.labels(*key))
        children[0].inc()
        children[1].observe(max(0.0, seconds))

    def on_dialog(self, dialog: str, event: str) -> None:
        dialog, event = dialog or "unknown", event or "unknown"
        self.dialog_events.labels(dialog, event).inc()
        if event in COMPLETED_EVENTS:
            self.dialog_completions.labels(dialog).inc()
        elif event in ABANDONED_EVENTS:
            self.dialog_abandonments.labels(dialog, event).inc()

    def observe(self, bot_app) -> BotMetrics:
        """Attach to a BotApp (idempotent)."""
        if self.on_turn not in bot_app.observers.on_turn:
            bot_app.observers.on_turn.append(self.on_turn)
        if self.on_dialog not in bot_app.observers.on_dialog:
            bot_app.observers.on_dialog.append(self.on_dialog)
        return self

    def exposition(self) -> bytes:
        """The Prometheus text format of everything in the registry."""
        return generate_latest(self.registry)


def multiprocess_dir_from_env() -> str | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")
    return path if path and os.path.isdir(path) else None
