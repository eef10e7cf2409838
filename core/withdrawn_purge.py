"""Removing what is left of withdrawn members once WITHDRAWN_PURGE_DAYS have passed.

Withdrawal (core.members.withdraw) clears the member row's personal columns at once. What it
leaves, so that a withdrawal can still be answered for a while (a pending payout, a complaint),
goes here: the Kakao identifiers and consent timestamps on the member row, the rendered figures
and recipient ids of the member's notifications, the bank and masked account of payout lines,
campaign pledges and the chat user's dialog row. The ledger, statements and payout amounts stay
under the bare member id (pseudonymous: nothing left links it to a person). Idempotent."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.models import CampaignPledge, Member, Notification, PayoutLine


@dataclass
class PurgeResult:
    members: list[int]

    def summary(self) -> str:
        return f"withdrawn members purged: {len(self.members)}"


def purge_withdrawn(session: Session, now: datetime, days: int, limit: int = 1000) -> PurgeResult:
    cutoff = now - timedelta(days=days)
    ids = list(session.scalars(select(Member.id).where(
        Member.status == "withdrawn", Member.withdrawn_at <= cutoff, Member.purged_at.is_(None))
        .order_by(Member.id).limit(limit)))
    if not ids:
        return PurgeResult([])
    session.execute(update(Notification).where(Notification.member_id.in_(ids)).values(
        payload={}, recipient_id=None, recipient_type=None, last_error=None, delivery_error=None))
    session.execute(update(PayoutLine).where(PayoutLine.member_id.in_(ids)).values(bank_name=None, account_masked=None))
    session.execute(delete(CampaignPledge).where(CampaignPledge.member_id.in_(ids)))
    session.execute(update(Member).where(Member.id.in_(ids)).values(
        bot_id=None, bot_user_key=None, app_user_id=None, plusfriend_user_key=None, consents={}, purged_at=now))
    session.flush()
    return PurgeResult(ids)
