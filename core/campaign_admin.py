"""Campaigns as operators run them: create, edit, schedule (a period that starts later) and
close, each within the operator's scope (core.operators.Scope). A 시군구 operator's campaign
belongs to one of their 시군구 and targets its members; a national admin may also run national
campaigns. The caller audits each change (core.audit) in the same transaction."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Campaign

TITLE_MAX, SUMMARY_MAX = 50, 230
SEGMENTS = ("all", "region", "member_type")
MEMBER_TYPES = ("individual", "commercial", "public", "school", "foreigner")


class CampaignInputError(ValueError):
    """Input problems, by field name (the page shows each next to its field)."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


class CampaignForbidden(PermissionError):
    pass


@dataclass
class CampaignInput:
    title: str
    summary: str
    starts_on: date
    ends_on: date
    image_url: str | None
    detail_url: str | None
    local_government_code: str | None
    segment: str
    segment_value: str | None


def _url(value: str | None, field: str, problems: dict) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not re.match(r"^https://[^\s/$.?#][^\s]*$", value) or len(value) > 500:
        problems[field] = "https_url"
    return value


def parse_input(form: dict, scope, today: date | None = None) -> CampaignInput:
    """Check a form (dict of strings) against the limits of a Kakao card and the scope; with
    `today` (a new campaign), an end already past is refused: it would never be shown."""
    problems: dict[str, str] = {}
    title = (form.get("title") or "").strip()
    summary = (form.get("summary") or "").strip()
    if not title or len(title) > TITLE_MAX:
        problems["title"] = "length"
    if not summary or len(summary) > SUMMARY_MAX:
        problems["summary"] = "length"
    days = {}
    for field in ("starts_on", "ends_on"):
        try:
            days[field] = date.fromisoformat((form.get(field) or "").strip())
        except ValueError:
            problems[field] = "date"
    if len(days) == 2 and days["ends_on"] < days["starts_on"]:
        problems["ends_on"] = "before_start"
    elif "ends_on" in days and today is not None and days["ends_on"] < today:
        problems["ends_on"] = "past"
    image = _url(form.get("image_url"), "image_url", problems)
    detail = _url(form.get("detail_url"), "detail_url", problems)
    lg = (form.get("local_government_code") or "").strip() or None
    if lg is None and not scope.national:
        if scope.codes and len(scope.codes) == 1:
            lg = next(iter(scope.codes))
        else:
            problems["local_government_code"] = "required"
    elif lg is not None and not scope.allows(lg):
        problems["local_government_code"] = "out_of_scope"
    segment = (form.get("segment") or "all").strip()
    value = (form.get("segment_value") or "").strip() or None
    if segment not in SEGMENTS:
        problems["segment"] = "unknown"
    elif segment == "member_type" and value not in MEMBER_TYPES:
        problems["segment_value"] = "member_type"
    elif segment == "region":
        value = value or lg
        if value is None or not scope.allows(value) or (lg is not None and value != lg):
            problems["segment_value"] = "region"
    elif segment == "all":
        value = None
    if problems:
        raise CampaignInputError(problems)
    return CampaignInput(title, summary, days["starts_on"], days["ends_on"], image, detail, lg, segment, value)


def may_edit(scope, campaign: Campaign) -> bool:
    if not scope.may_change:
        return False
    if campaign.local_government_code is None:
        return scope.national
    return scope.allows(campaign.local_government_code)


def visible(session: Session, scope) -> list[Campaign]:
    q = select(Campaign).order_by(Campaign.starts_on.desc(), Campaign.id)
    if not scope.national:
        q = q.where(Campaign.local_government_code.is_(None) | scope.where(Campaign.local_government_code))
    return list(session.scalars(q))


def status(campaign: Campaign, today: date) -> str:
    if not campaign.active or campaign.closed_at is not None:
        return "closed"
    if campaign.starts_on > today:
        return "scheduled"
    if campaign.ends_on < today:
        return "ended"
    return "open"


def _apply(c: Campaign, data: CampaignInput, who: str, now: datetime) -> dict:
    changed = {}
    for field in ("title", "summary", "starts_on", "ends_on", "image_url", "detail_url", "local_government_code",
                  "segment", "segment_value"):
        new = getattr(data, field)
        if getattr(c, field, None) != new:
            changed[field] = str(new) if new is not None else None
            setattr(c, field, new)
    c.updated_by, c.updated_at = who, now
    return changed


def create(session: Session, scope, who: str, now: datetime, data: CampaignInput) -> tuple[Campaign, dict]:
    if not scope.may_change:
        raise CampaignForbidden(who)
    cid = f"cmp-{now:%Y%m%d}-{secrets.token_hex(4)}"
    c = Campaign(id=cid, active=True, created_at=now)
    changed = _apply(c, data, who, now)
    session.add(c)
    session.flush()
    return c, changed


def edit(session: Session, scope, who: str, now: datetime, campaign_id: str, data: CampaignInput) -> tuple[Campaign, dict]:
    c = session.get(Campaign, campaign_id)
    if c is None or not may_edit(scope, c):
        raise CampaignForbidden(campaign_id)
    changed = _apply(c, data, who, now)
    session.flush()
    return c, changed


def close(session: Session, scope, who: str, now: datetime, campaign_id: str) -> Campaign:
    c = session.get(Campaign, campaign_id)
    if c is None or not may_edit(scope, c):
        raise CampaignForbidden(campaign_id)
    c.active = False
    c.closed_at = now
    c.updated_by, c.updated_at = who, now
    session.flush()
    return c
