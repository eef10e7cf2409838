"""The balance card's other figures, prepared in bulk with the half so far (core.progress).

A balance turn shows, beside the half so far, the last settled half and the green-life year.
Read live they cost a few ORM reads per member (about 2 ms); after a national push millions of
members tap "결과 보기" once each, so a read-through cache filled by the first tap would put
that cost, and a write, on almost every turn. They are read here set-based for a chunk of
members (a handful of queries per chunk) and shaped by the same builders as the live read
(core.statements.build_statement_view, build_greenlife_view), so the two cannot drift.

:func:`extras_for` returns ``{member_id: {"last": half | None, "settled": view | None,
"greenlife": view | None, "halves": n}}`` (n: the settled halves, which decides whether the card
offers the list of them), the shape bot/dialogs/balance.py keeps under progress.EXTRAS.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from core.models.greenlife import GreenlifeActivity, GreenlifeAward, GreenlifeMember
from core.models.members import LocalGovernment
from core.models.points import PayoutLine, PointStatement, StatementLine
from core.points.periods import Half, month_of
from core.rules import Rules
from core.sqla import table_of


def _latest_half(halves: Sequence[str]) -> str:
    return str(max(Half.parse(h) for h in halves))


Who = tuple[int, str | None, str | None]   # member_id, bot_user_key, app_user_id


def extras_for(conn: Connection, members: Sequence[Who], today: date,
               rules: Rules | None = None) -> dict[int, dict[str, Any]]:
    """``members``: (member_id, bot_user_key, app_user_id) of one chunk. One query per table, bounded by the
    chunk's ids (consecutive ids: BETWEEN keeps each an index range scan)."""
    from core.statements import build_greenlife_view, build_statement_view

    if not members:
        return {}
    ids = [m[0] for m in members]
    lo, hi = min(ids), max(ids)
    wanted = set(ids)
    st_t, ln_t, pay_t = table_of(PointStatement), table_of(StatementLine), table_of(PayoutLine)
    lg_t = table_of(LocalGovernment)

    # each member's latest settled half and its statement, from one read of the range
    every: dict[int, list[Any]] = {}
    for r in conn.execute(select(st_t).where(st_t.c.member_id.between(lo, hi))):
        if r.member_id in wanted:
            every.setdefault(r.member_id, []).append(r)
    last = {mid: _latest_half([r.half for r in rows]) for mid, rows in every.items()}
    statements = {mid: next(r for r in rows if r.half == last[mid]) for mid, rows in every.items()}
    lines: dict[int, list[Any]] = {}
    for r in conn.execute(select(ln_t).where(ln_t.c.member_id.between(lo, hi))):
        if last.get(r.member_id) == r.half:
            lines.setdefault(r.member_id, []).append(r)
    payouts: dict[int, Any] = {}
    st_ids = [st.id for st in statements.values()]
    for start in range(0, len(st_ids), 5000):
        for r in conn.execute(select(pay_t).where(pay_t.c.statement_id.in_(st_ids[start:start + 5000]),
                                                  pay_t.c.status != "released")
                              .order_by(pay_t.c.id)):
            payouts.setdefault(r.statement_id, r)   # the first, as the live read takes it
    codes = {st.local_government_code for st in statements.values() if st.local_government_code}
    lgs = {r.code: r for r in conn.execute(select(lg_t).where(lg_t.c.code.in_(sorted(codes))))} if codes else {}

    greenlife = _greenlife_views(conn, members, lo, hi, today, rules, build_greenlife_view)
    out: dict[int, dict[str, Any]] = {}
    for member_id in ids:
        st = statements.get(member_id)
        settled = None if st is None else build_statement_view(
            member_id, st, lines.get(member_id, []),
            lgs.get(st.local_government_code) if st.local_government_code else None, payouts.get(st.id))
        out[member_id] = {"last": last.get(member_id), "settled": settled, "greenlife": greenlife.get(member_id),
                          "halves": len({r.half for r in every.get(member_id, [])})}
    return out


def _greenlife_views(conn: Connection, members: Sequence[Who], lo: int, hi: int, today: date,
                     rules: Rules | None, build) -> dict[int, dict]:
    """Each member's green-life year, found as the live read finds it
    (core.greenlife_members.membership_for_user): the membership under the member's own
    botUserKey, else under its Kakao app user id (lowest id), else the one linked to the
    energy membership."""
    gm_t, aw_t, act_t = table_of(GreenlifeMember), table_of(GreenlifeAward), table_of(GreenlifeActivity)
    keys = {m[1]: m[0] for m in members if m[1]}
    apps: dict[str, list[int]] = {}
    for mid, _, app in members:
        if app:
            apps.setdefault(app, []).append(mid)
    linked: dict[int, int] = {}   # member_id -> greenlife membership id
    by_key: dict[int, int] = {}
    by_app: dict[int, int] = {}
    key_list, app_list = sorted(keys), sorted(apps)
    for start in range(0, max(len(key_list), len(app_list), 1), 5000):
        conds = [gm_t.c.member_id.between(lo, hi)] if start == 0 else []
        if key_list[start:start + 5000]:
            conds.append(gm_t.c.bot_user_key.in_(key_list[start:start + 5000]))
        if app_list[start:start + 5000]:
            conds.append(gm_t.c.app_user_id.in_(app_list[start:start + 5000]))
        if not conds:
            continue
        for r in conn.execute(select(gm_t.c.id, gm_t.c.member_id, gm_t.c.bot_user_key, gm_t.c.app_user_id)
                              .where(and_(or_(*conds), gm_t.c.status == "active")).order_by(gm_t.c.id)):
            if r.bot_user_key in keys:
                by_key.setdefault(keys[r.bot_user_key], r.id)
            for mid in apps.get(r.app_user_id or "", ()):
                by_app.setdefault(mid, r.id)
            if r.member_id is not None and lo <= r.member_id <= hi:
                linked.setdefault(r.member_id, r.id)
    chosen: dict[int, int] = {}
    for mid, _, _ in members:
        gid = by_key.get(mid) or by_app.get(mid) or linked.get(mid)
        if gid is not None:
            chosen[mid] = gid
    if not chosen:
        return {}
    gids = sorted(set(chosen.values()))
    awards: dict[int, list[Any]] = {}
    bonus: set[int] = set()
    activities: dict[int, list[Any]] = {}
    for start in range(0, len(gids), 5000):
        part = gids[start:start + 5000]
        for r in conn.execute(select(aw_t).where(aw_t.c.greenlife_member_id.in_(part))
                              .order_by(aw_t.c.greenlife_member_id, aw_t.c.month)):
            if r.bonus_won and r.bonus_won > 0:
                bonus.add(r.greenlife_member_id)
            if r.year == today.year:
                awards.setdefault(r.greenlife_member_id, []).append(r)
        for r in conn.execute(select(act_t).where(act_t.c.greenlife_member_id.in_(part),
                                                  act_t.c.month == month_of(today))):
            activities.setdefault(r.greenlife_member_id, []).append(r)
    return {mid: build(today.year, awards.get(gid, []), gid in bonus, activities.get(gid, []), today, rules)
            for mid, gid in chosen.items()}
