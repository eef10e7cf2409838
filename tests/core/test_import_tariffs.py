"""The optional tariff column of import-usage (issue 16, spec E5): agricultural and late-night
electricity are not evaluated (EXCLUDED_TARIFF), which settlement and balance show."""
from __future__ import annotations

import csv

from sqlalchemy import select

from core.models import MeterReading
from core.points import reasons
from tests.auxil.engine import cli, half_rows, snapshot
from tests.core.test_settlement import E, W, member, settle, statement


def write(path, rows, header=("resource", "customer_number", "month", "amount", "tariff")):
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for resource, number, month, amount, *rest in rows:
            if isinstance(month, int):
                month = f"{month // 100:04d}-{month % 100:02d}"
            w.writerow([resource, number, month, amount, *rest])
    return path


def tariffed(rows, tariff, months=None):
    return [(r, n, m, a, tariff if months is None or m in months else "") for r, n, m, a in rows]


def test_an_agricultural_tariff_is_excluded(app, db, cipher, tmp_path):
    farm = member(db, cipher, [(E, "1000000071"), (W, "70707")])
    home = member(db, cipher, [(E, "1000000072")])
    rows = tariffed(half_rows(E, "1000000071", "2025H1", 2000, 1000), "agricultural", months={202503})
    rows += tariffed(half_rows(W, "70707", "2025H1", 90, 60), "")
    rows += tariffed(half_rows(E, "1000000072", "2025H1", 2000, 1000), "general")
    res = cli(app, "import-usage", write(tmp_path / "t.csv", rows))
    assert res.exit_code == 0, res.stderr
    settle(app, "2025H1")
    _, lines, _ = statement(db, farm, "2025H1")
    assert lines[E].reason == reasons.EXCLUDED_TARIFF and lines[E].points == 0
    assert lines[W].reason is None and lines[W].points > 0  # water is not concerned
    _, lines, _ = statement(db, home, "2025H1")
    assert lines[E].reason is None and lines[E].points > 0  # general is eligible


def test_a_tariff_in_an_earlier_half_does_not_exclude_this_one(app, db, cipher, tmp_path):
    mid = member(db, cipher, [(E, "1000000073")])
    rows = half_rows(E, "1000000073", "2025H1", 2000, 1000)
    rows = [(r, n, m, a, "late_night" if m < 202501 else "") for r, n, m, a in rows]
    assert cli(app, "import-usage", write(tmp_path / "t.csv", rows)).exit_code == 0
    settle(app, "2025H1")
    _, lines, _ = statement(db, mid, "2025H1")
    assert lines[E].reason is None


def test_korean_tariff_names_and_a_file_without_the_column_keeps_the_tariff(app, db, cipher, tmp_path):
    src = write(tmp_path / "k.csv", [(E, "1000000074", 202501, "100", "농사용"),
                                     (E, "1000000074", 202502, "100", "심야 전력")])
    assert cli(app, "import-usage", src).exit_code == 0
    again = write(tmp_path / "n.csv", [(E, "1000000074", 202501, "120")],
                  header=("resource", "customer_number", "month", "amount"))
    assert cli(app, "import-usage", again).exit_code == 0
    fixed = write(tmp_path / "g.csv", [(E, "1000000074", 202502, "100", "general")])
    res = cli(app, "import-usage", fixed)
    assert res.exit_code == 0 and "months whose tariff changed: 1" in res.stdout
    with db.session() as s:
        got = {r.month: (r.amount, r.tariff) for r in s.scalars(select(MeterReading))}
    assert {m: t for m, (_, t) in got.items()} == {202501: "agricultural", 202502: "general"}
    assert got[202501][0] == 120


def test_bad_tariffs_are_refused_with_their_line(app, db, tmp_path):
    src = write(tmp_path / "b.csv", [(E, "1000000075", 202501, "100", "industrial"),
                                     (W, "70707", 202501, "5", "agricultural"),
                                     (E, "1000000075", 202502, "100", "general"),
                                     (E, "1000000075", 202502, "100", "late_night")])
    before = snapshot(db)
    res = cli(app, "import-usage", src)
    assert res.exit_code == 2 and snapshot(db) == before
    assert "line 2: unknown tariff 'industrial' (expected general|agricultural|late_night, or empty)" in res.stderr
    assert "line 3: tariff agricultural is an electricity tariff, not one of water" in res.stderr
    assert "100 (general) on line 4, 100 (late_night) on line 5" in res.stderr


def test_a_header_with_an_unknown_column_is_refused(app, db, tmp_path):
    src = write(tmp_path / "h.csv", [(E, "1000000075", 202501, "100", "x")],
                header=("resource", "customer_number", "month", "amount", "rate"))
    res = cli(app, "import-usage", src)
    assert res.exit_code == 2
    assert "header must be resource,customer_number,month,amount[,tariff]" in res.stderr
