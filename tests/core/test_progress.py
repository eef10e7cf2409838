"""Prepared progress: the fair comparison (hidden under 20 peers), the prepared view equal to the
live one, and never shown stale (a new import, an account correction, another month)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, update

from core.models import Member, ResourceAccount
from core.models.progress import PreparedProgress
from core.points.periods import Half
from core.progress import MIN_PEERS, compare, comparison_groups, prepare_progress, read_prepared
from core.rules import default_rules
from core.statements import current_half_view
from tests.auxil.engine import add_lg, add_member, cli, half_rows, write_usage_csv

E = "electricity"
RULES = default_rules()
NOW = datetime(2026, 11, 22, 1, 0)
TODAY = date(2026, 11, 22)


def _group(n: int, start: int = 100) -> list[Decimal]:
    return [Decimal(start + 10 * i) for i in range(n)]


def test_comparison_hidden_under_20_peers():
    uses = _group(MIN_PEERS)  # 20 households: 19 peers each
    groups = comparison_groups(("41117", E, "individual", None, u) for u in uses)
    assert all(compare(groups, "41117", E, "individual", None, u, 202610) is None for u in uses)


def test_comparison_over_20_peers_is_correct():
    uses = _group(MIN_PEERS + 5)   # 25 households, 100..340
    groups = comparison_groups(("41117", E, "individual", None, u) for u in uses)
    best = compare(groups, "41117", E, "individual", None, Decimal(100), 202610)
    # best 20% of 25 = 5 households: at most 140; average 220
    assert best == {"resource": E, "month": "2026-10", "usage": "100", "efficient": "140", "average": "220",
                    "peers": 24, "same_size": False, "verdict": "great"}
    assert compare(groups, "41117", E, "individual", None, Decimal(140), 202610)["verdict"] == "great"
    assert compare(groups, "41117", E, "individual", None, Decimal(150), 202610)["verdict"] == "good"
    assert compare(groups, "41117", E, "individual", None, Decimal(220), 202610)["verdict"] == "good"
    assert compare(groups, "41117", E, "individual", None, Decimal(230), 202610)["verdict"] == "more"
    # other 시·군·구, resource or member type: its own group (none here)
    assert compare(groups, "41119", E, "individual", None, Decimal(100), 202610) is None
    assert compare(groups, "41117", "gas", "individual", None, Decimal(100), 202610) is None
    assert compare(groups, "41117", E, "commercial", None, Decimal(100), 202610) is None


def test_size_band_used_only_where_it_has_enough_peers():
    small = [("41117", E, "individual", 0, u) for u in _group(21, 100)]   # < 60 m2
    large = [("41117", E, "individual", 2, u) for u in _group(5, 500)]    # too few to compare alone
    groups = comparison_groups(small + large)
    c = compare(groups, "41117", E, "individual", 0, Decimal(100), 202610)
    assert c["same_size"] and c["peers"] == 20 and c["average"] == "200"
    c = compare(groups, "41117", E, "individual", 2, Decimal(500), 202610)
    assert not c["same_size"] and c["peers"] == 25  # falls back to the whole 시·군·구 group


def _members(app, db, cipher, tmp_path, n: int) -> list[int]:
    ids, rows = [], []
    with db.transaction() as s:
        add_lg(s)
        for i in range(n):
            number = f"50000{i:05d}"
            ids.append(add_member(s, cipher, accounts=[(E, number)]).id)
            rows += half_rows(E, number, "2026H2", monthly_baseline=[300] * 6,
                              monthly_actual=[290 - i] * 4 + [None, None])
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "u.csv", rows)).exit_code == 0
    return ids


def _prepare(db, through=202611):
    with db.engine.begin() as conn:
        return prepare_progress(conn, through, RULES, NOW)


def _comparable(view: dict) -> dict:
    return {k: v for k, v in view.items() if k != "comparison"}


def test_prepared_equals_live_and_comparison_in_bulk(app, db, cipher, tmp_path):
    ids = _members(app, db, cipher, tmp_path, MIN_PEERS + 1)
    result, _ = _prepare(db)
    assert result.written == len(ids) and result.compared == len(ids)
    with db.session() as s:
        for mid in (ids[0], ids[-1]):
            member = s.get(Member, mid)
            prepared = read_prepared(s, member, TODAY)
            assert prepared is not None
            assert _comparable(prepared) == _comparable(current_half_view(s, mid, TODAY)) | {"managed": []}
            assert prepared["projection"]["resources"][0]["resource"] == E
        c = read_prepared(s, s.get(Member, ids[0]), TODAY)["comparison"][0]
        assert (c["month"], c["usage"], c["peers"], c["verdict"]) == ("2026-10", "290", MIN_PEERS, "more")
        c = read_prepared(s, s.get(Member, ids[-1]), TODAY)["comparison"][0]
        assert c["verdict"] == "great"


def test_comparison_hidden_in_bulk_under_20(app, db, cipher, tmp_path):
    ids = _members(app, db, cipher, tmp_path, MIN_PEERS)
    _prepare(db)
    with db.session() as s:
        assert read_prepared(s, s.get(Member, ids[0]), TODAY)["comparison"] == []


def test_never_stale_import_correction_and_month(app, db, cipher, tmp_path):
    ids = _members(app, db, cipher, tmp_path, 3)
    _prepare(db)
    with db.session() as s:
        assert s.scalar(select(PreparedProgress).where(PreparedProgress.member_id == ids[0])) is not None
        # another month: not used (the row was made for November)
        assert read_prepared(s, s.get(Member, ids[0]), date(2026, 12, 1)) is None
    # a new import touching member 0's supply point drops its row, not the others'
    rows = [(E, "5000000000", 202611, 250)]
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "v.csv", rows)).exit_code == 0
    with db.session() as s:
        assert s.get(PreparedProgress, ids[0]) is None
        assert s.get(PreparedProgress, ids[1]) is not None
        view = current_half_view(s, ids[0], TODAY)
        assert "2026-11" in view["resources"][0]["months_with_data"]  # the live figures are new
    # a correction of an account (tariff) makes the row unusable
    with db.transaction() as s:
        s.execute(update(ResourceAccount).where(ResourceAccount.member_id == ids[1]).values(tariff="agricultural"))
    with db.session() as s:
        assert read_prepared(s, s.get(Member, ids[1]), TODAY) is None
        assert read_prepared(s, s.get(Member, ids[2]), TODAY) is not None
    assert Half.of_date(TODAY) == Half.parse("2026H2")


def test_monthly_results_prepare_and_carry_projection(app, db, cipher, tmp_path):
    from core.models import Notification

    ids = _members(app, db, cipher, tmp_path, MIN_PEERS + 1)
    assert cli(app, "monthly-results", "--month", "2026-10").exit_code == 0
    with db.session() as s:
        note = s.scalars(select(Notification).where(Notification.member_id == ids[0])).one()
        proj = note.payload["projection"]["resources"][0]
        # 290 vs 300: 3.33 % so far; 2 months left; the 5 % band needs less
        assert proj["rate_to_date"].startswith("3.33") and proj["months_left"] == 2 and proj["next_band"] == "5"
        assert note.payload["comparison"][0]["peers"] == MIN_PEERS
        assert read_prepared(s, s.get(Member, ids[0]), TODAY) is not None


def test_a_settlement_drops_prepared_rows(app, db, cipher, tmp_path, clock):
    from core.settlement import settle_half

    _members(app, db, cipher, tmp_path, 2)
    _prepare(db)
    settle_half(db, "2026H1", clock)
    with db.session() as s:
        assert s.scalars(select(PreparedProgress)).first() is None


def test_a_reading_under_an_excluded_tariff_excludes_the_prepared_resource(app, db, cipher, tmp_path):
    """Spec E5 in the bulk preparation: a month of the half billed late-night excludes the
    resource (as the live view does), and the row stays usable (the account is unchanged)."""
    from tests.core.test_import_tariffs import tariffed, write

    with db.transaction() as s:
        add_lg(s)
        farm = add_member(s, cipher, accounts=[(E, "5100000001")]).id
        home = add_member(s, cipher, accounts=[(E, "5100000002")]).id
    rows = tariffed(half_rows(E, "5100000001", "2026H2", monthly_baseline=[300] * 6,
                              monthly_actual=[280] * 4 + [None, None]), "late_night", months={202609})
    rows += tariffed(half_rows(E, "5100000002", "2026H2", monthly_baseline=[300] * 6,
                               monthly_actual=[280] * 4 + [None, None]), "general")
    # an excluded tariff in an earlier half does not exclude this one
    rows = [r if r[2] != 202509 or r[1] != "5100000002" else (*r[:4], "agricultural") for r in rows]
    assert cli(app, "import-usage", write(tmp_path / "t.csv", rows)).exit_code == 0
    _prepare(db)
    with db.session() as s:
        prepared = read_prepared(s, s.get(Member, farm), TODAY)
        assert prepared is not None
        assert prepared["resources"][0]["reason"] == "EXCLUDED_TARIFF" and prepared["points"] == 0
        assert _comparable(prepared) == _comparable(current_half_view(s, farm, TODAY)) | {"managed": []}
        other = read_prepared(s, s.get(Member, home), TODAY)
        assert other["resources"][0]["reason"] is None and other["points"] > 0
        assert _comparable(other) == _comparable(current_half_view(s, home, TODAY)) | {"managed": []}


def test_monthly_results_across_halves_carry_the_results_half(app, db, cipher, tmp_path):
    """January's run for December: the cards are prepared for the new half, the notices carry
    the projection of December's half (chunk by chunk, the two preparations side by side)."""
    from core.clock import KST, FixedClock
    from core.models import Notification
    from core.monthly import monthly_results

    ids = _members(app, db, cipher, tmp_path, 3)
    result = monthly_results(db, "2026-12", FixedClock(datetime(2027, 1, 5, 10, tzinfo=KST)))
    assert result.written == len(ids)
    with db.session() as s:
        for mid in ids:
            note = s.scalars(select(Notification).where(Notification.member_id == mid)).one()
            assert note.payload["projection"]["half"] == "2026H2"
            assert note.payload["projection"]["through_month"] == 202612
            assert note.payload["comparison"] == []  # under 20 peers
            row = s.get(PreparedProgress, mid)
            assert (row.half, row.through_month) == ("2027H1", 202701)
