"""Green-life practice (녹색생활 실천, spec §9): the green-life membership, partner-reported
activities, monthly awards and the record of each confirmed month.

Green-life is a membership of its own (spec E6): a citizen of 14 or more joins it alone, Seoul
included, or an energy member joins it with one tap (``member_id`` links the two). Activities and
awards belong to the green-life membership, never to the energy member directly.

Activities are keyed by (green-life member, item, date, partner_ref); a re-import replaces the quantity and
audits the change (ImportChange kind `activity`). An award is written once per (member, month)
by `cpoint greenlife-confirm`; a confirmed month accepts no further activities.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

GREENLIFE_PAYOUTS = ("kakao_pay_money", "account")


class GreenlifeMember(Base):
    """A green-life membership. Personal fields of a member who joined alone: name, mobile
    (encrypted, found by keyed hash), the 시·도 (not the street address: only Seoul matters to
    the rules). A linked energy member's identity stays on ``members``. Payout: Kakao Pay Money
    (ME-Kakao agreement, 2024) or an own-name bank account (encrypted)."""

    __tablename__ = "greenlife_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | withdrawn
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True)
    bot_user_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    app_user_id: Mapped[str | None] = mapped_column(String(40), index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    mobile_enc: Mapped[str | None] = mapped_column(Text)
    mobile_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    sido: Mapped[str | None] = mapped_column(String(32))
    local_government_code: Mapped[str | None] = mapped_column(String(16))
    seoul: Mapped[bool] = mapped_column(Boolean, default=False)
    age_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)  # 14 or more (E6)
    payout_method: Mapped[str | None] = mapped_column(String(24))  # GREENLIFE_PAYOUTS; None: not chosen
    bank_name: Mapped[str | None] = mapped_column(String(40))
    account_number_enc: Mapped[str | None] = mapped_column(Text)
    joined_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)


class GreenlifeActivity(Base):
    __tablename__ = "greenlife_activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    greenlife_member_id: Mapped[int] = mapped_column(ForeignKey("greenlife_members.id"))
    item: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    activity_date: Mapped[date] = mapped_column(Date)
    month: Mapped[int] = mapped_column(Integer)  # yyyymm of activity_date
    partner_ref: Mapped[str] = mapped_column(String(64))
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("greenlife_member_id", "item", "activity_date", "partner_ref",
                         name="uq_greenlife_activities_key"),
        Index("ix_greenlife_activities_month_member", "month", "greenlife_member_id"),
    )


class GreenlifeConfirmation(Base):
    """An activity month confirmed (16th of the next month); its awards are final."""

    __tablename__ = "greenlife_confirmations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[int] = mapped_column(Integer, unique=True)
    members: Mapped[int] = mapped_column(Integer)
    total_won: Mapped[int] = mapped_column(Integer)
    confirmed_at: Mapped[datetime] = mapped_column(DateTime)


class GreenlifeAward(Base):
    __tablename__ = "greenlife_awards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    greenlife_member_id: Mapped[int] = mapped_column(ForeignKey("greenlife_members.id"))
    month: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)  # activity year (the cap's period)
    item_won: Mapped[dict] = mapped_column(JSON)
    ignored_items: Mapped[list] = mapped_column(JSON)
    accrued_won: Mapped[int] = mapped_column(Integer)
    bonus_won: Mapped[int] = mapped_column(Integer)
    won: Mapped[int] = mapped_column(Integer)
    counted_toward_cap: Mapped[int] = mapped_column(Integer)
    cut_won: Mapped[int] = mapped_column(Integer)
    confirm_date: Mapped[date] = mapped_column(Date)
    pay_from_date: Mapped[date] = mapped_column(Date)
    confirmation_id: Mapped[int] = mapped_column(ForeignKey("greenlife_confirmations.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("greenlife_member_id", "month", name="uq_greenlife_awards_member_month"),
        Index("ix_greenlife_awards_member_year", "greenlife_member_id", "year"),
    )
