"""The outbox sender: drains due notifications through the Event API, exactly once.

One cycle: see how many are due -> wait for that many tokens (PUSH_RATE_PER_SEC, users per
second) -> claim a batch (pending -> in_flight, committed) -> POST it -> record the answer
(committed). Waiting happens before the claim, so a batch is in flight only for the POST itself;
a sender killed at any moment leaves at most that one batch uncertain, which the next sender to
start (or this one's next run) finds and handles by UNCERTAIN_POLICY.

Retries: a retryable answer (5xx, 429) puts each notification back to pending after an
exponential backoff with jitter (Retry-After respected), dead after PUSH_MAX_ATTEMPTS; the
sender itself also pauses, so a failing Event API is not hammered. No connection at all (refused,
DNS, connect timeout: the batch certainly never left) spends no attempt: the batch goes back to
pending with a next-attempt time that grows with the outage (capped at PUSH_BACKOFF_MAX_SEC), so
an outage of any length loses nothing and the messages go out once it is over.

Stopping: every wait (the rate limiter, a pause after failures, the idle poll) is cut into short
slices that look at `stop()`, so a stopping sender (SIGTERM) claims nothing more and returns
within a fraction of a second, or once the one POST under way is answered and recorded. The
claim is taken just before the POST, so nothing is ever held claimed while waiting. A 401/403 stops the run
without spending the notifications' attempts: the key or bot id must be fixed first.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from bot.push.client import EventApiClient, SendResult
from bot.push.settings import PushSettings
from bot.ratelimit import TokenBucket
from core import outbox
from core.clock import Clock
from core.db import Database

log = logging.getLogger("cpoint.push")


@dataclass
class SendReport:
    batches: int = 0
    requests: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    uncertain: int = 0
    released: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    held: int = 0
    recovered: list = field(default_factory=list)  # core.outbox.Orphan
    error: str | None = None
    seconds: float = 0.0

    @property
    def users_per_request(self) -> float:
        return self.sent / self.requests if self.requests else 0.0

    def as_dict(self) -> dict:
        return {"batches": self.batches, "requests": self.requests, "sent": self.sent, "retried": self.retried,
                "dead": self.dead, "uncertain": self.uncertain, "released": self.released,
                "skipped": dict(self.skipped), "held_for_quiet_hours": self.held,
                "recovered_batches": [o.batch_id for o in self.recovered], "error": self.error,
                "seconds": round(self.seconds, 3)}


def new_sender_id(host: str | None = None, pid: int | None = None) -> str:
    host = (host or socket.gethostname() or "host")[:40]
    return f"{host}:{pid or os.getpid()}:{uuid.uuid4().hex[:8]}"


class Sender:
    """One per process (the scheduler's outbox job, or `cpoint push`). Not thread-safe: a
    sender posts one batch at a time by design (one uncertain batch at most)."""

    def __init__(self, db: Database, client: EventApiClient, limiter: TokenBucket, settings: PushSettings, *,
                 clock: Clock, default_bot_id: str, event_data: Callable[[str, str, str | None], dict],
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None, host: str | None = None, pid: int | None = None,
                 alive: Callable[[int], bool] = outbox.pid_alive, sender_id: str | None = None,
                 kinds: Iterable[str] | None = None) -> None:
        if not default_bot_id:
            raise ValueError("KAKAO_BOT_ID is not set: the Event API path needs the bot id")
        if not client.configured:
            raise ValueError("KAKAO_REST_API_KEY is not set: the Event API cannot be called")
        self.db, self.client, self.limiter, self.settings = db, client, limiter, settings
        self.clock, self.default_bot_id, self.event_data = clock, default_bot_id, event_data
        self.sleep, self.monotonic = sleep, monotonic
        self.rng = rng or random.Random()
        self.host = (host or socket.gethostname() or "host")[:40]
        self.pid = pid or os.getpid()
        self.alive = alive
        self.id = sender_id or new_sender_id(self.host, self.pid)
        self.kinds = list(kinds) if kinds else None
        self.quiet = settings.quiet()
        self._registered = False
        self._failures = 0  # consecutive retryable failures, for the sender's own pause
        self._last_full = False  # the last claim filled a batch: skip the look before the next
        self._unrecorded: list[tuple[str, int, SendResult]] = []  # answers whose record failed

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> list:
        """Register (heartbeat row) and recover the in-flight batches of dead senders."""
        if not self._registered:
            outbox.register_sender(self.db, self.id, host=self.host, pid=self.pid, now=self.clock.now())
            self._registered = True
        return self.recover()

    def recover(self) -> list:
        found = outbox.recover_orphans(
            self.db, now=self.clock.now(), lease=timedelta(seconds=self.settings.sender_lease_sec), me=self.id,
            host=self.host, policy=self.settings.uncertain_policy, max_attempts=self.settings.max_attempts,
            alive=self.alive, my_pid=self.pid)
        for o in found:
            log.warning("in-flight batch of a dead sender marked uncertain",
                        extra={"batch": o.batch_id, "sender": o.sender_id, "users": o.users, "why": o.why,
                               "policy": self.settings.uncertain_policy})
        return found

    def close(self) -> None:
        if self._registered:
            outbox.stop_sender(self.db, self.id, now=self.clock.now())
            self._registered = False

    STOP_SLICE = 0.2  # seconds: how long a wait may go without looking at stop()

    def _wait(self, seconds: float, stop: Callable[[], bool] | None) -> bool:
        """Sleep `seconds` in slices, returning False early when `stop()` says so."""
        end = self.monotonic() + max(0.0, seconds)
        while True:
            if stop is not None and stop():
                return False
            left = end - self.monotonic()
            if left <= 0:
                return True
            self.sleep(min(left, self.STOP_SLICE) if stop is not None else left)

    # -- policy -----------------------------------------------------------------------------
    def backoff(self, attempts: int) -> float:
        """Exponential with "equal jitter": half fixed, half random, capped."""
        cap = self.settings.backoff_max_sec
        full = min(cap, self.settings.backoff_base_sec * (2 ** max(0, attempts - 1)))
        return full / 2 + self.rng.uniform(0, full / 2)

    # -- sending ----------------------------------------------------------------------------
    def run(self, *, until_empty: bool = True, deadline: float | None = None, max_batches: int | None = None,
            stop: Callable[[], bool] | None = None, idle_poll: float = 1.0) -> SendReport:
        """Send what is due. Returns when nothing is due (until_empty), at `deadline` (a
        `monotonic()` time), after `max_batches`, when `stop()` says so, or on a configuration
        error (401/403)."""
        started = self.monotonic()
        report = SendReport()
        report.recovered.extend(self.start())
        self._flush_unrecorded(report)
        while True:
            if stop is not None and stop():
                break
            if max_batches is not None and report.batches >= max_batches:
                break
            if deadline is not None and self.monotonic() >= deadline:
                break
            step = self.step(report, deadline=deadline, stop=stop)
            if report.error:
                break
            if step == "idle":
                if until_empty:
                    break
                wait = idle_poll if deadline is None else min(idle_poll, max(0.0, deadline - self.monotonic()))
                if wait <= 0:
                    break
                self._wait(wait, stop)
            elif step in ("deadline", "stopped"):
                break
        report.seconds = self.monotonic() - started
        return report

    def _acquire(self, n: int, deadline: float | None, stop: Callable[[], bool] | None) -> str | None:
        """Take `n` tokens; None when taken, else "deadline" or "stopped". With `stop`, the
        wait is cut into slices so a stop request is seen at once."""
        if stop is None:
            return None if self.limiter.acquire(n, deadline=deadline) else "deadline"
        while True:
            if stop():
                return "stopped"
            now = self.monotonic()
            if deadline is not None and now >= deadline:
                return "deadline"
            slice_end = now + self.STOP_SLICE
            if self.limiter.acquire(n, deadline=slice_end if deadline is None else min(deadline, slice_end)):
                return None
            self.sleep(max(0.0, min(self.STOP_SLICE, (deadline if deadline is not None else slice_end) - now)))

    def step(self, report: SendReport, *, deadline: float | None = None,
             stop: Callable[[], bool] | None = None) -> str:
        """One cycle. Returns idle | deadline | stopped | progress | sent."""
        s = self.settings
        if self.quiet.contains(self.clock.now()):
            # Advertising is not due inside the quiet hours: move it to their end now, so the
            # operator sees when it will go out.
            report.held += outbox.hold_quiet(self.db, self.quiet, now=self.clock.now())
        if self._last_full:
            due = s.batch_size  # the last claim was full: more is very likely waiting
        else:
            due = outbox.peek_due(self.db, now=self.clock.now(), limit=s.batch_size, quiet=self.quiet,
                                  kinds=self.kinds)
            if due == 0:
                return "idle"
        waited = self._acquire(due, deadline, stop)
        if waited is not None:
            return waited
        claim = outbox.claim_batch(self.db, sender_id=self.id, now=self.clock.now(), limit=due,
                                   default_bot_id=self.default_bot_id, quiet=self.quiet, kinds=self.kinds)
        report.held += claim.held
        for reason, n in claim.skipped.items():
            report.skipped[reason] = report.skipped.get(reason, 0) + n
        batch = claim.batch
        self.limiter.refund(due - (batch.size if batch else 0))
        self._last_full = batch is not None and batch.size == s.batch_size and claim.more
        if batch is None:
            return "progress" if claim.progressed else "idle"
        return self._post(batch, report)

    def _post(self, batch: outbox.Batch, report: SendReport) -> str:
        s = self.settings
        report.batches += 1
        try:
            data = self.event_data(batch.kind, batch.period, batch.lang)
            name = s.event_name(batch.kind)
            users = [self.client.recipient(i.recipient_type, i.recipient_id) for i in batch.items]
            self.client.body(name, data, users)  # validates: <= 100 distinct users, an event name
        except Exception as exc:  # nothing was posted: the message itself cannot be built
            n = outbox.record_dead(self.db, batch.id, error=f"message cannot be built: {type(exc).__name__}: {exc}",
                                   now=self.clock.now())
            report.dead += n
            log.error("batch dead before sending", extra={"batch": batch.id, "kind": batch.kind,
                                                          "period": batch.period, "error": str(exc)})
            return "progress"
        t0 = self.monotonic()
        try:
            result = self.client.send(batch.bot_id, name, data, users)
        except (ValueError, RuntimeError) as exc:  # raised before the request was made: nothing left
            report.released += outbox.release_batch(self.db, batch.id, error=f"not sent: {exc}", now=self.clock.now())
            report.error = f"cannot call the Event API: {exc}"
            return "progress"
        except Exception as exc:  # a bug between us and the wire: we cannot know whether it left
            result = SendResult("uncertain", error=f"send failed: {type(exc).__name__}: {exc}")
        report.requests += 1
        ms = round((self.monotonic() - t0) * 1000, 1)
        self._record(batch.id, batch.size, result, report)
        log.info("batch posted", extra={"batch": batch.id, "kind": batch.kind, "period": batch.period,
                                        "users": batch.size, "outcome": result.outcome,
                                        "http_status": result.http_status, "ms": ms, "error": result.error})
        return "sent"

    def _record(self, batch_id: str, size: int, result: SendResult, report: SendReport) -> None:
        for attempt in range(3):
            try:
                self._apply(batch_id, result, report)
                return
            except Exception:
                if attempt == 2:
                    # Keep the answer: the next run records it before sending anything else.
                    self._unrecorded.append((batch_id, size, result))
                    log.exception("could not record the answer of batch %s", batch_id)
                    raise
                self.sleep(0.5 * (attempt + 1))

    def _flush_unrecorded(self, report: SendReport) -> None:
        while self._unrecorded:
            batch_id, size, result = self._unrecorded[0]
            self._apply(batch_id, result, report)
            self._unrecorded.pop(0)

    def _apply(self, batch_id: str, result: SendResult, report: SendReport) -> None:
        s, now = self.settings, self.clock.now()
        if result.outcome == "accepted":
            check_at = now + timedelta(seconds=s.task_check_delay_sec)
            report.sent += outbox.record_accepted(self.db, batch_id, task_id=result.task_id, now=now,
                                                  http_status=result.http_status, check_at=check_at)
            self._failures = 0
        elif result.outcome == "retry" and result.http_status is None and not result.retry_after:
            # No connection was made: the batch never left. Back to pending without spending an
            # attempt, due again after a backoff that grows with the outage (capped).
            self._failures += 1
            delay = self.backoff(self._failures)
            retried, _ = outbox.record_retry(self.db, batch_id, error=result.error or "no connection", now=now,
                                             max_attempts=s.max_attempts, delay=lambda _attempts: delay,
                                             spent=False)
            report.retried += retried
            self.limiter.pause(delay)
        elif result.outcome == "retry":
            floor = now + timedelta(seconds=result.retry_after) if result.retry_after else None
            retried, dead = outbox.record_retry(self.db, batch_id, error=result.error or "retryable failure", now=now,
                                                max_attempts=s.max_attempts, delay=self.backoff, not_before=floor,
                                                http_status=result.http_status)
            report.retried += retried
            report.dead += dead
            self._failures += 1
            self.limiter.pause(max(result.retry_after or 0.0, self.backoff(self._failures)))
        elif result.outcome == "uncertain":
            n = outbox.record_uncertain(self.db, batch_id, reason=result.error or "answer unknown", now=now,
                                        policy=s.uncertain_policy, max_attempts=s.max_attempts)
            if s.uncertain_policy == "skip":
                report.uncertain += n
            else:
                report.retried += n
            self._failures += 1
            self.limiter.pause(self.backoff(self._failures))
        elif result.outcome == "unauthorized":
            report.released += outbox.release_batch(self.db, batch_id, error=result.error or "unauthorized", now=now,
                                                    http_status=result.http_status)
            report.error = (f"Kakao refused the Event API call ({result.error}); check KAKAO_REST_API_KEY, "
                            "KAKAO_BOT_ID and the channel's Event API setup. Nothing was spent.")
        else:  # rejected
            report.dead += outbox.record_dead(self.db, batch_id, error=result.error or "rejected", now=now,
                                              http_status=result.http_status)
