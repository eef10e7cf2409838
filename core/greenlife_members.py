"""The green-life membership (녹색생활 실천, spec §9 and E6), framework-free.

Green-life is a membership of its own, beside the energy membership (core.members):

- a citizen of 14 or more joins it alone (`join_alone`), Seoul included (E6: green-life does
  not exclude Seoul); only the 시·도 is kept of where they live;
- an energy member joins it with one tap (`join_as_member`): identity stays on ``members``;
- its payout method is its own (`set_payout`): Kakao Pay Money (ME-Kakao agreement, 2024) or an
  own-name bank account (encrypted, masked in replies);
- partner files name a membership by its green-life number ``G<id>`` or, as before, by the
  energy member's id (`resolve_refs`).

Every function works inside the caller's transaction and checks before it writes; a lost race
on the unique keys (one membership per chat user, one per energy member) becomes AlreadyJoined.
Nothing here logs a value.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import Clock, utcnow_naive
from core.crypto import FieldCipher
from core.members import (
    InvalidValue,
    MemberError,
    member_for_user,
    normalise_account_number,
    normalise_bank,
    normalise_mobile,
    normalise_name,
)
from core.models import GreenlifeMember, Member
from core.models.greenlife import GREENLIFE_PAYOUTS
from core.pii import mask_number

KAKAO_PAY_MONEY = "kakao_pay_money"
ACCOUNT = "account"
MOBILE_PURPOSE = "greenlife_mobile"
# A green-life number as partners and the chat show it: G and the membership id.
NUMBER_RE = re.compile(r"^[Gg]([0-9]{1,11})$")
MEMBER_ID_RE = re.compile(r"^[0-9]{1,11}$")


class AgeNotConfirmed(MemberError):
    """Green-life is from 14 (E6): the citizen did not confirm the age."""

    code = "age_not_confirmed"


class AlreadyJoined(MemberError):
    code = "already_joined"

    def __init__(self, membership: GreenlifeMember) -> None:
        super().__init__("already a green-life member")
        self.membership = membership


def number(membership: GreenlifeMember) -> str:
    """The green-life number shown to the member and used by partner files."""
    return f"G{membership.id}"


def membership_for_user(session: Session, user_key: str | None,
                        app_user_id: str | None = None) -> GreenlifeMember | None:
    """The active green-life membership of a chat user: their own (joined alone or with one
    tap), else the one linked to their active energy membership."""
    conds = []
    if user_key:
        conds.append(GreenlifeMember.bot_user_key == user_key)
    if app_user_id:
        conds.append(GreenlifeMember.app_user_id == app_user_id)
    if conds:
        found = session.scalars(select(GreenlifeMember).where(
            or_(*conds), GreenlifeMember.status == "active")
            .order_by((GreenlifeMember.bot_user_key == user_key).desc(), GreenlifeMember.id)).first()
        if found is not None:
            return found
    member = member_for_user(session, user_key, app_user_id)
    if member is None:
        return None
    return membership_of_member(session, member.id)


def membership_of_member(session: Session, member_id: int) -> GreenlifeMember | None:
    return session.scalars(select(GreenlifeMember).where(
        GreenlifeMember.member_id == member_id, GreenlifeMember.status == "active")).first()


def _add(session: Session, row: GreenlifeMember) -> GreenlifeMember:
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = session.scalars(select(GreenlifeMember).where(or_(
            GreenlifeMember.bot_user_key == row.bot_user_key,
            GreenlifeMember.member_id == row.member_id))).first()
        if existing is None:
            raise
        raise AlreadyJoined(existing) from None
    return row


def join_alone(session: Session, cipher: FieldCipher, clock: Clock, *, user_key: str,
               app_user_id: str | None, age_confirmed: bool, name: str, mobile: str, sido: str | None,
               seoul: bool, local_government_code: str | None = None, payout_method: str | None = None,
               bank_name: str | None = None, account_number: str | None = None) -> GreenlifeMember:
    """A citizen without an energy membership joins green-life (Seoul included)."""
    if not age_confirmed:
        raise AgeNotConfirmed()
    existing = membership_for_user(session, user_key, app_user_id)
    if existing is not None:
        raise AlreadyJoined(existing)
    plain_mobile = normalise_mobile(mobile)
    now = utcnow_naive(clock)
    row = GreenlifeMember(
        status="active", member_id=None, bot_user_key=user_key, app_user_id=app_user_id,
        name=normalise_name(name), mobile_enc=cipher.encrypt(plain_mobile),
        mobile_hash=cipher.keyed_hash(plain_mobile, purpose=MOBILE_PURPOSE), sido=sido,
        local_government_code=local_government_code, seoul=bool(seoul), age_confirmed=True,
        joined_at=now, updated_at=now)
    if payout_method:
        _apply_payout(cipher, row, payout_method, bank_name, account_number)
    return _add(session, row)


def join_as_member(session: Session, clock: Clock, member: Member, *, age_confirmed: bool,
                   user_key: str | None = None, app_user_id: str | None = None) -> GreenlifeMember:
    """An energy member joins green-life with one tap: identity stays on the energy membership.
    A membership the same chat user made alone before is linked instead of a second one."""
    if member is None or member.status != "active":
        from core.members import NotAMember

        raise NotAMember()
    if not age_confirmed:
        raise AgeNotConfirmed()
    existing = membership_of_member(session, member.id)
    if existing is not None:
        raise AlreadyJoined(existing)
    # the balance card shows green-life: the member's prepared figures (core.progress) go
    session.execute(text("DELETE FROM prepared_progress WHERE member_id = :m"), {"m": member.id})
    own = membership_for_user(session, user_key or member.bot_user_key, app_user_id or member.app_user_id)
    now = utcnow_naive(clock)
    if own is not None and (own.member_id is None or _linked_member_gone(session, own)):
        # joined alone before, or linked to an energy membership since withdrawn: link this one
        own.member_id, own.updated_at = member.id, now
        session.flush()
        return own
    row = GreenlifeMember(
        status="active", member_id=member.id, bot_user_key=user_key or member.bot_user_key,
        app_user_id=app_user_id or member.app_user_id, sido=None, seoul=False, age_confirmed=True,
        joined_at=now, updated_at=now)
    return _add(session, row)


def _linked_member_gone(session: Session, membership: GreenlifeMember) -> bool:
    linked = session.get(Member, membership.member_id) if membership.member_id else None
    return linked is None or linked.status != "active"


def _apply_payout(cipher: FieldCipher, row: GreenlifeMember, method: str, bank_name: str | None,
                  account_number: str | None) -> None:
    if method not in GREENLIFE_PAYOUTS:
        raise InvalidValue("payout_method")
    if method == ACCOUNT:
        if not account_number or not bank_name:
            raise InvalidValue("account_number", "missing")
        row.bank_name = normalise_bank(bank_name)
        row.account_number_enc = cipher.encrypt(normalise_account_number(account_number))
    else:
        row.bank_name = row.account_number_enc = None
    row.payout_method = method


def set_payout(session: Session, cipher: FieldCipher, clock: Clock, membership: GreenlifeMember, method: str, *,
               bank_name: str | None = None, account_number: str | None = None) -> None:
    """Kakao Pay Money (no account kept) or an own-name account (encrypted)."""
    _apply_payout(cipher, membership, method, bank_name, account_number)
    membership.updated_at = utcnow_naive(clock)
    session.flush()


def masked_account(cipher: FieldCipher, membership: GreenlifeMember) -> str:
    if not membership.account_number_enc:
        return ""
    return mask_number(cipher.decrypt(membership.account_number_enc))


# --- partner files -----------------------------------------------------------------------------

def ref_problem(ref: str) -> bool:
    """True when a member_ref has neither form: ``G<green-life id>`` or an energy member id."""
    return not (NUMBER_RE.match(ref) or MEMBER_ID_RE.match(ref))


def resolve_refs(session: Session, refs: Iterable[str]) -> dict[str, int]:
    """member_ref -> active green-life membership id. ``G123`` names the green-life membership;
    plain digits name the energy member (the partner mapping before green-life had its own
    number), resolved to its green-life membership. Refs that name none are left out."""
    by_number: dict[int, list[str]] = {}
    by_member: dict[int, list[str]] = {}
    for ref in set(refs):
        m = NUMBER_RE.match(ref)
        if m:
            by_number.setdefault(int(m.group(1)), []).append(ref)
        elif MEMBER_ID_RE.match(ref):
            by_member.setdefault(int(ref), []).append(ref)
    out: dict[str, int] = {}
    numbers, members = sorted(by_number), sorted(by_member)
    for start in range(0, len(numbers), 1000):
        for gid in session.scalars(select(GreenlifeMember.id).where(
                GreenlifeMember.id.in_(numbers[start:start + 1000]), GreenlifeMember.status == "active")):
            for ref in by_number[gid]:
                out[ref] = gid
    for start in range(0, len(members), 1000):
        for gid, mid in session.execute(
                select(GreenlifeMember.id, GreenlifeMember.member_id)
                .join(Member, Member.id == GreenlifeMember.member_id)
                .where(GreenlifeMember.member_id.in_(members[start:start + 1000]),
                       GreenlifeMember.status == "active", Member.status == "active")):
            for ref in by_member[mid]:
                out[ref] = gid
    return out
