"""Green-life: activity import (validation like usage), monthly confirmation with bonus and cap
(spec §13 #14 and #15 end to end), idempotent."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.models import GreenlifeAward
from core.statements import greenlife_year_view
from tests.auxil.engine import add_greenlife, add_lg, add_member, cli, snapshot, write_activities_csv


def member(db, cipher):
    """An energy member's id (the partner mapping's member_ref) with a green-life membership."""
    with db.transaction() as s:
        add_lg(s)
        m = add_member(s, cipher, accounts=[("electricity", "6000000001")])
        add_greenlife(s, m)
        return m.id


def greenlife_id(db, member_id):
    from core.greenlife_members import membership_of_member

    with db.session() as s:
        return membership_of_member(s, member_id).id


def test_example_15_first_month_with_bonus(app, db, cipher, tmp_path):
    mid = member(db, cipher)
    f = write_activities_csv(tmp_path / "a.csv", [(mid, "e_receipt", 20, "2026-03-05", "shop-1"),
                                   (mid, "tumbler", 10, "2026-03-06", "cafe-9"),
                                   (mid, "refill_station", 2, "2026-03-20", "refill-2"),
                                   (mid, "phone_return", 1, "2026-03-28", "telco")])
    res = cli(app, "import-activities", f)
    assert res.exit_code == 0, res.stderr
    res = cli(app, "greenlife-confirm", "--month", "2026-03")
    assert res.exit_code == 0, res.stderr
    gid = greenlife_id(db, mid)
    assert "15000 won" in res.stdout and "1 first-action bonus" in res.stdout
    with db.session() as s:
        award = s.scalars(select(GreenlifeAward)).one()
        assert (award.accrued_won, award.bonus_won, award.won) == (10000, 5000, 15000)
        assert (str(award.confirm_date), str(award.pay_from_date)) == ("2026-04-16", "2026-04-23")
        view = greenlife_year_view(s, gid, 2026)
    assert (view["awarded"], view["remaining"], view["bonus_received"]) == (15000, 55000, True)
    before = snapshot(db)
    res = cli(app, "greenlife-confirm", "--month", "2026-03")
    assert res.exit_code == 0 and "already confirmed" in res.stdout
    assert snapshot(db) == before
    # the confirmed month takes no more activities
    res = cli(app, "import-activities", write_activities_csv(tmp_path / "late.csv", [(mid, "tumbler", 1, "2026-03-30", "cafe-9")]))
    assert res.exit_code == 2 and "2026-03 is already confirmed" in res.stderr


def test_example_14_yearly_cap_cuts_the_crossing_award(app, db, cipher, tmp_path):
    mid = member(db, cipher)
    # Jan: bonus + 31,000; Feb: 30,000 -> 66,000 through the year so far
    rows = [(mid, "refill_station", 15, "2026-01-10", "r"), (mid, "e_receipt", 10, "2026-01-11", "s"),
            (mid, "refill_station", 15, "2026-02-10", "r")]
    assert cli(app, "import-activities", write_activities_csv(tmp_path / "a.csv", rows)).exit_code == 0
    assert cli(app, "greenlife-confirm", "--month", "2026-01").exit_code == 0
    assert cli(app, "greenlife-confirm", "--month", "2026-02").exit_code == 0
    rows = [(mid, "tumbler", 30, "2026-03-02", "cafe"), (mid, "e_receipt", 4, "2026-03-03", "s")]
    assert cli(app, "import-activities", write_activities_csv(tmp_path / "b.csv", rows)).exit_code == 0
    assert cli(app, "greenlife-confirm", "--month", "2026-03").exit_code == 0
    assert cli(app, "import-activities", write_activities_csv(tmp_path / "c.csv", [(mid, "tumbler", 5, "2026-04-02", "cafe")])).exit_code == 0
    assert cli(app, "greenlife-confirm", "--month", "2026-04").exit_code == 0
    with db.session() as s:
        awards = {a.month: a for a in s.scalars(select(GreenlifeAward))}
    assert [awards[m].won for m in (202601, 202602, 202603, 202604)] == [36000, 30000, 4000, 0]
    assert (awards[202603].accrued_won, awards[202603].cut_won) == (9400, 5400)


def test_bad_activity_file_changes_nothing_and_order_is_enforced(app, db, cipher, tmp_path):
    mid = member(db, cipher)
    before = snapshot(db)
    f = write_activities_csv(tmp_path / "bad.csv", [(mid, "tumbler", 1, "2026-03-02", "cafe"),
                                     (999, "tumbler", 1, "2026-03-02", "cafe"),
                                     (mid, "bicycle_x", 1, "2026-03-02", "cafe"),
                                     (mid, "tumbler", -1, "2026-03-03", "cafe"),
                                     (mid, "tumbler", 1, "2026-02-30", "cafe"),
                                     (mid, "tumbler", 2, "2026-03-02", "cafe")])
    res = cli(app, "import-activities", f)
    assert res.exit_code == 2
    for expected in ("line 3: no active green-life membership for 999", "line 4: unknown item 'bicycle_x'",
                     "line 5: quantity must not be negative", "line 6: date must be a real day",
                     "line 2: duplicate key", "line 7: duplicate key"):
        assert expected in res.stderr
    assert snapshot(db) == before
    res = cli(app, "import-activities", f, "--skip-invalid")
    assert res.exit_code == 0 and "6 row(s): 0 new" in res.stdout  # both duplicates rejected too
    assert (tmp_path / "bad.rejected.csv").exists()
    ok = write_activities_csv(tmp_path / "ok.csv", [(mid, "tumbler", 1, "2026-03-02", "cafe"),
                                     (mid, "tumbler", 1, "2026-05-02", "cafe")])
    assert cli(app, "import-activities", ok).exit_code == 0
    res = cli(app, "greenlife-confirm", "--month", "2026-05")
    assert res.exit_code == 2 and "confirm the earlier months of the year first: 2026-03" in res.stderr
    res = cli(app, "greenlife-confirm", "--month", "2026-11")
    assert res.exit_code == 2 and "confirmed on 2026-12-16" in res.stderr


def test_the_quiet_digest_queues_one_message_for_members_who_asked(app, db, cipher, tmp_path):
    from core.models import Member, Notification
    from core.push_preferences import set_digest

    mid = member(db, cipher)
    with db.transaction() as s:
        other = add_member(s, cipher, accounts=[("electricity", "6000000002")])
        add_greenlife(s, other)
        other_id = other.id
        set_digest(s, s.get(Member, mid), True)
    rows = [(mid, "e_receipt", 20, "2026-03-05", "shop-1"), (mid, "tumbler", 10, "2026-03-06", "cafe-9"),
            (other_id, "tumbler", 10, "2026-03-06", "cafe-9")]
    assert cli(app, "import-activities", write_activities_csv(tmp_path / "a.csv", rows)).exit_code == 0
    res = cli(app, "greenlife-confirm", "--month", "2026-03")
    assert res.exit_code == 0 and "1 digest message(s) queued" in res.stdout
    gid = greenlife_id(db, mid)
    with db.session() as s:
        notes = s.scalars(select(Notification)).all()
        assert [(n.member_id, n.kind, n.period) for n in notes] == [(mid, "greenlife_digest", "2026-03")]
        award = s.scalars(select(GreenlifeAward).where(GreenlifeAward.greenlife_member_id == gid)).one()
        assert notes[0].payload["won"] == award.won and notes[0].payload["pay_from_date"] == "2026-04-23"
    # turning the digest off drops what is queued
    with db.transaction() as s:
        assert set_digest(s, s.get(Member, mid), False, now=datetime(2026, 4, 17)) == 1
    with db.session() as s:
        assert s.scalars(select(Notification)).one().state == "skipped"


def test_partners_item_names_and_written_dates_are_read(app, db, cipher, tmp_path):
    """A partner's file names items as the programme does ('전자영수증', '텀블러') and writes
    dates as 2026.03.05: read as the codes; the same action written both ways is one duplicate."""
    mid = member(db, cipher)
    f = write_activities_csv(tmp_path / "k.csv", [(mid, "전자영수증", 20, "2026.03.05", "shop-1"),
                                                  (mid, "텀블러", 10, "20260306", "cafe-9"),
                                                  (mid, "다회용 컵", 1, "2026년 3월 7일", "cafe-9")])
    res = cli(app, "import-activities", f)
    assert res.exit_code == 0, res.stderr
    res = cli(app, "greenlife-confirm", "--month", "2026-03")
    assert res.exit_code == 0 and "1 first-action bonus" in res.stdout
    with db.session() as s:
        award = s.scalars(select(GreenlifeAward)).one()
    assert award.accrued_won > 0
    twice = write_activities_csv(tmp_path / "twice.csv", [(mid, "tumbler", 1, "2026-04-02", "cafe"),
                                                          (mid, "텀블러", 2, "2026.04.02", "cafe")])
    res = cli(app, "import-activities", twice)
    assert res.exit_code == 2 and "line 2: duplicate key" in res.stderr and "line 3: duplicate key" in res.stderr
