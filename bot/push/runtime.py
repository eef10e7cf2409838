"""Builds the push machinery from the app's services and settings (one place, so the CLI, the
scheduler, the benchmark and the tests wire it the same way). Every collaborator can be
injected: HTTP session, rate limiter, clock, sleep."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from bot.context import Services
from bot.push.client import EventApiClient
from bot.push.reconcile import ReconcileReport, reconcile
from bot.push.render import EventData
from bot.push.sender import Sender
from bot.push.settings import PushSettings
from bot.ratelimit import TokenBucket


def push_settings(services: Services) -> PushSettings:
    return services.push


def make_limiter(settings: PushSettings, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> TokenBucket:
    """Messages per second; room for two batches, so a slow batch is caught up without ever
    exceeding the rate over the run (the bucket starts empty)."""
    return TokenBucket(settings.rate_per_sec, capacity=2 * settings.batch_size, clock=clock, sleep=sleep)


@dataclass
class Push:
    services: Services
    settings: PushSettings
    client: EventApiClient
    limiter: TokenBucket

    def sender(self, **kw) -> Sender:
        return Sender(self.services.db, self.client, self.limiter, self.settings, clock=self.services.clock,
                      default_bot_id=self.services.event_api.bot_id or "",
                      event_data=EventData(self.services.db, operator=self.services.settings.operator_name,
                                           contact=self.services.settings.call_centre), **kw)

    def reconcile(self, limit: int = 200) -> ReconcileReport:
        return reconcile(self.services.db, self.client, clock=self.services.clock, settings=self.settings, limit=limit)


def build_push(services: Services, *, session: requests.Session | None = None, limiter: TokenBucket | None = None,
               settings: PushSettings | None = None) -> Push:
    ps = settings or services.push
    api = services.event_api
    client = EventApiClient(
        api.api_base, api.rest_api_key,
        session=session, connect_timeout=ps.connect_timeout_sec, read_timeout=ps.read_timeout_sec,
        task_path=ps.event_task_path, app_user_type=ps.event_app_user_type)
    return Push(services, ps, client, limiter or make_limiter(ps))


def build_scheduler(services: Services, *, session: requests.Session | None = None):
    from bot.scheduler.clock import SchedulerClock

    push = build_push(services, session=session)
    return SchedulerClock(services.db, services.clock, push.settings, make_sender=push.sender,
                          reconcile=push.reconcile if push.client.configured else None)
