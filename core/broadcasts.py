"""Campaign broadcasts: an operator's message to a segment of members, at a time.

`schedule` validates and records the broadcast; at its time the scheduler calls `expand`, which
writes one `campaign` notification per member of the segment (dedupe key member + broadcast,
so a re-run writes nothing twice). Members who must not get advertising (blocked, no consent,
opted out, withdrawn) get a `skipped` row with the reason, so the operator sees who was left out.
Inside the quiet hours the notifications wait (not_before) until they end.

The advertising label, sender and opt-out text are added when the message is rendered
(bot/push/render.py); this module keeps the operator's words.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from core.campaigns import campaign_audience
from core.clock import KST
from core.csv_screening import code_of
from core.db import Database
from core.local_governments import SEOUL, canonical_sido_text, clean, respell_address, sido_of
from core.models.campaigns import Campaign, CampaignPledge
from core.models.members import LocalGovernment, Member
from core.models.outbox import Notification
from core.models.push import CampaignBroadcast
from core.outbox import QuietHours, enqueue_many, skip_reason
from core.push_budget import HELD, NATIONAL, BudgetSettings, Estimate, check, estimate_members

SEGMENTS = ("all", "region", "member_type", "participants")
MEMBER_TYPES = ("individual", "individual_under14", "commercial", "public", "school", "foreigner", "complex")
MESSAGE_MAX = 700  # leaves room for the (광고) header and the opt-out line in a 1,000-char bubble
KIND = "campaign"
# A send time further back than this is a typo (a wrong year or day), not "now"
PAST_GRACE = timedelta(minutes=10)
SKIP_NOT_IN_AUDIENCE = "not_in_campaign_audience"


class BroadcastError(ValueError):
    """Operator input that cannot be scheduled; nothing was written."""


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def period_of(broadcast_id: int) -> str:
    """Notification.period of a broadcast's notifications."""
    return f"b{broadcast_id}"


def schedule(db: Database, *, campaign_id: str, at: datetime, now: datetime, segment: str = "all",
             segment_value: str | None = None, message: str | None = None,
             created_by: str | None = None, dry_run: bool = False) -> CampaignBroadcast:
    """Record a broadcast. `at` must be timezone-aware; a time a few minutes past means "now",
    one further back is refused (a mistyped year or day would otherwise send at once). A member
    type may be given by its Korean word (개인, 상가). `dry_run`: checked the same way, nothing
    written (the row returned has no id)."""
    if at.tzinfo is None:
        raise BroadcastError("the send time needs a time zone (KST is assumed by the CLI)")
    if at < now - PAST_GRACE:
        raise BroadcastError(f"the send time {at.astimezone(KST):%Y-%m-%d %H:%M} KST is in the past; "
                             "leave it out to send now")
    if segment not in SEGMENTS:
        raise BroadcastError(f"segment must be one of {', '.join(SEGMENTS)}, got {segment!r}")
    value = (segment_value or "").strip() or None
    if segment in ("region", "member_type") and not value:
        raise BroadcastError(f"segment {segment} needs a value (e.g. region:41117 or member_type:individual)")
    if segment == "member_type" and value not in MEMBER_TYPES:
        value = code_of("member_type_aliases", value or "") or value
    if segment == "member_type" and value not in MEMBER_TYPES:
        raise BroadcastError(f"unknown member type {value!r}; one of {', '.join(MEMBER_TYPES)}")
    if segment in ("all", "participants") and value:
        raise BroadcastError(f"segment {segment} takes no value")
    with db.transaction() as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None:
            raise BroadcastError(f"no campaign {campaign_id!r}")
        if not campaign.active:
            raise BroadcastError(f"campaign {campaign_id!r} is not active")
        if segment == "region":
            value = resolve_region(s, str(value))
        body = (message if message is not None else f"{campaign.title}\n{campaign.summary}").strip()
        if not body:
            raise BroadcastError("the message is empty")
        if len(body) > MESSAGE_MAX:
            raise BroadcastError(f"the message has {len(body)} characters; at most {MESSAGE_MAX}")
        row = CampaignBroadcast(campaign_id=campaign_id, segment=segment, segment_value=value, message=body,
                                scheduled_at=_naive_utc(at), state="scheduled", created_by=created_by,
                                created_at=_naive_utc(now), queued=0, skipped=0)
        if dry_run:
            return row
        s.add(row)
        s.flush()
        s.expunge(row)
    return row


class RegionError(BroadcastError):
    """A region typed that names no place in the programme, or several."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind  # unknown | ambiguous | seoul | province


def resolve_region(session: Session, typed: str) -> str:
    """A region segment's value as operators type it: a local government code, a 시/도 in any of
    its spellings (경기, 경기도), or a 시군구 by name (수원시 영통구, 경기 수원 영통구, 영통구
    where the country has one). Stored as the code or the canonical 시/도; a name several
    시/도 have (중구) is refused with the codes to choose from."""
    value = clean(typed)
    if session.get(LocalGovernment, value) is not None:
        return value
    sido = sido_of(value)
    if sido is not None and canonical_sido_text(value) == sido:
        if session.scalar(select(func.count()).select_from(LocalGovernment).where(LocalGovernment.sido == sido)):
            return sido
    written = respell_address(session, value)
    sido = sido_of(written)
    if sido is not None:
        name = written[len(sido):].strip()
        code = session.scalar(select(LocalGovernment.code).where(LocalGovernment.sido == sido,
                                                                 LocalGovernment.name == name))
        if code is not None:
            return code
    last = value.split(" ")[-1]
    same = session.execute(select(LocalGovernment.code, LocalGovernment.sido, LocalGovernment.name).where(
        (LocalGovernment.name == value) | LocalGovernment.name.like(f"% {last}")).order_by(LocalGovernment.code)).all()
    if len(same) > 1:
        listed = ", ".join(f"{code} ({lg_sido} {name})" for code, lg_sido, name in same[:12])
        raise RegionError(f"region {typed!r} names {len(same)} local governments; give the code: {listed}", "ambiguous")
    if sido_of(value) == SEOUL:
        raise RegionError(f"region {typed!r}: Seoul is not in the programme (its residents use Seoul's Eco Mileage)", "seoul")
    raise RegionError(f"unknown region {typed!r}: a local government code, a province (sido) or a city, county or "
                      "district (sigungu) name", "unknown")


def resolve_sigungu(session: Session, typed: str) -> str:
    """One 시군구's code, from its code or its name as operators write it (resolve_region); a
    province is refused (RegionError kind province), as are unknown and ambiguous names."""
    code = resolve_region(session, typed)
    if session.get(LocalGovernment, code) is None:
        raise RegionError(f"{typed!r} is a province (sido): give one city, county or district (sigungu), "
                          "by its code or name", "province")
    return code


def cancel(db: Database, broadcast_id: int, *, now: datetime) -> bool:
    """Cancel a broadcast that has not been queued yet; once queued, its pending notifications
    are skipped instead. Returns False when there was nothing to cancel."""
    with db.transaction() as s:
        row = s.get(CampaignBroadcast, broadcast_id, with_for_update=True)
        if row is None or row.state == "cancelled":
            return False
        row.state, row.cancelled_at = "cancelled", _naive_utc(now)
        N = Notification
        s.execute(update(N).where(N.kind == KIND, N.period == period_of(broadcast_id), N.state.in_(("pending", HELD)))
                  .values(state="skipped", last_error="broadcast cancelled")
                  .execution_options(synchronize_session=False))
    return True


def due(db: Database, *, now: datetime) -> list[int]:
    with db.transaction() as s:
        return list(s.scalars(select(CampaignBroadcast.id).where(
            CampaignBroadcast.state == "scheduled", CampaignBroadcast.scheduled_at <= _naive_utc(now))
            .order_by(CampaignBroadcast.scheduled_at, CampaignBroadcast.id)))


def _segment_query(b: CampaignBroadcast):
    M = Member
    audience = campaign_audience().with_only_columns(M.id).order_by(None)
    q = select(M.id, M.status, M.blocked_at, M.is_friend, M.bot_user_key, M.app_user_id,
               M.campaign_opt_out, M.marketing_opt_in, M.push_monthly_off, M.push_reminders_off,
               M.local_government_code, M.id.in_(audience).label("in_audience")
               ).where(M.status == "active")
    if b.segment == "region":
        # a code, a 시/도, or a city's code that also takes in its 구 (41110 수원시: 41111-41117)
        LG, city = LocalGovernment, aliased(LocalGovernment)
        of_city = select(city.code).where(city.code == b.segment_value, city.sido == LG.sido,
                                          LG.name.like(city.name.concat(" %"))).exists()
        q = q.where(M.local_government_code.in_(select(LG.code).where(
            (LG.code == b.segment_value) | (LG.sido == b.segment_value) | of_city)))
    elif b.segment == "member_type":
        q = q.where(M.member_type == b.segment_value)
    elif b.segment == "participants":
        q = q.where(M.id.in_(select(CampaignPledge.member_id).where(CampaignPledge.campaign_id == b.campaign_id)))
    return q


@dataclass
class Expansion:
    broadcast_id: int
    queued: int
    skipped: dict[str, int]
    held_until: datetime | None
    state: str
    held: int = 0  # over a budget cap: written `held` (core.push_budget), for an operator
    held_reasons: dict[str, str] = field(default_factory=dict)


def estimate(db: Database, b: CampaignBroadcast, *, now: datetime, quiet: QuietHours | None,
             price_won: int) -> Estimate:
    """What the broadcast will send if it goes out at `now` (recipients, messages, cost):
    the same members and reasons `expand` writes."""
    with db.transaction(deferred=True) as s:
        rows = s.execute(_segment_query(b)).all()
    return estimate_members(rows, KIND, now=now, quiet=quiet, price_won=price_won,
                            extra_reason=lambda m: None if m.in_audience else SKIP_NOT_IN_AUDIENCE)


def expand(db: Database, broadcast_id: int, *, now: datetime, quiet: QuietHours | None,
           chunk: int = 1000, budget: BudgetSettings | None = None) -> Expansion:
    """Write the broadcast's notifications (idempotent: safe to run again after a crash).

    With `budget`, the broadcast is estimated first: the recipients a monthly cap cannot
    afford (all of them when the national cap would be exceeded, else those of the 시·군·구
    that would be) are written `held` with the reason, for an operator to release."""
    now = _naive_utc(now)
    with db.transaction() as s:
        b = s.get(CampaignBroadcast, broadcast_id)
        if b is None:
            raise BroadcastError(f"no broadcast {broadcast_id}")
        s.expunge(b)
    if b.state == "cancelled":
        return Expansion(broadcast_id, 0, {}, None, "cancelled")
    hold = quiet.hold_until(now.replace(tzinfo=UTC)) if quiet is not None else None
    period = period_of(broadcast_id)
    over: dict[str, str] = {}
    if budget is not None:
        est = estimate(db, b, now=now, quiet=quiet, price_won=budget.price_won)
        with db.transaction(deferred=True) as s:
            over = check(s, est, budget, now=now, exclude=(KIND, period)).over
    base = _segment_query(b).order_by(Member.id)
    after = 0
    while True:
        with db.transaction() as s:
            if s.scalar(select(CampaignBroadcast.state).where(CampaignBroadcast.id == broadcast_id)) == "cancelled":
                break
            members = s.execute(base.where(Member.id > after).limit(chunk)).all()
            if not members:
                break
            rows = []
            for m in members:
                # The campaigns module defines who may get advertising (campaign_audience); the
                # reason names why someone may not (and catches members not reachable now).
                reason = skip_reason(KIND, status=m.status, blocked_at=m.blocked_at, is_friend=m.is_friend,
                                     bot_user_key=m.bot_user_key, app_user_id=m.app_user_id,
                                     campaign_opt_out=m.campaign_opt_out, marketing_opt_in=m.marketing_opt_in)
                if reason is None and not m.in_audience:
                    reason = SKIP_NOT_IN_AUDIENCE
                held = None if reason else over.get(NATIONAL) or over.get(m.local_government_code or "")
                rows.append({"member_id": m.id, "kind": KIND, "period": period,
                             "payload": {"broadcast_id": broadcast_id, "campaign_id": b.campaign_id},
                             "state": "skipped" if reason else (HELD if held else "pending"),
                             "last_error": reason or held, "not_before": None if reason else hold})
            enqueue_many(s, rows, now=now)
            after = members[-1].id
    N = Notification
    with db.transaction() as s:
        if s.scalar(select(CampaignBroadcast.state).where(CampaignBroadcast.id == broadcast_id)) == "cancelled":
            s.execute(update(N).where(N.kind == KIND, N.period == period, N.state == "pending")
                      .values(state="skipped", last_error="broadcast cancelled")
                      .execution_options(synchronize_session=False))
            return Expansion(broadcast_id, 0, {}, None, "cancelled")
        counts: dict[str, int] = {state: n for state, n in s.execute(
            select(N.state, func.count()).where(N.kind == KIND, N.period == period)
            .group_by(N.state)).all()}
        reasons: dict[str | None, int] = {reason: n for reason, n in s.execute(
            select(N.last_error, func.count()).where(
                N.kind == KIND, N.period == period, N.state == "skipped").group_by(N.last_error)).all()}
        skipped = sum(reasons.values())
        queued = sum(counts.values()) - skipped - counts.get(HELD, 0)
        s.execute(update(CampaignBroadcast).where(CampaignBroadcast.id == broadcast_id,
                                                  CampaignBroadcast.state == "scheduled")
                  .values(state="queued", queued_at=now, queued=queued, skipped=skipped))
    return Expansion(broadcast_id, queued, {k or "": v for k, v in reasons.items()}, hold, "queued",
                     held=counts.get(HELD, 0), held_reasons=over)
