"""A member's push preferences: which topics they receive, and the quiet green-life digest.

Topics (core.outbox.TOPIC_KINDS): monthly results, campaign messages, reminders. Payout
notices and held-payment warnings are critical (core.outbox.CRITICAL_KINDS): no switch turns
them off. The sender reads the switches at every claim (core.outbox.skip_reason), so a change
is honoured by the next batch; turning a topic off also marks what is already queued for it
`skipped` (reason `topic_off`) in the same transaction, so nothing queued before goes out.

Campaign messages keep their own consent (정보통신망법 §50): off is `campaign_opt_out`; on
again needs the explicit consent of the campaigns skill, never a switch here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.clock import Clock
from core.models.members import Member
from core.models.outbox import Notification
from core.outbox import DIGEST_KIND, SKIP_TOPIC_OFF, TOPIC_KINDS
from core.sqla import rowcount

TOPICS = tuple(TOPIC_KINDS)
_COLUMN = {"monthly": "push_monthly_off", "reminders": "push_reminders_off"}


class ConsentNeeded(ValueError):
    """Campaign messages are turned on only with the campaigns skill's explicit consent."""


@dataclass(frozen=True)
class Preferences:
    monthly: bool
    campaign: bool
    reminders: bool
    greenlife_digest: bool

    def on(self, topic: str) -> bool:
        return bool(getattr(self, topic))


def preferences(member: Member) -> Preferences:
    from core.campaigns import may_receive_campaigns

    return Preferences(monthly=not member.push_monthly_off, campaign=may_receive_campaigns(member),
                       reminders=not member.push_reminders_off, greenlife_digest=bool(member.greenlife_digest))


def drop_queued(session: Session, member_id: int, topic: str, *, now: datetime) -> int:
    """Mark the member's pending notifications of `topic` skipped (not yet claimed ones: a batch
    already in flight is Kakao's). Returns how many."""
    N = Notification
    at = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    return rowcount(session.execute(
        update(N).where(N.member_id == member_id, N.kind.in_(TOPIC_KINDS[topic]), N.state == "pending")
        .values(state="skipped", last_error=SKIP_TOPIC_OFF, claimed_at=at)
        .execution_options(synchronize_session=False))) or 0


def set_topic(session: Session, clock: Clock, member: Member, topic: str, on: bool) -> int:
    """Turn a topic on or off (in the caller's transaction). Off drops what is queued for it;
    returns the number dropped."""
    if topic not in TOPIC_KINDS:
        raise ValueError(f"unknown topic {topic!r}; one of {', '.join(TOPICS)}")
    dropped = 0 if on else drop_queued(session, member.id, topic, now=clock.now())
    if topic == "campaign":
        if on:
            raise ConsentNeeded("campaign messages need the explicit consent of the campaigns skill")
        from core.members import set_marketing

        set_marketing(session, clock, member, False)  # the consent withdrawn, with its date
    else:
        setattr(member, _COLUMN[topic], not on)
    session.flush()
    return dropped


def set_digest(session: Session, member: Member, on: bool, *, now: datetime | None = None) -> int:
    """The quiet green-life digest on or off. Off drops the digests already queued (``now``:
    when, for the skipped rows); returns the number dropped."""
    member.greenlife_digest = on
    dropped = 0
    if not on and now is not None:
        N = Notification
        at = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
        dropped = rowcount(session.execute(
            update(N).where(N.member_id == member.id, N.kind == DIGEST_KIND, N.state == "pending")
            .values(state="skipped", last_error=SKIP_TOPIC_OFF, claimed_at=at)
            .execution_options(synchronize_session=False))) or 0
    session.flush()
    return dropped
