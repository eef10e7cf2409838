"""Campaigns: the active list, a member's pledge (recorded once) and leaving it, the member's
campaigns, and the audience of campaign broadcasts (advertising: consent given and not
withdrawn).

Framework-free; every function works in the caller's transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import Clock, today_kst, utcnow_naive
from core.models import Campaign, CampaignPledge, Member


class CampaignError(Exception):
    code = "campaign_error"


class CampaignNotFound(CampaignError):
    code = "not_found"


class CampaignClosed(CampaignError):
    code = "closed"

    def __init__(self, campaign: Campaign) -> None:
        super().__init__(campaign.id)
        self.campaign = campaign


@dataclass(frozen=True)
class PledgeResult:
    campaign: Campaign
    pledge: CampaignPledge
    created: bool  # False: the member had already joined (nothing new recorded)


def is_open(campaign: Campaign, today: date) -> bool:
    return bool(campaign.active) and campaign.starts_on <= today <= campaign.ends_on


def is_meant_for(campaign: Campaign, member: Member) -> bool:
    """The campaign is national or of the member's 시군구, and of their segment (the filter of
    :func:`active_campaigns`, for one campaign)."""
    lg = member.local_government_code
    return ((campaign.local_government_code is None or campaign.local_government_code == lg)
            and (campaign.segment != "member_type" or campaign.segment_value == member.member_type)
            and (campaign.segment != "region" or campaign.segment_value == lg))


def active_campaigns(session: Session, today: date, limit: int | None = None,
                     member: Member | None = None, national_only: bool = False) -> list[Campaign]:
    """Open campaigns, ending soonest first (then by title, for a stable order). With a
    member: only those meant for them (national or of their 시군구, and of their segment);
    `national_only`: only those meant for everyone (what a visitor who is not a member sees)."""
    q = (select(Campaign)
         .where(Campaign.active.is_(True), Campaign.starts_on <= today, Campaign.ends_on >= today)
         .order_by(Campaign.ends_on, Campaign.title, Campaign.id))
    if national_only:
        q = q.where(Campaign.local_government_code.is_(None), Campaign.segment == "all")
    if member is not None:
        lg = member.local_government_code
        q = q.where(Campaign.local_government_code.is_(None) | (Campaign.local_government_code == lg),
                    (Campaign.segment != "member_type") | (Campaign.segment_value == member.member_type),
                    (Campaign.segment != "region") | (Campaign.segment_value == lg))
    if limit is not None:
        q = q.limit(limit)
    return list(session.scalars(q))


def count_active_campaigns(session: Session, today: date) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(Campaign).where(
        Campaign.active.is_(True), Campaign.starts_on <= today, Campaign.ends_on >= today)) or 0


def pledge(session: Session, clock: Clock, member: Member, campaign_id: str) -> PledgeResult:
    """Record that the member joins the campaign, once: a repeated tap, a retried request or a
    concurrent double tap finds the existing pledge (unique campaign + member)."""
    campaign = session.get(Campaign, campaign_id) if campaign_id else None
    if campaign is None or not is_meant_for(campaign, member):
        # another 시군구's or segment's campaign: as unknown (a forged button names any id)
        raise CampaignNotFound(campaign_id)
    existing = _pledge_of(session, member.id, campaign.id)
    if existing is not None:
        return PledgeResult(campaign, existing, False)
    if not is_open(campaign, today_kst(clock)):
        raise CampaignClosed(campaign)
    row = CampaignPledge(campaign_id=campaign.id, member_id=member.id, pledged_at=utcnow_naive(clock))
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = _pledge_of(session, member.id, campaign.id)
        if existing is None:
            raise
        return PledgeResult(campaign, existing, False)
    return PledgeResult(campaign, row, True)


def shown_campaigns(session: Session, today: date, member: Member | None) -> list[Campaign]:
    """The open campaigns the chat lists: a member's own (:func:`is_meant_for`), or to anyone
    else the national ones (another 시군구's campaign cannot be joined)."""
    return active_campaigns(session, today, member=member, national_only=member is None)


@dataclass(frozen=True)
class LeaveResult:
    campaign: Campaign
    left: bool  # False: the member had not joined it (nothing changed)


def leave(session: Session, clock: Clock, member: Member, campaign_id: str) -> LeaveResult:
    """The member leaves an open campaign they joined: the pledge is deleted (they may join
    again while it runs, and its participants' messages no longer reach them). A repeated or
    retried leave finds no pledge and changes nothing. A closed campaign's pledge is its
    record and stays (CampaignClosed)."""
    campaign = session.get(Campaign, campaign_id) if campaign_id else None
    if campaign is None:  # not is_meant_for: a member who moved may leave their old 시군구's
        raise CampaignNotFound(campaign_id)
    if not is_open(campaign, today_kst(clock)):
        raise CampaignClosed(campaign)
    gone = session.execute(delete(CampaignPledge).where(
        CampaignPledge.member_id == member.id, CampaignPledge.campaign_id == campaign.id))
    return LeaveResult(campaign, bool(getattr(gone, "rowcount", 0)))


def _pledge_of(session: Session, member_id: int, campaign_id: str) -> CampaignPledge | None:
    return session.scalars(select(CampaignPledge).where(
        CampaignPledge.member_id == member_id, CampaignPledge.campaign_id == campaign_id)).first()


def my_campaigns(session: Session, member: Member) -> list[tuple[Campaign, CampaignPledge]]:
    """The member's pledges with their campaigns, newest first."""
    rows = session.execute(
        select(Campaign, CampaignPledge).join(CampaignPledge, CampaignPledge.campaign_id == Campaign.id)
        .where(CampaignPledge.member_id == member.id)
        .order_by(CampaignPledge.pledged_at.desc(), CampaignPledge.id.desc()))
    return [(c, p) for c, p in rows]


def campaign_audience() -> Select:
    """SELECT of the members a campaign broadcast may reach (정보통신망법 §50): active, gave the
    optional advertising consent, did not opt out since, reachable in the channel. Broadcast
    senders must build their recipient list from this, at send time."""
    return select(Member).where(and_(
        Member.status == "active",
        Member.marketing_opt_in.is_(True),
        Member.campaign_opt_out.is_(False),
        Member.bot_user_key.is_not(None),
        Member.blocked_at.is_(None),
    )).order_by(Member.id)


def may_receive_campaigns(member: Member | None) -> bool:
    return bool(member is not None and member.status == "active" and member.marketing_opt_in
                and not member.campaign_opt_out and member.bot_user_key and member.blocked_at is None)
