"""Settlement end to end: import CSV -> settle -> statements, lines, ledger (spec §13 examples
through the database), idempotency and adjustments."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.ledger import ledger_mismatches
from core.models import (
    LedgerEntry,
    LocalGovernmentRate,
    PointStatement,
    SettlementRun,
    StatementLine,
    StatementRevision,
)
from core.points import reasons
from core.settlement import SettlementError, settle_half
from tests.auxil.engine import add_lg, add_member, cli, half_rows, snapshot, write_usage_csv

E, W, G = "electricity", "water", "gas"


def load(app, tmp_path, rows, name="u.csv"):
    res = cli(app, "import-usage", write_usage_csv(tmp_path / name, rows))
    assert res.exit_code == 0, res.stderr
    return res


def settle(app, half):
    res = cli(app, "settle", "--half", half, "--verify", "-1")
    assert res.exit_code == 0, res.stderr
    return res


def statement(db, member_id, half):
    with db.session() as s:
        st = s.scalars(select(PointStatement).where(PointStatement.member_id == member_id,
                                                    PointStatement.half == half)).one()
        lines = {ln.resource: ln for ln in s.scalars(
            select(StatementLine).where(StatementLine.member_id == member_id, StatementLine.half == half))}
        ledger = s.scalars(select(LedgerEntry).where(LedgerEntry.member_id == member_id,
                                                     LedgerEntry.half == half)
                           .order_by(LedgerEntry.id)).all()
    return st, lines, ledger


def member(db, cipher, accounts, **kw):
    with db.transaction() as s:
        add_lg(s, code=kw.pop("lg_code", "41117"), rate=kw.pop("rate", "2"),
               sido=kw.pop("sido", "경기도"), name=kw.pop("lg_name", "수원시 영통구"))
        return add_member(s, cipher, accounts=accounts, lg=kw.pop("lg", "41117"), **kw).id


def test_example_01_exactly_5_percent(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000001")])
    load(app, tmp_path, half_rows(E, "1000000001", "2025H1", 2000, 1900))
    res = settle(app, "2025H1")
    assert "1 new statement(s) (5000 P)" in res.stdout
    st, lines, ledger = statement(db, mid, "2025H1")
    ln = lines[E]
    assert (ln.baseline, ln.actual, ln.rate, ln.band) == (2000, 1900, Decimal("5.00"), 5)
    assert (st.points, st.won, st.payout_month, st.status) == (5000, 10000, 202512, "expected")
    assert [(e.kind, e.points) for e in ledger] == [("settlement", 5000)]


def test_example_05_negative_reduction_resets_stored_streak(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000005")])
    # three rewarded halves (2023H2 .. 2024H2), then 2025H1 at -5%
    rows = [(E, "1000000005", m, v) for m, v in _months_values("2021H2", "2025H1")]
    load(app, tmp_path, rows)
    for half in ("2023H2", "2024H1", "2024H2"):
        settle(app, half)
    st, lines, _ = statement(db, mid, "2024H2")
    assert lines[E].streak_after == 3
    # 2025H1: B = mean(2024H1, 2023H1) = 1800, A = 1890 -> -5%
    settle(app, "2025H1")
    st, lines, ledger = statement(db, mid, "2025H1")
    ln = lines[E]
    assert (ln.streak_before, ln.rate, ln.reason, ln.maintenance_points, ln.streak_after) == (
        3, Decimal("-5.00"), reasons.NO_REDUCTION, 0, 0)
    assert st.points == 0 and ledger == []


def _months_values(first_half, last_half):
    """Monthly electricity use, constant within a half: 400 until 2022H2, then 300 (2023H2,
    2024H1 and 2024H2 each earn the reduction incentive), then 315 in 2025H1 (B 1,800, A 1,890)."""
    per_half = {"2021H2": 400, "2022H1": 400, "2022H2": 400, "2023H1": 300, "2023H2": 300,
                "2024H1": 300, "2024H2": 300, "2025H1": 315}
    out = []
    from core.points.periods import Half
    h = Half.parse(first_half)
    while h <= Half.parse(last_half):
        out += [(m, per_half[str(h)]) for m in h.months]
        h = h.next()
    return out


def test_example_06_maintenance_from_stored_streak(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000006")])
    rows = half_rows(E, "1000000006", "2024H1", 2000, 1860) \
        + [r for r in half_rows(E, "1000000006", "2024H2", 2000, 1780)]
    load(app, tmp_path, rows, "a.csv")
    settle(app, "2024H1")
    settle(app, "2024H2")
    # 2025H1: B 1,900 from 2024H1 (1,860) and 2023H1 (1,940), A 1,843 -> 3.00%
    load(app, tmp_path, half_rows(E, "1000000006", "2023H1", None, 1940)
         + half_rows(E, "1000000006", "2025H1", None, 1843), "b.csv")
    settle(app, "2025H1")
    st, lines, ledger = statement(db, mid, "2025H1")
    ln = lines[E]
    assert ln.streak_before == 2 and ln.rate == Decimal("3.00")
    assert (ln.maintenance_points, ln.reduction_points, ln.streak_after) == (3000, 0, 0)
    assert (st.points, st.won) == (3000, 6000)


def test_example_06_one_rewarded_half_only_gives_nothing(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000016")])
    load(app, tmp_path, half_rows(E, "1000000016", "2024H2", 2000, 1780)
         + half_rows(E, "1000000016", "2024H1", None, 1860)
         + half_rows(E, "1000000016", "2023H1", None, 1940)
         + half_rows(E, "1000000016", "2025H1", None, 1843))
    settle(app, "2024H2")
    settle(app, "2025H1")
    st, lines, _ = statement(db, mid, "2025H1")
    assert lines[E].streak_before == 1 and lines[E].reason == reasons.BELOW_THRESHOLD
    assert st.points == 0


def test_example_07_standard_usage_group_from_database(app, db, cipher, tmp_path):
    """Group of 30 in one 시군구: average 2,700 kWh; the member at 1,320 (r 12%) stacks +5,000."""
    mid = member(db, cipher, [(E, "2000000000")])
    rows = half_rows(E, "2000000000", "2025H1", 1500, 1320)
    others_total = 2700 * 30 - 1320
    # 29 others with A spread so that the total is exactly 81,000 (average 2,700)
    amounts = [others_total // 29] * 29
    amounts[0] += others_total - sum(amounts)
    with db.transaction() as s:
        for i, a in enumerate(amounts):
            add_member(s, cipher, accounts=[(E, f"20000000{i + 1:02d}")], name=f"이웃{i}")
            rows += half_rows(E, f"20000000{i + 1:02d}", "2025H1", a, a)
    load(app, tmp_path, rows)
    settle(app, "2025H1")
    st, lines, _ = statement(db, mid, "2025H1")
    ln = lines[E]
    assert (ln.rate, ln.reduction_points, ln.standard_points) == (Decimal("12.00"), 10000, 5000)
    assert (ln.group_level, ln.group_n, ln.group_total) == ("sigungu", 30, 81000)
    assert (st.points, st.won) == (15000, 30000)


def test_standard_usage_group_widens_to_sido_when_sigungu_is_small(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "3000000000")])
    rows = half_rows(E, "3000000000", "2025H1", 1500, 1320)
    with db.transaction() as s:
        add_lg(s, code="41135", name="성남시 분당구")
        for i in range(29):
            add_member(s, cipher, lg="41135", accounts=[(E, f"30000000{i + 1:02d}")])
            rows += half_rows(E, f"30000000{i + 1:02d}", "2025H1", 3000, 3000)
    load(app, tmp_path, rows)
    settle(app, "2025H1")
    _, lines, _ = statement(db, mid, "2025H1")
    assert (lines[E].group_level, lines[E].group_n) == ("sido", 30)
    assert lines[E].standard_points == 5000  # 2 x 1,320 x 30 <= 1,320 + 29 x 3,000


def test_example_08_one_year_fallback(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000008")])
    monthly = [320, 300, 280, 260, 250, 270]
    load(app, tmp_path, half_rows(E, "1000000008", "2025H1", monthly_baseline=monthly, actual=1500,
                                  years=(1,)))
    settle(app, "2025H1")
    st, lines, _ = statement(db, mid, "2025H1")
    ln = lines[E]
    assert (ln.baseline, ln.rate, ln.band) == (1680, Decimal("10.71"), 10)
    assert ln.detail == {"fallback": [202501, 202502, 202503, 202504, 202505, 202506]}
    assert (st.points, st.won) == (10000, 20000)


def test_example_08_no_history_at_all(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000018")])
    load(app, tmp_path, half_rows(E, "1000000018", "2025H1", None, 1500))
    settle(app, "2025H1")
    st, lines, _ = statement(db, mid, "2025H1")
    assert (lines[E].reason, lines[E].baseline, lines[E].actual) == (reasons.NO_BASELINE, None, 1500)
    assert st.points == 0


def test_example_09_missing_baseline_month_filled(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000009")])
    load(app, tmp_path, half_rows(E, "1000000009", "2025H2",
                                  monthly_baseline=[310, 380, 300, None, 270, 290], actual=1730))
    settle(app, "2025H2")
    st, lines, _ = statement(db, mid, "2025H2")
    ln = lines[E]
    assert (ln.baseline, ln.rate, ln.band, ln.detail) == (1860, Decimal("6.98"), 5, {"filled": [202510]})
    assert (st.points, st.won, st.payout_month) == (5000, 10000, 202606)


def test_example_10_missing_actual_month(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000010"), (W, "55555")])
    load(app, tmp_path, half_rows(E, "1000000010", "2025H1", 2000, 1800)
         + half_rows(W, "55555", "2025H1", 90, 80, skip_actual=(202505,)))
    settle(app, "2025H1")
    st, lines, _ = statement(db, mid, "2025H1")
    assert lines[W].reason == reasons.ACTUAL_MONTH_MISSING
    assert lines[W].reason_params == {"months": [202505], "resource": "water"}
    assert (lines[W].points, lines[W].streak_after) == (0, 0)
    assert lines[E].points == 10000 and st.points == 10000


def test_example_11_commercial_member(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000011"), (G, "77777"), (W, None, "not_used")],
                 member_type="commercial")
    load(app, tmp_path, half_rows(E, "1000000011", "2025H1", 12000, 10560)
         + half_rows(G, "77777", "2025H1", 2000, 1880))
    settle(app, "2025H1")
    st, lines, _ = statement(db, mid, "2025H1")
    assert (lines[E].points, lines[G].points, lines[W].reason) == (40000, 12000, reasons.RESOURCE_NOT_USED)
    assert (st.points_table, st.points, st.won, st.cap_points_per_half) == ("commercial", 52000, 104000, 100000)


def test_example_12_region_rate_1_5(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000012"), (W, "12121"), (G, "34343")], rate="1.5")
    load(app, tmp_path, half_rows(E, "1000000012", "2025H2", 2000, 1840)
         + half_rows(W, "12121", "2025H2", 75, 63) + half_rows(G, "34343", "2025H2", 400, 388))
    settle(app, "2025H2")
    st, lines, _ = statement(db, mid, "2025H2")
    assert [lines[r].points for r in (E, W, G)] == [5000, 2000, 0]
    assert (st.rate, st.points, st.won, st.payout_month) == (Decimal("1.5"), 7000, 10500, 202606)


def test_effective_dated_rate_at_half_end(app, db, cipher, tmp_path, clock):
    mid = member(db, cipher, [(E, "1000000022")])
    with db.transaction() as s:
        s.add(LocalGovernmentRate(local_government_code="41117", effective_from=date(2025, 7, 1),
                                  won_per_point=Decimal("1.2"), created_at=clock.now().replace(tzinfo=None)))
        s.add(LocalGovernmentRate(local_government_code="41117", effective_from=date(2026, 1, 1),
                                  won_per_point=Decimal("1.8"), created_at=clock.now().replace(tzinfo=None)))
    load(app, tmp_path, half_rows(E, "1000000022", "2025H2", 2000, 1900))
    settle(app, "2025H2")
    st, _, _ = statement(db, mid, "2025H2")
    assert (st.rate, st.won) == (Decimal("1.2"), 6000)


def test_rate_region_is_address_at_half_end(app, db, cipher, tmp_path):
    with db.transaction() as s:
        add_lg(s, code="48250", sido="경상남도", name="김해시", rate="1")
    mid = member(db, cipher, [(E, "1000000023")],
                 address_history=[(date(2020, 1, 1), "41117"), (date(2025, 12, 1), "48250")])
    load(app, tmp_path, half_rows(E, "1000000023", "2025H2", 2000, 1900))
    settle(app, "2025H2")
    st, _, _ = statement(db, mid, "2025H2")
    assert (st.local_government_code, st.rate, st.won) == ("48250", Decimal("1"), 5000)


def test_example_13_yearly_maximum_both_halves(app, db, cipher, tmp_path):
    """All three resources >= 15% and <= 50% of a 30-member group average, both halves."""
    mid = member(db, cipher, [(E, "1000000013"), (W, "13131"), (G, "31313")])
    rows = []
    for half in ("2025H1", "2025H2"):
        rows += half_rows(E, "1000000013", half, 1000, 800) + half_rows(W, "13131", half, 100, 80) \
            + half_rows(G, "31313", half, 300, 240)
    with db.transaction() as s:
        for i in range(29):
            add_member(s, cipher, accounts=[(E, f"13000000{i:02d}"), (W, f"1300{i:02d}"), (G, f"3100{i:02d}")])
            for half in ("2025H1", "2025H2"):
                rows += half_rows(E, f"13000000{i:02d}", half, 4000, 4000) \
                    + half_rows(W, f"1300{i:02d}", half, 400, 400) + half_rows(G, f"3100{i:02d}", half, 1200, 1200)
    load(app, tmp_path, rows)
    settle(app, "2025H1")
    settle(app, "2025H2")
    h1, _, _ = statement(db, mid, "2025H1")
    h2, lines, _ = statement(db, mid, "2025H2")
    assert (h1.points, h1.won, h1.payout_month) == (33750, 67500, 202512)
    assert (h2.points, h2.won, h2.payout_month) == (33750, 67500, 202606)
    assert all(lines[r].standard_usage_qualified for r in (E, W, G))


def test_settling_twice_changes_nothing(app, db, cipher, tmp_path):
    member(db, cipher, [(E, "1000000030"), (W, "30303")])
    load(app, tmp_path, half_rows(E, "1000000030", "2025H1", 2000, 1700) + half_rows(W, "30303", "2025H1", 90, 88))
    settle(app, "2025H1")
    before = snapshot(db)
    res = settle(app, "2025H1")
    assert "0 new statement(s) (0 P), 0 changed, 1 unchanged; 0 adjustment(s)" in res.stdout
    after = snapshot(db)
    assert after["settlement_runs"] == before["settlement_runs"] + 1
    before.pop("settlement_runs"), after.pop("settlement_runs")
    assert after == before


def test_the_rules_fingerprint_is_the_same_in_every_process():
    """Settling again from another process (the next day's CLI run) must find the statements
    unchanged: the rules' fingerprint may not depend on the process's string-hash seed (the
    excluded tariffs are a set, whose order it changes)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("from core.rules import default_rules; from core.settlement.python_engine import rules_key;"
            " print(rules_key(default_rules()))")
    root = Path(__file__).resolve().parents[2]
    keys = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root,
                           env={**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(root)}).stdout.strip()
            for seed in range(6)}
    assert len(keys) == 1, keys


def test_corrected_readings_write_one_adjustment_and_keep_the_old_version(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000031")])
    load(app, tmp_path, half_rows(E, "1000000031", "2025H1", 2000, 1900), "a.csv")
    settle(app, "2025H1")
    # the provider corrects June 2025: 1,900 -> 1,700 total (r 15% -> 15,000 P)
    load(app, tmp_path, [(E, "1000000031", 202506, 316 - 200)], "b.csv")
    res = settle(app, "2025H1")
    assert "1 changed" in res.stdout and "1 adjustment(s) (+10000 P)" in res.stdout
    st, lines, ledger = statement(db, mid, "2025H1")
    assert (st.points, st.version, lines[E].band) == (15000, 2, 15)
    assert [(e.kind, e.points) for e in ledger] == [("settlement", 5000), ("adjustment", 10000)]
    with db.session() as s:
        rev = s.scalars(select(StatementRevision)).one()
        assert ledger_mismatches(s) == []
    assert (rev.version, rev.points, rev.snapshot["lines"][0]["points"]) == (1, 5000, 5000)


def test_half_not_ended_or_malformed_is_refused(app, db):
    res = cli(app, "settle", "--half", "2026H2")
    assert res.exit_code == 2 and "has not ended" in res.stderr
    res = cli(app, "settle", "--half", "2026H3")
    assert res.exit_code == 2 and "YYYYH1" in res.stderr


def test_a_running_settlement_blocks_a_second(db, clock):
    with db.transaction() as s:
        now = clock.now().replace(tzinfo=None)
        s.add(SettlementRun(half="2025H1", status="running", started_at=now, heartbeat_at=now))
    with pytest.raises(SettlementError, match="another settlement of 2025H1 is running"):
        settle_half(db, "2025H1", clock)


def test_a_crashed_run_is_taken_over(db, clock):
    from datetime import timedelta

    with db.transaction() as s:
        old = clock.now().replace(tzinfo=None) - timedelta(hours=1)
        s.add(SettlementRun(half="2025H1", status="running", started_at=old, heartbeat_at=old))
    res = settle_half(db, "2025H1", clock)
    with db.session() as s:
        statuses = sorted(r.status for r in s.scalars(select(SettlementRun)))
    assert statuses == ["abandoned", "completed"] and res.members == 0


def test_member_registered_mid_half_and_excluded_tariff(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000040", "separate", date(2025, 3, 20)), (W, "40404")],
                 joined=date(2025, 3, 20))
    load(app, tmp_path, half_rows(E, "1000000040", "2025H1", 2000, 1000) + half_rows(W, "40404", "2025H1", 90, 60))
    settle(app, "2025H1")
    st, lines, _ = statement(db, mid, "2025H1")
    assert lines[E].reason == reasons.NOT_REGISTERED_FOR_HALF
    # registered on 20 Mar 2025 for both (the helper uses the join day): water too
    assert lines[W].reason == reasons.NOT_REGISTERED_FOR_HALF and st.points == 0


def _many_members(app, db, cipher, tmp_path, n=24):
    rows = []
    for i in range(n):
        e, w = f"20000000{i:02d}", f"2{i:04d}"
        member(db, cipher, [(E, e), (W, w)], lg_code="41117" if i % 3 else "41135",
               lg="41117" if i % 3 else "41135", lg_name="수원시 영통구" if i % 3 else "성남시 분당구")
        rows += half_rows(E, e, "2025H1", 2000, 2000 - 40 * i) + half_rows(W, w, "2025H1", 90, 80 + i % 7)
    load(app, tmp_path, rows)


def test_settling_in_worker_processes_matches_the_pure_engine_and_is_idempotent(
        app, db, cipher, tmp_path, clock, monkeypatch):
    """Two forked workers settle a member range each; the standard-usage groups span both
    ranges. Every member is recomputed with core.points inside the workers (verify=-1)."""
    from core.settlement import workers

    _many_members(app, db, cipher, tmp_path)
    monkeypatch.setattr(workers, "PARALLEL_FROM", 1)
    res = settle_half(db, "2025H1", clock, workers=2, verify=-1)
    assert (res.members, res.created, res.verified) == (24, 24, 24)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PointStatement)) == 24
        assert s.scalar(select(func.sum(LedgerEntry.points))) == res.points_total
        assert ledger_mismatches(s) == []
        groups = set(s.execute(select(StatementLine.resource, StatementLine.group_level, StatementLine.group_n)
                               .where(StatementLine.group_n.is_not(None))).all())
        evaluated = dict(s.execute(select(StatementLine.resource, func.count())
                                   .where(StatementLine.evaluated.is_(True)).group_by(StatementLine.resource)).all())
    # each line's group counts the members of both ranges, not only its worker's
    national = {(r, n) for r, level, n in groups if level == "national"}
    assert national and all(n == evaluated[r] for r, n in national)
    before = snapshot(db)
    again = settle_half(db, "2025H1", clock, workers=2)
    assert (again.created, again.changed, again.unchanged) == (0, 0, 24)
    after = snapshot(db)
    before.pop("settlement_runs"), after.pop("settlement_runs")
    assert after == before


def test_a_failing_worker_fails_the_run_and_writes_nothing_more(app, db, cipher, tmp_path, clock, monkeypatch):
    from core.settlement import workers

    _many_members(app, db, cipher, tmp_path, n=8)
    monkeypatch.setattr(workers, "PARALLEL_FROM", 1)

    def broken(*a, **kw):
        raise RuntimeError("boom")

    monkeypatch.setattr(workers, "verify_with_pure_engine", broken)
    with pytest.raises(SettlementError, match="boom"):
        settle_half(db, "2025H1", clock, workers=2, verify=-1)
    with db.session() as s:
        assert [r.status for r in s.scalars(select(SettlementRun))] == ["failed"]
        assert s.scalar(select(func.count()).select_from(PointStatement)) == 0


def test_a_run_that_crashes_between_chunks_resumes_without_paying_twice(app, db, cipher, tmp_path,
                                                                        clock, monkeypatch):
    """Chunks commit on their own: after a crash the next run inserts only what is missing."""
    from core.settlement import sql_engine, workers

    _many_members(app, db, cipher, tmp_path, n=10)
    # the per-chunk writer of whichever path this backend takes fails on its second chunk
    module, name = (sql_engine, "insert_new") if db.is_postgres else (workers, "write_chunk")
    real, calls = getattr(module, name), []

    def crash_on_second(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real(*a, **kw)

    monkeypatch.setattr(module, name, crash_on_second)
    with pytest.raises(RuntimeError, match="power cut"):
        settle_half(db, "2025H1", clock, chunk=4, workers=1)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PointStatement)) == 4
        assert ledger_mismatches(s) == []
    monkeypatch.setattr(module, name, real)
    res = settle_half(db, "2025H1", clock, chunk=4, workers=1, verify=-1)
    assert (res.created, res.unchanged, res.changed, res.adjustments) == (6, 4, 0, 0)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PointStatement)) == 10
        assert s.scalar(select(func.sum(LedgerEntry.points))) == res.points_total
        assert ledger_mismatches(s) == []
        runs = [r.status for r in s.scalars(select(SettlementRun).order_by(SettlementRun.id))]
    assert runs == ["failed", "completed"]


@pytest.mark.parametrize("scope, water_streak", [("resource", 0), ("household", 1)])
def test_previous_streak_is_read_per_resource_or_per_household(app, db, cipher, tmp_path, clock,
                                                               scope, water_streak):
    from core.rules import load_rules

    rules = load_rules(overrides={"settings.maintenance_streak_scope": scope})
    mid = member(db, cipher, [(E, "1000000031"), (W, "1000000032")])
    # 2024H2: electricity reduced 11 % (a reduction half), water not at all
    load(app, tmp_path, half_rows(E, "1000000031", "2024H2", 2000, 1780)
         + half_rows(W, "1000000032", "2024H2", 30, 30)
         + half_rows(E, "1000000031", "2025H1", 2000, 2000)
         + half_rows(W, "1000000032", "2025H1", 30, 30))
    settle_half(db, "2024H2", clock, rules=rules, verify=-1)
    settle_half(db, "2025H1", clock, rules=rules, verify=-1)
    _, lines, _ = statement(db, mid, "2025H1")
    assert (lines[E].streak_before, lines[W].streak_before) == (1, water_streak)
