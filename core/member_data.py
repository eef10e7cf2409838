"""Everything the programme holds about one member, for the member's own view (my info ->
"내 정보 전체 보기", bot/dialogs/mydata.py): the member row, the address history, the resource
accounts (ended ones too), and how many records of each kind point at the member. Numbers
are handed out masked only; the customer numbers and the account are never decrypted in full
here. Framework-free, read-only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import members as M
from core.crypto import FieldCipher
from core.models.campaigns import CampaignPledge
from core.models.dialogs import DialogState
from core.models.greenlife import GreenlifeActivity, GreenlifeAward, GreenlifeMember
from core.models.members import HouseholdDispute, Member, MemberAddress
from core.models.outbox import Notification
from core.models.points import LedgerEntry, PayoutLine, PointStatement
from core.models.usage import MeterReading
from core.pii import mask_mobile


@dataclass(frozen=True)
class HeldAccount:
    resource: str
    billing_mode: str
    masked_number: str | None  # separate billing only
    tariff: str | None
    registered_on: date
    ended_on: date | None


@dataclass(frozen=True)
class Held:
    """What is kept about one member. ``counts`` names each kind of record (readings,
    statements, ledger, payouts, greenlife_activities, greenlife_awards, pledges,
    notifications, addresses, disputes) with how many there are."""

    member: Member
    masked_mobile: str
    masked_account: str | None
    accounts: tuple[HeldAccount, ...]
    counts: dict[str, int]
    consents: dict
    dialog_state: bool


def _count(session: Session, stmt) -> int:
    return int(session.scalar(stmt) or 0)


def held_about(session: Session, cipher: FieldCipher, member: Member) -> Held:
    accounts = tuple(
        HeldAccount(a.resource, a.billing_mode,
                    M.masked_customer_number(cipher, a) if a.billing_mode == "separate" else None,
                    a.tariff, a.registered_on, a.ended_on)
        for a in sorted(member.accounts, key=lambda a: (a.resource, a.registered_on)))
    keys = [(a.resource, a.company, a.supply_key_hash) for a in member.accounts if a.supply_key_hash]
    readings = 0
    for resource, company, key in keys:
        readings += _count(session, select(func.count()).select_from(MeterReading)
                           .where(MeterReading.resource == resource, MeterReading.company == company,
                                  MeterReading.supply_key_hash == key))
    mid = member.id

    def per_member(model) -> int:
        return _count(session, select(func.count()).select_from(model).where(model.member_id == mid))

    gid = session.scalar(select(GreenlifeMember.id).where(GreenlifeMember.member_id == mid))

    def per_greenlife(model) -> int:  # green-life is a membership of its own, linked to the member
        return 0 if gid is None else _count(
            session, select(func.count()).select_from(model).where(model.greenlife_member_id == gid))

    counts = {
        "addresses": per_member(MemberAddress),
        "readings": readings,
        "statements": per_member(PointStatement),
        "ledger": per_member(LedgerEntry),
        "payouts": per_member(PayoutLine),
        "greenlife_activities": per_greenlife(GreenlifeActivity),
        "greenlife_awards": per_greenlife(GreenlifeAward),
        "pledges": per_member(CampaignPledge),
        "notifications": per_member(Notification),
        "disputes": _count(session, select(func.count()).select_from(HouseholdDispute)
                           .where(HouseholdDispute.bot_user_key == member.bot_user_key))
        if member.bot_user_key else 0,
    }
    state = member.bot_user_key is not None and session.get(DialogState, member.bot_user_key) is not None
    masked_account = (M.masked_account_number(cipher, member) if member.account_number_enc else None)
    return Held(member=member, masked_mobile=mask_mobile(member.mobile) if member.mobile else "",
                masked_account=masked_account, accounts=accounts, counts=counts,
                consents=dict(member.consents or {}), dialog_state=state)
