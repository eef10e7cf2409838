"""What operators read about members, always within their scope (core.operators.Scope): one
member's record (masked) and the statements export of a half. The callers audit each read
(core.audit); nothing here writes."""
from __future__ import annotations

import io

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core import spreadsheet
from core.clock import kst_iso
from core.member_link import member_no_key, typed_member_no
from core.members import (
    InvalidValue,
    masked_account_number,
    masked_customer_number,
    normalise_customer_number,
    normalise_mobile,
    supply_key_hash,
)
from core.models import LocalGovernment, Member, PointStatement, ResourceAccount
from core.pii import mask_mobile, mask_name
from core.rules import default_rules


class OutOfScope(LookupError):
    """No such member within the operator's scope (the same answer as no such member, so a
    시군구 operator cannot tell that a member of another 시군구 exists)."""


def find_member(session: Session, scope, *, member_id: int | None = None, bot_user_key: str | None = None,
                member_no: str | None = None) -> Member:
    if member_id is not None:
        member = session.get(Member, member_id)
    elif bot_user_key:
        member = session.scalar(select(Member).where(Member.bot_user_key == bot_user_key))
    elif member_no:  # as typed from a letter or a call: GG-2019-000123, GG2019000123
        member = session.scalar(select(Member).where(member_no_key(Member.member_no) == typed_member_no(member_no)))
    else:
        member = None
    if member is None or not scope.allows(member.local_government_code):
        raise OutOfScope(member_id or bot_user_key or member_no)
    return member


SEARCH_MAX = 20


def search_members(session: Session, cipher, scope, *, mobile: str | None = None,
                   customer_number: str | None = None, rules=None) -> list[Member]:
    """The members within the scope with this mobile number, or with an account of this
    customer number (any resource whose format it fits), as a citizen gives them on a call or
    reads them off a bill: '010 1234 5678', '04-1928-3746'. Several may share a mobile (a
    family); at most SEARCH_MAX, by id. Nothing typed that reads as one: none."""
    if mobile:
        try:
            q = select(Member).where(Member.mobile == normalise_mobile(mobile))
        except InvalidValue:
            return []
    elif customer_number:
        rules = rules or default_rules()
        keys = []
        for resource in rules.resources:
            try:
                number = normalise_customer_number(resource, customer_number, rules)
            except InvalidValue:
                continue
            keys.append(and_(ResourceAccount.resource == resource,
                             ResourceAccount.supply_key_hash == supply_key_hash(cipher, resource, number)))
        if not keys:
            return []
        q = select(Member).where(Member.id.in_(select(ResourceAccount.member_id).where(or_(*keys))))
    else:
        return []
    clause = scope.where(Member.local_government_code)
    if clause is not None:
        q = q.where(clause)
    return list(session.scalars(q.order_by(Member.id).limit(SEARCH_MAX)))


def match_rows(members: list[Member]) -> list[dict]:
    """Several members found: what an operator chooses among (masked)."""
    return [{"id": m.id, "name": mask_name(m.name) if m.name else "", "status": m.status,
             "local_government_code": m.local_government_code or ""} for m in members]


def member_record(session: Session, cipher, member: Member) -> dict:
    """A member's details as an operator sees them: masked, with the settled halves."""
    lg = member.local_government
    statements = session.scalars(select(PointStatement).where(PointStatement.member_id == member.id)
                                 .order_by(PointStatement.half.desc())).all()
    return {
        "id": member.id, "status": member.status, "member_type": member.member_type,
        "name": mask_name(member.name) if member.name else "",
        "mobile": mask_mobile(member.mobile) if member.mobile else "",
        "local_government": {"code": lg.code, "name": lg.name} if lg else None,
        "address": member.address or "", "incentive_type": member.incentive_type,
        "bank_name": member.bank_name or "", "account": masked_account_number(cipher, member),
        "accounts": [{"resource": a.resource, "billing_mode": a.billing_mode,
                      "customer_number": masked_customer_number(cipher, a),
                      "registered_on": a.registered_on.isoformat(),
                      "ended_on": a.ended_on.isoformat() if a.ended_on else None} for a in member.accounts],
        "joined_at": kst_iso(member.joined_at),
        "withdrawn_at": kst_iso(member.withdrawn_at) if member.withdrawn_at else None,
        "statements": [{"half": st.half, "points": st.points, "won": st.won, "status": st.status,
                        "hold_reason": st.hold_reason} for st in statements],
    }


EXPORT_COLUMNS = ("member_id", "half", "local_government_code", "member_type", "points", "won", "status",
                  "hold_reason")


def statements_export(session: Session, scope, half: str) -> tuple[str, int]:
    """CSV of a half's statements within the scope (pseudonymous: member ids, no names);
    returns the text and the number of rows."""
    q = (select(PointStatement.member_id, PointStatement.half, PointStatement.local_government_code,
                Member.member_type, PointStatement.points, PointStatement.won, PointStatement.status,
                PointStatement.hold_reason)
         .join(Member, Member.id == PointStatement.member_id)
         .where(PointStatement.half == half).order_by(PointStatement.member_id))
    clause = scope.where(PointStatement.local_government_code)
    if clause is not None:
        q = q.where(clause)
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    n = 0
    for row in session.execute(q):
        writer.writerow(["" if v is None else v for v in row])
        n += 1
    return out.getvalue(), n


def local_government_codes(session: Session) -> set[str]:
    return set(session.scalars(select(LocalGovernment.code)))
