"""Usage import: whole-file validation, nothing written on a bad file, --skip-invalid, re-import
audit, readings of unregistered customer numbers kept."""
from __future__ import annotations

import csv
import shutil
from decimal import Decimal

from sqlalchemy import select

from core.models import ImportChange, ImportRun, MeterReading
from core.usage_import import reading_key, supply_key_hash
from tests.auxil.engine import CSV_FIXTURES, add_lg, add_member, cli, snapshot, write_usage_csv


def readings(db):
    with db.session() as s:
        return {(r.resource, r.supply_key_hash, r.month): r.amount
                for r in s.scalars(select(MeterReading))}


def test_good_file_imports_every_row_keyed_by_hash(app, db, cipher, tmp_path):
    src = shutil.copy(CSV_FIXTURES / "usage_good.csv", tmp_path / "u.csv")
    res = cli(app, "import-usage", src)
    assert res.exit_code == 0, res.stderr
    assert "5 row(s): 5 new, 0 changed, 0 unchanged" in res.stdout
    got = readings(db)
    key = ("electricity", supply_key_hash(cipher, "electricity", "0123456789"), 202601)
    assert got[key] == Decimal("320")  # hyphens removed before hashing
    assert got[("electricity", supply_key_hash(cipher, "electricity", "0123456789"), 202602)] == Decimal("300.5")
    assert got[("water", supply_key_hash(cipher, "water", "12345"), 202601)] == Decimal("12.125")
    # no customer number in readable form anywhere in the readings
    assert all("0123456789" not in k[1] for k in got)
    with db.session() as s:
        run = s.scalars(select(ImportRun)).one()
    assert (run.kind, run.status, run.rows_total, run.rows_inserted) == ("usage", "succeeded", 5, 5)
    assert len(run.sha256) == 64 and run.finished_at is not None


def test_bad_file_lists_every_problem_and_changes_nothing(app, db, tmp_path):
    src = shutil.copy(CSV_FIXTURES / "usage_bad.csv", tmp_path / "bad.csv")
    before = snapshot(db)
    res = cli(app, "import-usage", src)
    assert res.exit_code == 2
    err = res.stderr
    assert "line 3: unknown resource 'heat'" in err
    assert "line 4: month must be YYYY-MM" in err
    assert "line 5: amount must not be negative" in err
    assert "line 6: amount must be a non-negative decimal" in err
    assert "line 2: duplicate key" in err and "line 7: duplicate key" in err
    assert "line 8: amount must be a non-negative decimal with at most 3 decimals" in err
    assert "0123456789" not in err  # customer numbers are masked in messages
    assert snapshot(db) == before
    assert not (tmp_path / "bad.rejected.csv").exists()


def test_skip_invalid_keeps_good_rows_and_writes_rejects_beside_input(app, db, tmp_path):
    src = write_usage_csv(tmp_path / "mixed.csv", [
        ("electricity", "0123456789", 202601, "320"),
        ("electricity", "0123456789", "2026-13", "10"),
        ("water", "12345", 202601, "-1"),
        ("gas", "7777777", 202601, "12"),
    ])
    res = cli(app, "import-usage", src, "--skip-invalid")
    assert res.exit_code == 0, res.stderr
    assert "2 rejected" in res.stdout
    assert len(readings(db)) == 2
    with (tmp_path / "mixed.rejected.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["line"] for r in rows] == ["3", "4"]
    assert "month must be YYYY-MM" in rows[0]["reason"] and "negative" in rows[1]["reason"]
    with db.session() as s:
        run = s.scalars(select(ImportRun)).one()
    assert (run.status, run.rows_rejected) == ("partial", 2)


def test_reimport_replaces_value_and_audits_only_changes(app, db, cipher, tmp_path):
    first = write_usage_csv(tmp_path / "a.csv", [("electricity", "0123456789", 202601, "320"),
                                                 ("electricity", "0123456789", 202602, "300")])
    assert cli(app, "import-usage", first).exit_code == 0
    second = write_usage_csv(tmp_path / "b.csv", [("electricity", "0123456789", 202601, "310"),
                                                  ("electricity", "0123456789", 202602, "300"),
                                                  ("electricity", "0123456789", 202603, "290")])
    res = cli(app, "import-usage", second)
    assert res.exit_code == 0, res.stderr
    assert "3 row(s): 1 new, 1 changed, 1 unchanged" in res.stdout
    h = supply_key_hash(cipher, "electricity", "0123456789")
    assert readings(db)[("electricity", h, 202601)] == Decimal("310")
    with db.session() as s:
        changes = s.scalars(select(ImportChange)).all()
    assert len(changes) == 1
    assert (changes[0].key, changes[0].old_value, changes[0].new_value) == (
        f"electricity:KEPCO:{h}:202601", Decimal("320"), Decimal("310"))
    assert changes[0].key == reading_key("electricity", "KEPCO", h, 202601)


def test_readings_of_unregistered_numbers_are_kept_for_later_members(app, db, cipher, tmp_path):
    src = write_usage_csv(tmp_path / "u.csv", [("electricity", "5555555555", 202501, "300")])
    res = cli(app, "import-usage", src)
    assert "supply points nobody has registered yet: 1" in res.stdout
    with db.transaction() as s:
        add_lg(s)
        add_member(s, cipher, accounts=[("electricity", "555-555-5555")])
    res = cli(app, "import-usage", write_usage_csv(tmp_path / "v.csv",
                                                   [("electricity", "5555555555", 202502, "280")]))
    assert "supply points nobody has registered yet: 0" in res.stdout
    assert len(readings(db)) == 2


def test_bom_crlf_and_future_month_and_rrn(app, db, tmp_path):
    src = shutil.copy(CSV_FIXTURES / "usage_bom_crlf.csv", tmp_path / "bom.csv")
    assert cli(app, "import-usage", src).exit_code == 0
    bad = write_usage_csv(tmp_path / "f.csv", [("electricity", "0123456789", 202612, "1"),
                                               ("water", "900101-1234567", 202601, "1")])
    res = cli(app, "import-usage", bad)
    assert res.exit_code == 2
    assert "line 2: month 2026-12 is in the future" in res.stderr  # clock: 2026-11-22 KST
    assert "line 3: customer_number looks like a resident registration number" in res.stderr
    assert "1234567" not in res.stderr


def test_bad_header_and_missing_file(app, db, tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("resource,number,month,amount\nelectricity,1,2026-01,1\n", encoding="utf-8")
    res = cli(app, "import-usage", p)
    assert res.exit_code == 2 and "line 1: header must be resource,customer_number,month,amount" in res.stderr
    for sep, name in (("\t", "tabs"), (";", "semicolons")):  # Excel's tab-delimited text, a European CSV
        p.write_text(sep.join(["resource", "customer_number", "month", "amount"]) + "\n"
                     + sep.join(["electricity", "0123456789", "2026-01", "1"]) + "\n", encoding="utf-8")
        res = cli(app, "import-usage", p)
        assert res.exit_code == 2 and f"line 1: the columns are separated by {name}: save the file as CSV" in res.stderr
    res = cli(app, "import-usage", tmp_path / "nope.csv")
    assert res.exit_code == 2 and "cannot read" in res.stderr
    p.write_bytes(b"resource,customer_number,month,amount\nelectricity,\xff\xfe,2026-01,1\n")
    res = cli(app, "import-usage", p)
    assert res.exit_code == 2 and "line 2: the file is not UTF-8" in res.stderr


def test_amounts_with_thousands_grouped_as_spreadsheets_write_them(app, db, cipher, tmp_path):
    src = write_usage_csv(tmp_path / "a.csv", [("electricity", "0123456789", 202501, "1,234"),
                                               ("electricity", "0123456789", 202502, "1,234.5"),
                                               ("electricity", "0123456789", 202503, "987")])
    res = cli(app, "import-usage", src)
    assert res.exit_code == 0, res.stderr
    key = supply_key_hash(cipher, "electricity", "0123456789")
    assert sorted((m, float(a)) for (_, k, m), a in readings(db).items() if k == key) == [
        (202501, 1234.0), (202502, 1234.5), (202503, 987.0)]


def test_months_as_utilities_and_spreadsheets_write_them(app, db, cipher, tmp_path):
    """2026-1, 202601, 2026.01, 2026/01, 2026년 1월 and Excel's date of a month are the month; a
    date on another day (a billing date) and 2026-13 are refused with the forms accepted."""
    good = ["2025-1", "202502", "2025.03", "2025/04", "2025년 5월", "2025-06-01", "2025.07.01"]
    src = write_usage_csv(tmp_path / "m.csv", [("electricity", "0123456789", m, "300") for m in good])
    res = cli(app, "import-usage", src)
    assert res.exit_code == 0, res.stderr
    key = supply_key_hash(cipher, "electricity", "0123456789")
    assert sorted(m for (_, k, m) in readings(db) if k == key) == [202501 + i for i in range(7)]
    bad = write_usage_csv(tmp_path / "b.csv", [("electricity", "0123456789", m, "300")
                                               for m in ("2025-08-15", "2025-13", "Aug-25")])
    res = cli(app, "import-usage", bad)
    assert res.exit_code == 2
    for line, value in ((2, "2025-08-15"), (3, "2025-13"), (4, "Aug-25")):
        assert f"line {line}: month must be YYYY-MM (or 202601, 2026.01, 2026/01, or the 1st of the month as a date):" \
               f" '{value}'" in res.stderr
