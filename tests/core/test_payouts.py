"""Payouts: won at the local rate, holds, the finance CSV, one batch per (half, scope), results."""
from __future__ import annotations

import csv

from sqlalchemy import select

from core.models import Notification, PayoutLine, PointStatement
from tests.auxil.engine import add_lg, add_member, cli, half_rows, snapshot, write_usage_csv

E = "electricity"


def setup_half(app, db, cipher, tmp_path):
    with db.transaction() as s:
        add_lg(s)
        add_lg(s, code="48250", sido="경상남도", name="김해시", rate="1.5")
        ok = add_member(s, cipher, accounts=[(E, "4000000001")], name="김철수").id
        no_acc = add_member(s, cipher, accounts=[(E, "4000000002")], account_number=None).id
        other = add_member(s, cipher, accounts=[(E, "4000000003")], holder="박영희").id
        no_addr = add_member(s, cipher, accounts=[(E, "4000000004")], address=None).id
        donor = add_member(s, cipher, lg="48250", accounts=[(E, "4000000005")], incentive="donation",
                           account_number=None).id
        zero = add_member(s, cipher, accounts=[(E, "4000000006")]).id
    rows = []
    for i in range(1, 6):
        rows += half_rows(E, f"400000000{i}", "2025H1", 2000, 1700)  # 15% -> 15,000 P
    rows += half_rows(E, "4000000006", "2025H1", 2000, 2000)
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "u.csv", rows)).exit_code == 0
    assert cli(app, "settle", "--half", "2025H1").exit_code == 0
    return {"ok": ok, "no_acc": no_acc, "other": other, "no_addr": no_addr, "donor": donor, "zero": zero}


def read(path):
    with open(path, encoding="utf-8-sig") as fh:
        return {int(r["member_id"]): r for r in csv.DictReader(fh)}


def test_payout_file_rates_holds_and_masking(app, db, cipher, tmp_path):
    ids = setup_half(app, db, cipher, tmp_path)
    out = tmp_path / "payouts.csv"
    res = cli(app, "payouts", "--half", "2025H1", "--out", out)
    assert res.exit_code == 0, res.stderr
    assert "5 member(s), 75000 P" in res.stdout
    rows = read(out)
    assert ids["zero"] not in rows  # nothing to pay
    ok = rows[ids["ok"]]
    assert (ok["name"], ok["won"], ok["rate"], ok["payout_month"], ok["status"]) == (
        "김*수", "30000", "2.00", "2025-12", "expected")
    assert ok["account"] == "*********6789" and ok["bank"] == "우리은행"
    assert rows[ids["no_acc"]]["hold_reason"] == "HOLD_NO_ACCOUNT"
    assert rows[ids["other"]]["hold_reason"] == "HOLD_HOLDER_MISMATCH"
    assert rows[ids["no_addr"]]["hold_reason"] == "HOLD_NO_ADDRESS"
    donor = rows[ids["donor"]]
    assert (donor["won"], donor["incentive_type"], donor["account"], donor["hold_reason"]) == (
        "22500", "donation", "", "")
    assert "1002-123-456789" not in out.read_text(encoding="utf-8-sig")
    with db.session() as s:
        held = s.scalars(select(PointStatement).where(PointStatement.status == "held")).all()
        assert sorted(st.member_id for st in held) == sorted([ids["no_acc"], ids["other"], ids["no_addr"]])


def test_payout_batch_is_recorded_once(app, db, cipher, tmp_path):
    setup_half(app, db, cipher, tmp_path)
    first = tmp_path / "a.csv"
    assert cli(app, "payouts", "--half", "2025H1", "--out", first).exit_code == 0
    before = snapshot(db)
    second = tmp_path / "b.csv"
    res = cli(app, "payouts", "--half", "2025H1", "--out", second)
    assert res.exit_code == 0 and "already recorded" in res.stdout
    after = snapshot(db)
    assert after.pop("audit_entries") == before.pop("audit_entries") + 1  # each export is audited
    assert after == before
    assert first.read_text(encoding="utf-8-sig") == second.read_text(encoding="utf-8-sig")
    # a per-시군구 batch afterwards finds nothing left to pay
    res = cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "c.csv", "--local-government", "41117")
    assert res.exit_code == 0 and "0 member(s)" in res.stdout


def test_payouts_of_one_sigungu_by_name(app, db, cipher, tmp_path):
    setup_half(app, db, cipher, tmp_path)
    res = cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "g.csv", "--local-government", "경남 김해시")
    assert res.exit_code == 0 and "48250" in (tmp_path / "g.csv").read_text(encoding="utf-8-sig"), res.stderr
    assert "41117" not in (tmp_path / "g.csv").read_text(encoding="utf-8-sig")
    res = cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "x.csv", "--local-government", "경상남도")
    assert res.exit_code == 2 and "is a province" in res.stderr and not (tmp_path / "x.csv").exists()


def test_payouts_need_a_settled_half(app, db, tmp_path):
    res = cli(app, "payouts", "--half", "2024H2", "--out", tmp_path / "x.csv")
    assert res.exit_code == 2 and "has not been settled" in res.stderr


def test_payout_results_mark_paid_and_skipped(app, db, cipher, tmp_path):
    ids = setup_half(app, db, cipher, tmp_path)
    assert cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "p.csv").exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(f"member_id,half,status,reason\n{ids['ok']},2025H1,lost,\n{ids['zero']},2025H1,paid,\n",
                   encoding="utf-8")
    before = snapshot(db)
    res = cli(app, "payout-result", bad)
    assert res.exit_code == 2 and "line 2: status must be paid or skipped" in res.stderr
    assert f"line 3: no payout line for member {ids['zero']}" in res.stderr
    assert snapshot(db) == before
    good = tmp_path / "good.csv"
    good.write_text(f"member_id,half,status,reason\n{ids['ok']},2025H1,paid,\n{ids['donor']},2025H1,skipped,\n",
                    encoding="utf-8")
    res = cli(app, "payout-result", good)
    assert res.exit_code == 0 and "2 changed" in res.stdout
    with db.session() as s:
        st = {x.member_id: x for x in s.scalars(select(PointStatement))}
        assert st[ids["ok"]].status == "paid"
        assert (st[ids["donor"]].status, st[ids["donor"]].hold_reason) == ("skipped", "SKIPPED_MISMATCH")
    assert "0 changed, 2 unchanged" in cli(app, "payout-result", good).stdout
    # the finance team's file saved by Korean Excel, in its words
    korean = tmp_path / "result949.csv"
    korean.write_bytes(f"member_id,half,status,reason\n{ids['ok']},2025H1,지급완료,\n".encode("cp949"))
    res = cli(app, "payout-result", korean)
    assert res.exit_code == 2 and "run again with --encoding cp949" in res.stderr
    res = cli(app, "payout-result", korean, "--encoding", "cp949")
    assert res.exit_code == 0 and "0 changed, 1 unchanged" in res.stdout, res.output


def test_yearly_won_cap_over_both_halves(app, db, cipher, tmp_path):
    """A changed table could pay more than the yearly cap: H2 is cut to what is left."""
    from core.models import PointStatement as PS

    ids = setup_half(app, db, cipher, tmp_path)
    assert cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "h1.csv").exit_code == 0
    rows = half_rows(E, "4000000001", "2025H2", 2000, 1700)
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "h2.csv", rows)).exit_code == 0
    assert cli(app, "settle", "--half", "2025H2").exit_code == 0
    with db.transaction() as s:  # simulate a lower yearly cap on the H2 statement
        st = s.scalars(select(PS).where(PS.member_id == ids["ok"], PS.half == "2025H2")).one()
        st.cap_won_per_year = 40000
    assert cli(app, "payouts", "--half", "2025H2", "--out", tmp_path / "h2p.csv").exit_code == 0
    with db.session() as s:
        line = s.scalars(select(PayoutLine).where(PayoutLine.member_id == ids["ok"],
                                                  PayoutLine.half == "2025H2")).one()
    assert (line.won_before_cap, line.won, line.payout_month) == (30000, 10000, 202606)


def test_no_payouts_while_the_half_is_being_settled(app, db, cipher, clock, tmp_path):
    from core.models import SettlementRun

    setup_half(app, db, cipher, tmp_path)
    with db.transaction() as s:
        now = clock.now().replace(tzinfo=None)
        s.add(SettlementRun(half="2025H1", status="running", started_at=now, heartbeat_at=now))
    res = cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "p.csv")
    assert res.exit_code == 2 and "is running" in res.stderr


def test_a_held_line_is_paid_in_a_later_round_once_its_hold_is_resolved(app, db, cipher, clock, tmp_path):
    """The held-payment notice asks the member to fix their details; a fix made after the file
    was recorded used to leave the line held for good."""
    from core.models import Member, PayoutBatch

    ids = setup_half(app, db, cipher, tmp_path)
    assert cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "r1.csv").exit_code == 0
    first_file = (tmp_path / "r1.csv").read_text(encoding="utf-8-sig")
    before = snapshot(db)
    res = cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "r2.csv", "--release-held")
    assert res.exit_code == 0 and "nothing written" in res.stdout and not (tmp_path / "r2.csv").exists()
    assert snapshot(db) == before
    with db.transaction() as s:  # an own-name account added; another type of payout chosen
        m = s.get(Member, ids["no_acc"])
        m.account_number_enc, m.account_holder, m.bank_name = cipher.encrypt("110-123-456789"), m.name, "신한은행"
        s.get(Member, ids["other"]).incentive_type = "donation"
    res = cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "r2.csv", "--release-held")
    assert res.exit_code == 0, res.stderr
    assert "payout round 2" in res.stdout and "2 member(s), 30000 P" in res.stdout
    assert "still held 1 (HOLD_NO_ADDRESS 1)" in res.stdout
    rows = read(tmp_path / "r2.csv")
    assert set(rows) == {ids["no_acc"], ids["other"]}
    paid = rows[ids["no_acc"]]
    assert (paid["won"], paid["status"], paid["bank"], paid["account"]) == ("30000", "expected", "신한은행", "********6789")
    assert (rows[ids["other"]]["incentive_type"], rows[ids["other"]]["account"]) == ("donation", "")
    with db.session() as s:
        assert [b.round for b in s.scalars(select(PayoutBatch).order_by(PayoutBatch.id))] == [1, 2]
        lines = s.scalars(select(PayoutLine).where(PayoutLine.member_id == ids["no_acc"]).order_by(PayoutLine.id)).all()
        assert [ln.status for ln in lines] == ["released", "expected"] and lines[0].released_at is not None
        st = {x.member_id: x for x in s.scalars(select(PointStatement))}
        assert (st[ids["no_acc"]].status, st[ids["no_acc"]].hold_reason) == ("expected", None)
        assert (st[ids["no_addr"]].status, st[ids["no_addr"]].hold_reason) == ("held", "HOLD_NO_ADDRESS")
    # each released member is told, once, of the payment and its month
    def notices():
        with db.session() as s:
            return {(n.member_id, n.dedupe_key): n.payload for n in s.scalars(
                select(Notification).where(Notification.kind == "payout_notice"))}
    told = notices()
    assert {m for m, _ in told} == {ids["no_acc"], ids["other"]}
    payload = told[(ids["no_acc"], f"payout_notice:{ids['no_acc']}:2025H1:round2")]
    assert payload["released"] is True and payload["won"] == 30000 and payload["hold_reason"] is None
    assert payload["payout_month"] == clock.now().year * 100 + clock.now().month
    # again: nothing more is resolved; the first file, rewritten, shows what became of its holds
    res = cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "r3.csv", "--release-held")
    assert "nothing written" in res.stdout and notices() == told
    assert cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "r1b.csv").exit_code == 0
    again = read(tmp_path / "r1b.csv")
    assert again[ids["no_acc"]]["status"] == "released" and again[ids["no_addr"]]["status"] == "held"
    assert len(again) == len(first_file.splitlines()) - 1
    # the local government's result names the member and half: the line that pays
    result = tmp_path / "result.csv"
    result.write_text(f"member_id,half,status,reason\n{ids['no_acc']},2025H1,paid,\n", encoding="utf-8")
    assert cli(app, "payout-result", result).exit_code == 0
    with db.session() as s:
        lines = s.scalars(select(PayoutLine).where(PayoutLine.member_id == ids["no_acc"]).order_by(PayoutLine.id)).all()
        assert [ln.status for ln in lines] == ["released", "paid"]


def test_releasing_needs_the_halfs_file(app, db, cipher, tmp_path):
    setup_half(app, db, cipher, tmp_path)
    res = cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "x.csv", "--release-held")
    assert res.exit_code == 2 and "no payout file for 2025H1 all yet" in res.stderr


def test_payout_results_in_a_finance_teams_words(app, db, cipher, tmp_path):
    ids = setup_half(app, db, cipher, tmp_path)
    assert cli(app, "payouts", "--half", "2025H1", "--out", tmp_path / "p.csv").exit_code == 0
    result = tmp_path / "result.csv"
    result.write_text(f"member_id,half,status,reason\n{ids['ok']},2025 상반기,지급 완료,\n"
                      f"{ids['donor']},2025-H1,반송,\n", encoding="utf-8")
    res = cli(app, "payout-result", result)
    assert res.exit_code == 0, res.stderr
    with db.session() as s:
        st = {x.member_id: x.status for x in s.scalars(select(PointStatement))}
    assert (st[ids["ok"]], st[ids["donor"]]) == ("paid", "skipped")
