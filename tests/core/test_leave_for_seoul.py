"""Leaving for Seoul (spec E3): participation ends; settled for the halves that ended before the
move, not after; pushes stop; the ledger and statements are kept; joining again works."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from core import members as M
from core.clock import FixedClock
from core.local_governments import parse_address
from core.models import LedgerEntry, Member, MemberAddress, Notification, PointStatement, ResourceAccount
from core.outbox import SKIP_WITHDRAWN, enqueue, skip_reason
from tests.auxil.engine import add_lg, add_member, cli, half_rows, write_usage_csv

E = "electricity"
MOVED = FixedClock(datetime(2025, 9, 1, 3, 0, tzinfo=UTC))  # in 2025H2


def _member(db, cipher) -> int:
    with db.transaction() as s:
        add_lg(s)
        m = add_member(s, cipher, accounts=[(E, "1000000077")], bot_user_key="u-seoul")
        enqueue(s, member_id=m.id, kind="monthly_result", period="2025-08", payload={},
                now=MOVED.now().replace(tzinfo=None))
        return m.id


def test_leaving_ends_participation_and_keeps_what_pays_past_halves(db, cipher):
    mid = _member(db, cipher)
    with db.transaction() as s:
        M.leave_for_seoul(s, cipher, MOVED, s.get(Member, mid), parse_address("서울특별시 중구 세종대로 110 1203호"))
    with db.session() as s:
        m = s.get(Member, mid)
        assert (m.status, m.local_government_code) == ("left", None)
        assert m.withdrawn_at == datetime(2025, 9, 1, 3, 0)
        assert m.address == "서울특별시 중구 세종대로 110" and m.name == "홍길동" and m.account_number_enc
        assert [a.ended_on for a in s.scalars(select(ResourceAccount).where(ResourceAccount.member_id == mid))] \
            == [date(2025, 9, 1)]
        history = s.scalars(select(MemberAddress.local_government_code).where(MemberAddress.member_id == mid)
                            .order_by(MemberAddress.id)).all()
        assert history == ["41117", None]
        note = s.scalars(select(Notification).where(Notification.member_id == mid)).one()
        assert (note.state, note.last_error) == ("skipped", "member left for Seoul")
        assert M.member_for_user(s, "u-seoul") is None and M.left_member_for_user(s, "u-seoul").id == mid
    # pushes stop: a notification queued later is skipped at send time
    assert skip_reason("payout_notice", status="left", blocked_at=None, is_friend=True, bot_user_key="u-seoul",
                       app_user_id=None, campaign_opt_out=True, marketing_opt_in=False) == SKIP_WITHDRAWN


def test_settled_for_halves_that_ended_before_the_move_only(app, db, cipher, tmp_path):
    mid = _member(db, cipher)
    with db.transaction() as s:
        M.leave_for_seoul(s, cipher, MOVED, s.get(Member, mid), parse_address("서울 중구 세종대로 110"))
    rows = half_rows(E, "1000000077", "2025H1", 2000, 1900) + half_rows(E, "1000000077", "2025H2", 2000, 1800)
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "u.csv", rows)).exit_code == 0
    for half in ("2025H1", "2025H2"):
        res = cli(app, "settle", "--half", half, "--verify", "-1")
        assert res.exit_code == 0, res.stderr
    with db.session() as s:
        statements = s.scalars(select(PointStatement).where(PointStatement.member_id == mid)).all()
        assert [(st.half, st.points, st.won, st.local_government_code) for st in statements] == [
            ("2025H1", 5000, 10000, "41117")]  # paid by the old 시·군·구; nothing for the half of the move
        assert [e.points for e in s.scalars(select(LedgerEntry).where(LedgerEntry.member_id == mid))] == [5000]


def test_only_a_seoul_address_ends_participation_and_only_once(db, cipher):
    mid = _member(db, cipher)
    with db.transaction() as s:
        with pytest.raises(M.InvalidValue):
            M.leave_for_seoul(s, cipher, MOVED, s.get(Member, mid), parse_address("경기도 과천시 별양로 12"))
        M.leave_for_seoul(s, cipher, MOVED, s.get(Member, mid))  # "서울 살아요": no address typed
        with pytest.raises(M.NotAMember):
            M.leave_for_seoul(s, cipher, MOVED, s.get(Member, mid))
        assert s.get(Member, mid).address == "경기도 수원시 영통구 매탄로 1"
