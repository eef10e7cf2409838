"""Green-life practice (녹색생활 실천, spec §9): partner-reported activities, monthly awards and
the record of each confirmed month.

Activities are keyed by (member, item, date, partner_ref); a re-import replaces the quantity and
audits the change (ImportChange kind `activity`). An award is written once per (member, month)
by `cpoint greenlife-confirm`; a confirmed month accepts no further activities.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class GreenlifeActivity(Base):
    __tablename__ = "greenlife_activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    item: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    activity_date: Mapped[date] = mapped_column(Date)
    month: Mapped[int] = mapped_column(Integer)  # yyyymm of activity_date
    partner_ref: Mapped[str] = mapped_column(String(64))
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("member_id", "item", "activity_date", "partner_ref",
                         name="uq_greenlife_activities_key"),
        Index("ix_greenlife_activities_month_member", "month", "member_id"),
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
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
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
        UniqueConstraint("member_id", "month", name="uq_greenlife_awards_member_month"),
        Index("ix_greenlife_awards_member_year", "member_id", "year"),
    )
