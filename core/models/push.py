"""Pushes and the scheduler: Event API batches (tasks), push senders, job runs and the leader
lease, channel add/block events, campaign broadcasts.

Invariants (enforced by core.outbox / core.broadcasts / bot.scheduler and the unique keys here):
- a notification is in at most one batch at a time (Notification.batch_id); a batch is posted at
  most once, by the sender that claimed it;
- a job runs once per (job, period) (JobRun unique key), whatever the number of schedulers;
- one scheduler holds the leader lease at a time (JobLease, expiring);
- a channel webhook notification is applied once (ChannelEvent keyed by X-Kakao-Resource-ID).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

# in_flight -> accepted (taskId recorded) | retry (back to pending) | dead | uncertain | released
BATCH_STATES = ("in_flight", "accepted", "retry", "dead", "uncertain", "released")
# Task lookup of an accepted batch: pending -> done | unverified (gave up looking)
TASK_STATES = ("pending", "done", "unverified")


class PushSender(Base):
    """A running sender process. `heartbeat_at` is renewed at every claim; a sender whose lease
    expired (or whose pid is gone on this host) is dead and its in-flight batch is uncertain."""

    __tablename__ = "push_senders"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # host:pid:random
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime)


class EventBatch(Base):
    """One Event API call: <= 100 distinct users of one (kind, period, bot id), one event.data.

    Created when the batch is claimed (state in_flight), updated with the answer (accepted with
    Kakao's taskId, retry, dead), and later with the task result (delivered / failed counts)."""

    __tablename__ = "event_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    period: Mapped[str] = mapped_column(String(24))
    bot_id: Mapped[str] = mapped_column(String(64))
    user_count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="in_flight")
    claimed_at: Mapped[datetime] = mapped_column(DateTime)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    http_status: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[str | None] = mapped_column(String(64), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # Task reconciliation (GET /v1/tasks/{taskId})
    task_state: Mapped[str | None] = mapped_column(String(16))
    task_next_check_at: Mapped[datetime | None] = mapped_column(DateTime)
    task_checks: Mapped[int] = mapped_column(Integer, default=0)
    task_checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    success_count: Mapped[int | None] = mapped_column(Integer)
    fail_count: Mapped[int | None] = mapped_column(Integer)
    task_result: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_event_batches_state", "state"),
        Index("ix_event_batches_task_due", "task_state", "task_next_check_at"),
    )


class JobRun(Base):
    """One run of a scheduled job for one period (`monthly_result` 2026-10, `payout_notice`
    2026-12, `campaign_broadcast` 17). The unique key makes a re-run, a catch-up after a restart
    or a second scheduler a no-op."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(48))
    period: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # running | done | failed
    holder: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    detail: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("job", "period", name="uq_job_runs_job_period"),)


class JobLease(Base):
    """A named lease (the scheduler leader): held by `holder` until `expires_at`, renewed while
    the holder lives, taken over once it expires."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(48), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    acquired_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class ChannelEvent(Base):
    """A channel add/block notification (카카오톡 채널 웹훅), kept once per X-Kakao-Resource-ID."""

    __tablename__ = "channel_events"

    resource_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    event: Mapped[str] = mapped_column(String(16))  # added | blocked
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    id_type: Mapped[str] = mapped_column(String(16))  # app_user_id | open_id
    channel_public_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)  # Kakao's time of the change
    received_at: Mapped[datetime] = mapped_column(DateTime)
    member_id: Mapped[int | None] = mapped_column(Integer)  # the member it changed, if any
    applied: Mapped[str] = mapped_column(String(16))  # applied | stale | no_member | unsupported_id


class CampaignBroadcast(Base):
    """An operator's campaign message for a segment, sent at `scheduled_at` (never in quiet hours).

    scheduled -> queued (notifications written, once) | cancelled. Notifications that would
    exceed a monthly budget cap are written `held` (core.push_budget) until an operator
    releases them."""

    __tablename__ = "campaign_broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    segment: Mapped[str] = mapped_column(String(16))  # all | region | member_type | participants
    segment_value: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    scheduled_at: Mapped[datetime] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    queued: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_campaign_broadcasts_due", "state", "scheduled_at"),)


class PushBudget(Base):
    """A monthly budget cap (won) of one operator scope: `national` or a 시·군·구 code. Without
    a row the settings' defaults apply (PUSH_BUDGET_NATIONAL_WON, PUSH_BUDGET_LOCAL_WON)."""

    __tablename__ = "push_budgets"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    month_won: Mapped[int] = mapped_column(Integer)  # 0: no cap
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(64))
