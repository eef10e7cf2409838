"""`cpoint set-rate`: an effective-dated won-per-point rate, as operators type it; a bad value
writes nothing."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from core.models import LocalGovernmentRate
from tests.auxil.engine import add_lg, cli, snapshot


def rates(db):
    with db.session() as s:
        return [(r.local_government_code, r.effective_from, r.won_per_point)
                for r in s.scalars(select(LocalGovernmentRate).order_by(LocalGovernmentRate.id))]


def test_a_rate_by_code_or_name_and_a_written_day(app, db):
    with db.transaction() as s:
        add_lg(s)
    res = cli(app, "set-rate", "--local-government", "41117", "--rate", "1.5", "--from", "2027.01.01")
    assert res.exit_code == 0, res.stderr
    res = cli(app, "set-rate", "--local-government", "경기 수원시 영통구", "--rate", "2", "--from", "20270701")
    assert res.exit_code == 0, res.stderr
    assert rates(db) == [("41117", date(2027, 1, 1), Decimal("1.50")), ("41117", date(2027, 7, 1), Decimal("2.00"))]
    res = cli(app, "set-rate", "--local-government", "41117", "--rate", "2", "--from", "2027-07-01")
    assert res.exit_code == 2 and "already has a rate from 2027-07-01" in res.stderr


def test_bad_values_are_refused_and_nothing_is_written(app, db):
    with db.transaction() as s:
        add_lg(s)
    before = snapshot(db)
    for args, said in [(("41117", "3", "2027-01-01"), "rate"), (("41117", "2", "01/07/2027"), "--from must be a real day"),
                       (("99999", "2", "2027-01-01"), "unknown local government"),
                       (("경기도", "2", "2027-01-01"), "is a province")]:
        code, rate, day = args
        res = cli(app, "set-rate", "--local-government", code, "--rate", rate, "--from", day)
        assert res.exit_code == 2 and said in res.stderr, (args, res.stderr)
    assert snapshot(db) == before


def test_a_name_several_regions_have_is_refused_with_their_codes(app, db):
    with db.transaction() as s:
        add_lg(s, "26110", sido="부산광역시", name="중구")
        add_lg(s, "27110", sido="대구광역시", name="중구")
    res = cli(app, "set-rate", "--local-government", "중구", "--rate", "2", "--from", "2027-01-01")
    assert res.exit_code == 2 and "give the code: 26110 (부산광역시 중구), 27110 (대구광역시 중구)" in res.stderr, res.stderr
    res = cli(app, "set-rate", "--local-government", "대구 중구", "--rate", "2", "--from", "2027-01-01")
    assert res.exit_code == 0, res.stderr


def test_a_rate_that_would_change_a_paid_half_is_refused(app, db, cipher, tmp_path):
    from tests.core.test_payouts import setup_half

    setup_half(app, db, cipher, tmp_path)  # 2025H1 settled for 41117
    assert cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "p.csv").exit_code == 0
    before = rates(db)
    res = cli(app, "set-rate", "--local-government", "41117", "--rate", "1.5", "--from", "2025-03-01")
    assert res.exit_code == 2
    assert "2025-03-01 would change the rate of 2025H1, whose payout file is already recorded" in res.stderr
    assert "give a day after 2025-06-30" in res.stderr and rates(db) == before
    assert cli(app, "set-rate", "--local-government", "41117", "--rate", "1.5", "--from", "2025-07-01").exit_code == 0
    with db.transaction() as s:  # another 시군구 has paid nothing: its rates are its own
        add_lg(s, code="41111", name="수원시 장안구")
    assert cli(app, "set-rate", "--local-government", "41111", "--rate", "1", "--from", "2025-03-01").exit_code == 0


def test_a_file_changing_the_rate_of_a_paid_sigungu_is_refused(app, db, cipher, tmp_path):
    from tests.core.test_payouts import setup_half

    setup_half(app, db, cipher, tmp_path)
    assert cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "p.csv").exit_code == 0
    header = "code,sido,name,prefixes,won_per_point,incentive_types,payout_month_h1,payout_month_h2,contact\n"
    changed = tmp_path / "lgs.csv"
    changed.write_text(header + "41117,경기도,수원시 영통구,,1.5,cash|donation,12,6,031-228-2114\n", encoding="utf-8")
    before = snapshot(db)
    res = cli(app, "load-local-governments", changed)
    assert res.exit_code == 2 and "41117 수원시 영통구: won_per_point 2.00 -> 1.5 would change 2025H1" in res.stderr
    assert "cpoint set-rate --local-government 41117 --rate 1.5 --from <a day after 2025-06-30>" in res.stderr
    assert snapshot(db) == before
    same = tmp_path / "same.csv"
    same.write_text(header + "41117,경기도,수원시 영통구,,2,cash|donation,12,6,031-228-2114\n", encoding="utf-8")
    assert cli(app, "load-local-governments", same).exit_code == 0  # its other figures may change
