"""Local governments, members (one per household), their addresses and resource accounts."""
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
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base


class LocalGovernment(Base):
    """A 시군구 (or a 시 without 구). Rate and offered incentive types are its own settings."""

    __tablename__ = "local_governments"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)  # 5-digit 시군구 code
    sido: Mapped[str] = mapped_column(String(32))  # 경기도
    name: Mapped[str] = mapped_column(String(64))  # 수원시 영통구
    # Address prefixes that belong here, e.g. ["경기도 수원시 영통구", "경기 수원시 영통구"].
    address_prefixes: Mapped[list] = mapped_column(JSON, default=list)
    won_per_point: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("2"))
    incentive_types: Mapped[list] = mapped_column(JSON, default=list)
    payout_month_h1: Mapped[int] = mapped_column(Integer, default=12)
    payout_month_h2: Mapped[int] = mapped_column(Integer, default=6)
    contact: Mapped[str | None] = mapped_column(String(64))
    # True while rate, incentive types and payout months are the documented defaults the shipped
    # list (core/data/sigungu.csv) gave the row; an operator's load sets them and clears this.
    figures_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Member(Base):
    """A chat user who completed signup. Personal fields are cleared on withdrawal; the id
    stays so the ledger keeps its history without identity."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | withdrawn | left
    # The programme registry's member number (회원번호) of a member imported from the registry
    # (`cpoint import-members`); chat signups have none. Re-imports match on it.
    member_no: Mapped[str | None] = mapped_column(String(20), unique=True, index=True)
    member_type: Mapped[str] = mapped_column(String(24))
    bot_user_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    bot_id: Mapped[str | None] = mapped_column(String(64))  # with '!' on the development channel
    app_user_id: Mapped[str | None] = mapped_column(String(40), index=True)
    plusfriend_user_key: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(64))
    head_of_household: Mapped[str | None] = mapped_column(String(64))
    mobile: Mapped[str | None] = mapped_column(String(20), index=True)  # operators look members up by it
    email: Mapped[str | None] = mapped_column(String(120))
    local_government_code: Mapped[str | None] = mapped_column(ForeignKey("local_governments.code"))
    address: Mapped[str | None] = mapped_column(String(200))
    address_detail: Mapped[str | None] = mapped_column(String(100))
    # Keyed hash of the normalised address + unit: one member per household (E1).
    household_hash: Mapped[str | None] = mapped_column(String(64))
    incentive_type: Mapped[str] = mapped_column(String(24), default="donation")
    bank_name: Mapped[str | None] = mapped_column(String(40))
    account_number_enc: Mapped[str | None] = mapped_column(Text)
    account_holder: Mapped[str | None] = mapped_column(String(64))
    motivation: Mapped[str | None] = mapped_column(String(200))
    floor_area: Mapped[Decimal | None] = mapped_column(Numeric(8, 1))
    move_in_date: Mapped[date | None] = mapped_column(Date)
    referrer: Mapped[str | None] = mapped_column(String(40))
    consents: Mapped[dict] = mapped_column(JSON, default=dict)  # {terms: ts, privacy: ts, third_party: ts, optional: bool}
    marketing_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    campaign_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # Push preferences (core.push_preferences): topics the member turned off in the chat.
    # Payout notices and held-payment warnings are critical and have no switch.
    push_monthly_off: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    push_reminders_off: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Quiet digest: a month's green-life accruals folded into one message.
    greenlife_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Reachability for pushes: channel friend, blocked (channel webhook or task results).
    is_friend: Mapped[bool] = mapped_column(Boolean, default=True)
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime)
    joined_at: Mapped[datetime] = mapped_column(DateTime)
    # When participation ended: withdrawal, or leaving for Seoul (status 'left', spec E3).
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When what withdrawal left (identifiers in notifications, payout lines, pledges) was
    # removed too (core.withdrawn_purge); the ledger stays under the bare member id.
    purged_at: Mapped[datetime | None] = mapped_column(DateTime)

    accounts: Mapped[list[ResourceAccount]] = relationship(back_populates="member", lazy="selectin")
    local_government: Mapped[LocalGovernment | None] = relationship(lazy="joined")

    __table_args__ = (
        # One active member per household (E1). Partial unique index on both backends.
        Index(
            "uq_members_active_household", "household_hash", unique=True,
            sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'"),
        ),
        # The member number as citizens type it, hyphens left out (GG2019000123 for
        # GG-2019-000123): core.member_link.member_no_key, the same expression.
        Index("ix_members_member_no_key", text("replace(member_no, '-', '')")),
    )


class MemberAddress(Base):
    """Address history, so the rate of the local government at a half's end can be found."""

    __tablename__ = "member_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    local_government_code: Mapped[str | None] = mapped_column(ForeignKey("local_governments.code"))
    valid_from: Mapped[date] = mapped_column(Date)


class ResourceAccount(Base):
    """One resource of a member: electricity, water or gas, with its billing mode.

    `supply_key_hash` is the keyed hash of the customer number (or the data provider's unit
    key for managed-fee billing); meter readings are stored against the same hash, so they
    exist before and after anyone registers the number (baseline_history = supply_point)."""

    __tablename__ = "resource_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    resource: Mapped[str] = mapped_column(String(16))  # electricity | water | gas
    billing_mode: Mapped[str] = mapped_column(String(16))  # managed_fee | separate | not_used
    customer_number_enc: Mapped[str | None] = mapped_column(Text)
    supply_key_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # The utility company of the supply point (core.utility_companies code; "" for a complex
    # unit's key or no supply point): readings join on (resource, company, supply_key_hash).
    company: Mapped[str] = mapped_column(String(32), default="", server_default="")
    tariff: Mapped[str | None] = mapped_column(String(24))  # e.g. agricultural, late_night
    # A managed-fee account of a unit in a registered complex: the complex and the company that
    # bills it (supply_key_hash is then the unit's key, core.complexes.unit_supply_key_hash).
    complex_code: Mapped[str | None] = mapped_column(String(32))
    billing_company: Mapped[str | None] = mapped_column(String(64))
    registered_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)

    member: Mapped[Member] = relationship(back_populates="accounts")

    __table_args__ = (
        # A customer number of a company belongs to at most one active account (E2).
        Index(
            "uq_resource_accounts_active_supply", "resource", "company", "supply_key_hash", unique=True,
            sqlite_where=text("ended_on IS NULL AND supply_key_hash IS NOT NULL"),
            postgresql_where=text("ended_on IS NULL AND supply_key_hash IS NOT NULL"),
        ),
    )


class HouseholdDispute(Base):
    """A citizen says the member already registered at their household is not them: queued
    for an operator, who checks the resident registration and settles it by phone
    (`flask --app webhooks cpoint disputes list|resolve`). The address is the one typed."""

    __tablename__ = "household_disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | resolved
    bot_user_key: Mapped[str | None] = mapped_column(String(80))
    household_hash: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    mobile: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(Text)
