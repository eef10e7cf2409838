"""core.greenlife_members: joining alone (age checked, encrypted mobile), joining as an energy
member (one per member, a lone membership of the same chat user is linked), payout, refs."""
from __future__ import annotations

import pytest

from core import greenlife_members as G
from core import members as M
from core.models import GreenlifeMember
from tests.auxil.engine import add_lg, add_member


def _alone(s, cipher, clock, user="u-1", **kw):
    args = dict(user_key=user, app_user_id=None, age_confirmed=True, name="김서울", mobile="010 1234 5678",
                sido="서울특별시", seoul=True)
    args.update(kw)
    return G.join_alone(s, cipher, clock, **args)


def test_under_14_is_never_written(db, cipher, clock):
    with db.transaction() as s:
        with pytest.raises(G.AgeNotConfirmed):
            _alone(s, cipher, clock, age_confirmed=False)
        assert s.query(GreenlifeMember).count() == 0


def test_alone_keeps_the_mobile_encrypted_and_refuses_a_second_join(db, cipher, clock):
    with db.transaction() as s:
        gm = _alone(s, cipher, clock, payout_method=G.KAKAO_PAY_MONEY)
        assert gm.mobile_enc != "010-1234-5678" and cipher.decrypt(gm.mobile_enc) == "010-1234-5678"
        assert gm.mobile_hash == cipher.keyed_hash("010-1234-5678", purpose=G.MOBILE_PURPOSE)
        assert (gm.seoul, gm.payout_method, gm.account_number_enc) == (True, "kakao_pay_money", None)
        with pytest.raises(G.AlreadyJoined):
            _alone(s, cipher, clock)
        with pytest.raises(M.InvalidValue):
            _alone(s, cipher, clock, user="u-2", mobile="12345")


def test_an_account_payout_needs_bank_and_number_and_is_masked(db, cipher, clock):
    with db.transaction() as s:
        gm = _alone(s, cipher, clock)
        with pytest.raises(M.InvalidValue):
            G.set_payout(s, cipher, clock, gm, G.ACCOUNT)
        with pytest.raises(M.InvalidValue):
            G.set_payout(s, cipher, clock, gm, "cash_in_envelope")
        G.set_payout(s, cipher, clock, gm, G.ACCOUNT, bank_name="신한", account_number="110-123-456789")
        assert gm.bank_name == "신한은행" and G.masked_account(cipher, gm) == "********6789"
        G.set_payout(s, cipher, clock, gm, G.KAKAO_PAY_MONEY)
        assert gm.account_number_enc is None and gm.bank_name is None


def test_energy_member_joins_once_and_a_lone_membership_is_linked(db, cipher, clock):
    with db.transaction() as s:
        add_lg(s)
        m = add_member(s, cipher, bot_user_key="u-energy")
        lone = _alone(s, cipher, clock, user="u-energy", seoul=False, sido="경기도")
        gm = G.join_as_member(s, clock, m, age_confirmed=True)
        assert gm.id == lone.id and gm.member_id == m.id  # linked, not a second membership
        with pytest.raises(G.AlreadyJoined):
            G.join_as_member(s, clock, m, age_confirmed=True)
        other = add_member(s, cipher, bot_user_key="u-energy-2", address="경기도 수원시 영통구 매탄로 2")
        with pytest.raises(G.AgeNotConfirmed):
            G.join_as_member(s, clock, other, age_confirmed=False)
        gm2 = G.join_as_member(s, clock, other, age_confirmed=True)
        assert G.membership_for_user(s, "u-energy-2") is gm2
        # the energy member withdraws and signs up again: the same green-life membership follows
        other.status, other.bot_user_key = "withdrawn", None
        again = add_member(s, cipher, bot_user_key="u-energy-2", address="경기도 수원시 영통구 매탄로 3")
        assert G.join_as_member(s, clock, again, age_confirmed=True) is gm2 and gm2.member_id == again.id


def test_refs_resolve_g_numbers_and_energy_member_ids(db, cipher, clock):
    with db.transaction() as s:
        add_lg(s)
        m = add_member(s, cipher, bot_user_key="u-e")
        linked = G.join_as_member(s, clock, m, age_confirmed=True)
        lone = _alone(s, cipher, clock, user="u-l")
        gone = _alone(s, cipher, clock, user="u-g")
        gone.status = "withdrawn"
        s.flush()
        refs = G.resolve_refs(s, [str(m.id), f"G{lone.id}", f"g{linked.id}", f"G{gone.id}", "G999", "x1"])
        assert refs == {str(m.id): linked.id, f"G{lone.id}": lone.id, f"g{linked.id}": linked.id}
        assert G.ref_problem("x1") and not G.ref_problem("G12") and not G.ref_problem("12")
