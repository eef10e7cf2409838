"""Campaigns citizens can pledge to join."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. cmp-2025-summer-cooling
    title: Mapped[str] = mapped_column(String(50))
    summary: Mapped[str] = mapped_column(String(230))
    image_url: Mapped[str | None] = mapped_column(String(500))
    detail_url: Mapped[str | None] = mapped_column(String(500))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Operated campaigns (core.campaign_admin): whose 시군구 it is (None: national), whom it is
    # for (the broadcast segments: all | region | member_type), who changed it last.
    local_government_code: Mapped[str | None] = mapped_column(String(16), index=True)
    segment: Mapped[str] = mapped_column(String(16), default="all", server_default="all")
    segment_value: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class CampaignPledge(Base):
    __tablename__ = "campaign_pledges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    pledged_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("campaign_id", "member_id", name="uq_campaign_pledges_member"),)
