"""The notification outbox: what the bot must tell a member, written in the same transaction
as the fact it reports, sent later by the push sender (exactly once per dedupe_key)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

# [staged ->] pending -> in_flight -> sent | failed(retry later, back to pending) | dead | uncertain | skipped
# staged: written, waiting for the push budget (core.push_budget); held: over a budget cap, until released
OUTBOX_STATES = ("staged", "pending", "held", "in_flight", "sent", "dead", "uncertain", "skipped")


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # monthly_result | payout_notice | payout_reminder | campaign
    period: Mapped[str] = mapped_column(String(24))  # 2026-10 | 2026H1 | campaign broadcast id
    # member + kind + period: the same fact is never told twice.
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)  # the member's own figures, rendered by the notice skill
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(DateTime)  # quiet hours, backoff
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    task_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set by the push sender when it claims the row (core.outbox.claim_batch):
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    bot_id: Mapped[str | None] = mapped_column(String(64))  # Event API path, '!' = dev channel
    recipient_type: Mapped[str | None] = mapped_column(String(16))  # bot_user_key | app_user_id
    recipient_id: Mapped[str | None] = mapped_column(String(80))
    # Task result (bot.push.reconcile): delivered | failed, None while unknown.
    delivery: Mapped[str | None] = mapped_column(String(16))
    delivery_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_notifications_state_not_before", "state", "not_before"),
        # The claim scans pending rows only, oldest first, per (kind, period).
        Index("ix_notifications_pending", "kind", "period", "id",
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
        Index("ix_notifications_pending_id", "id",
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
        Index("ix_notifications_member_kind", "member_id", "kind"),
    )
