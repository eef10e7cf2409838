"""Apartment complexes (`cpoint import-complexes`) and the unit-readings file of `cpoint
import-usage`: validation by line, nothing written on a bad file, idempotent re-imports, readings
kept under the unit's key whether or not anyone registered the unit."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.complexes import ComplexUnit, normalise_dong, normalise_ho, unit_supply_key_hash
from core.models import ApartmentComplex, ImportRun, MeterReading
from tests.auxil.engine import cli

HEADER = "complex_code,name,road_address,jibun_address,dongs,electricity,water,gas"
ROW = "A1001,광교호수마을,경기도 수원시 영통구 광교호수로 152,경기도 수원시 영통구 이의동 1350,101|102|103,managed:이지스,managed:이지스,separate"
UNIT_HEADER = "resource,complex_code,dong,ho,month,amount"


def write(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def complexes(db) -> dict[str, ApartmentComplex]:
    with db.session() as s:
        return {cx.code: cx for cx in s.scalars(select(ApartmentComplex))}


def load_complex(app, tmp_path, *rows: str):
    res = cli(app, "import-complexes", write(tmp_path / "complexes.csv", HEADER, *(rows or (ROW,))))
    assert res.exit_code == 0, res.output
    return res


def test_a_complex_is_imported_with_both_address_forms_dongs_and_billing(app, db, tmp_path):
    res = load_complex(app, tmp_path)
    assert "1 new, 0 updated, 0 unchanged" in res.stdout
    cx = complexes(db)["A1001"]
    assert cx.name == "광교호수마을" and cx.dongs == ["101", "102", "103"]
    assert cx.road_key == "경기도수원시영통구광교호수로152" and cx.jibun_key == "경기도수원시영통구이의동1350"
    assert cx.resources == {"electricity": {"mode": "managed", "company": "이지스"},
                            "water": {"mode": "managed", "company": "이지스"},
                            "gas": {"mode": "separate", "company": None}}


def test_reimport_is_idempotent_and_updates(app, db, tmp_path):
    load_complex(app, tmp_path)
    again = load_complex(app, tmp_path)
    assert "0 new, 0 updated, 1 unchanged" in again.stdout
    changed = ROW.replace("101|102|103", "101동|102동|103동|104동").replace("separate", "none")
    res = load_complex(app, tmp_path, changed)
    assert "0 new, 1 updated, 0 unchanged" in res.stdout
    cx = complexes(db)["A1001"]
    assert cx.dongs == ["101", "102", "103", "104"] and cx.resources["gas"] == {"mode": "none", "company": None}
    assert len(complexes(db)) == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ImportRun).where(ImportRun.kind == "complexes")) == 3


@pytest.mark.parametrize("written", ["101-103|201", "101동~103동|201동", '"101, 102, 103, 201"', "101-103 201"])
def test_dongs_as_registries_write_them_ranges_included(app, db, tmp_path, written):
    load_complex(app, tmp_path, ROW.replace("101|102|103", written))
    assert complexes(db)["A1001"].dongs == ["101", "102", "103", "201"]


def test_every_bad_row_is_reported_by_line_and_nothing_is_written(app, db, tmp_path):
    path = write(tmp_path / "bad.csv", HEADER, ROW,
                 "B 2,,서울 어딘가,,,managed:,water?,gas",                                    # line 3
                 "A1002,둘째단지,경기도 수원시 영통구 이의동 1350,,101|101,none,none,none",      # line 4
                 "A1003,셋째단지,경기도 수원시 영통구 광교로 1 101동,,１０１,separate,managed:한빛,none",  # line 5
                 "A1004,넷째단지,경기도 수원시 영통구 광교호수로 152,,201,separate,none,none",   # line 6
                 "A1005,too,few")                                                            # line 7
    res = cli(app, "import-complexes", path)
    assert res.exit_code == 2
    err = res.stderr
    assert "nothing was imported" in err
    assert "line 3: complex_code must be letters" in err and "line 3: name must be" in err
    assert "line 3: road_address must be a road-name address" in err and "line 3: dongs is empty" in err
    assert "line 3: electricity: the billing company" in err and "line 3: water must be managed:" in err
    assert "line 3: gas must be managed:" in err
    assert "line 4: road_address must be a road-name address" in err and "line 4: dongs: '101' is listed twice" in err
    assert "line 4: electricity cannot be none" in err
    assert "line 5: road_address must be the complex's address without a 동/호" in err
    assert "line 5: dongs contains '１'" in err
    assert "line 6: the same address is given for complex A1001 on line 2" in err
    assert "line 7: expected 8 fields" in err
    assert complexes(db) == {}


def test_an_address_of_another_registered_complex_is_refused(app, db, tmp_path):
    load_complex(app, tmp_path)
    other = "A2000,다른단지,경기도 수원시 영통구 광교호수로 152,,201,separate,none,none"
    res = cli(app, "import-complexes", write(tmp_path / "other.csv", HEADER, other))
    assert res.exit_code == 2 and "line 2: the address is already registered for complex A1001" in res.stderr
    assert set(complexes(db)) == {"A1001"}


def test_the_header_is_pinned(app, db, tmp_path):
    res = cli(app, "import-complexes", write(tmp_path / "h.csv", HEADER.replace("dongs", "buildings"), ROW))
    assert res.exit_code == 2 and "header must be " + HEADER in res.stderr


def test_a_cp949_complexes_file(app, db, tmp_path):
    path = write(tmp_path / "cp.csv", HEADER, ROW, encoding="cp949")
    assert cli(app, "import-complexes", path).exit_code == 2
    res = cli(app, "import-complexes", path, "--encoding", "cp949")
    assert res.exit_code == 0, res.output and complexes(db)["A1001"].name == "광교호수마을"


@pytest.mark.parametrize("typed, dong", [("101", "101"), ("101동", "101"), ("제101동", "101"), ("a", "A"),
                                         ("０１０１", "101"), ("가", "가")])
def test_dong_spellings(typed, dong):
    assert normalise_dong(typed) == dong


@pytest.mark.parametrize("typed, ho", [("1203", "1203"), ("1203호", "1203"), ("01203", "1203"), ("B101", "B101"),
                                       ("１２０３호", "1203")])
def test_ho_spellings(typed, ho):
    assert normalise_ho(typed) == ho


# --- unit readings -------------------------------------------------------------------------------

def unit_rows(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(UNIT_HEADER.split(","))
        for row in rows:
            w.writerow(row)
    return path


def readings(db, cipher, resource, unit) -> dict[int, Decimal]:
    key = unit_supply_key_hash(cipher, resource, unit)
    with db.session() as s:
        return {r.month: Decimal(r.amount) for r in s.scalars(select(MeterReading).where(
            MeterReading.resource == resource, MeterReading.supply_key_hash == key))}


def imported_units(app, tmp_path, rows):
    """The complex loaded and `rows` imported as a unit file: (the run's output, the file)."""
    load_complex(app, tmp_path)
    path = unit_rows(tmp_path / "units.csv", rows)
    res = cli(app, "import-usage", path)
    assert res.exit_code == 0, res.output
    return res, path


def test_a_whole_unit_written_in_the_dong_column(app, db, cipher, tmp_path):
    imported_units(app, tmp_path, [
        ("electricity", "A1001", "101-1203", "", "2026-01", "310"),
        ("electricity", "A1001", "101동 1203호", "", "2026-02", "300"),
        ("electricity", "A1001", "102동1204호", "", "2026-01", "290"),
    ])
    assert readings(db, cipher, "electricity", ComplexUnit("A1001", "101", "1203")) == {
        202601: Decimal("310"), 202602: Decimal("300")}
    assert readings(db, cipher, "electricity", ComplexUnit("A1001", "102", "1204")) == {202601: Decimal("290")}


def test_unit_readings_are_kept_for_units_nobody_registered(app, db, cipher, tmp_path):
    res, path = imported_units(app, tmp_path, [
        ("electricity", "A1001", "101", "1203", "2026-01", "310"),
        ("전기", "a1001", "101동", "1203호", "2026-02", "295.5"),
        ("water", "A1001", "102", "0501", "2026-01", "12"),
        ("water", "A1001", "102", "501", "2026-01", "12"),  # the same row spelled otherwise: once
    ])
    assert "3 new" in res.stdout and "units nobody has registered yet: 2" in res.stdout
    assert "line 5: same row as line 4: counted once" in res.stderr
    assert readings(db, cipher, "electricity", ComplexUnit("A1001", "101", "1203")) == {
        202601: Decimal("310"), 202602: Decimal("295.5")}
    assert readings(db, cipher, "water", ComplexUnit("A1001", "102", "501")) == {202601: Decimal("12")}
    # re-importing changes nothing
    again = cli(app, "import-usage", path)
    assert "0 new, 0 changed, 3 unchanged" in again.stdout


@pytest.mark.parametrize("batch", [None, 1])
def test_bad_unit_rows_are_reported_by_line_and_nothing_is_written(app, db, cipher, tmp_path, monkeypatch, batch):
    """(batch 1: a batch staged after every row, so on PostgreSQL the rows' COPY is open when
    an unknown complex is looked up, and is closed for the lookup.)"""
    if batch:
        monkeypatch.setattr("core.usage_import.BATCH", batch)
    load_complex(app, tmp_path)
    path = unit_rows(tmp_path / "bad.csv", [
        ("electricity", "A1001", "101", "1203", "2026-01", "310"),   # line 2: good
        ("electricity", "Z9999", "101", "1203", "2026-01", "310"),   # 3: unknown complex
        ("electricity", "A1001", "109", "1203", "2026-01", "310"),   # 4: not a 동 of the complex
        ("gas", "A1001", "101", "1203", "2026-01", "40"),            # 5: gas is billed separately
        ("water", "A1001", "101", "호", "2026-13", "-1"),             # 6: ho, month, amount
        ("water", "A1001", "１０１", "1203", "2026-01", "5"),          # 7: full-width digits
        ("electricity", "A1001", "102", "1", "2026-01", "99999999"),  # 8: above the plausible bound
        ("electricity", "A1001", "103", "7", "2026-01", "10"),       # 9 and 10: conflicting duplicates
        ("electricity", "A1001", "103동", "7호", "2026-01", "11"),
    ])
    res = cli(app, "import-usage", path)
    assert res.exit_code == 2, res.output
    err = res.stderr
    assert "line 2" not in err
    assert "line 3: complex_code 'Z9999' is not registered" in err
    assert "line 4: dong '109' is not a 동 of complex A1001" in err
    assert "line 5: complex A1001 does not bill gas in the management fee (separate)" in err
    line6 = next(ln for ln in err.splitlines() if ln.startswith("line 6:"))
    assert "ho must be a 호" in line6 and "month must be YYYY-MM" in line6 and "amount must not be negative" in line6
    assert "line 7: dong contains '１'" in err
    assert "line 8: amount 99999999 kWh is above the plausible monthly electricity use" in err
    assert "line 9: duplicate key electricity A1001 103동 7호 2026-01 with different values" in err and "line 10:" in err
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(MeterReading)) == 0
    skipped = cli(app, "import-usage", path, "--skip-invalid")
    assert skipped.exit_code == 0 and "1 new" in skipped.stdout and "8 rejected" in skipped.stdout


def test_korean_headers_for_complexes_and_unit_readings(app, db, cipher, tmp_path):
    """As a management office's sheet names its columns: the complexes' and the unit readings'
    (told apart from a customer-number file by the header, in Korean as well)."""
    res = cli(app, "import-complexes", write(tmp_path / "cx.csv", "단지코드,단지명,도로명주소,지번주소,동,전기,수도,가스", ROW))
    assert res.exit_code == 0, res.output
    assert complexes(db)["A1001"].dongs == ["101", "102", "103"]
    path = write(tmp_path / "units.csv", "자원,단지코드,동,호,사용월,사용량(kWh)", "전기,A1001,101,1203,2026-01,310")
    res = cli(app, "import-usage", path)
    assert res.exit_code == 0, res.output
    assert readings(db, cipher, "electricity", ComplexUnit("A1001", "101", "1203")) == {202601: Decimal("310")}
