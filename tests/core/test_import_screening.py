"""Hardened operator imports (issue 16): customer-number formats and lost leading zeros, ASCII
digits only, plausibility bounds (refused, or flagged with --allow-outliers), --encoding cp949,
exact vs conflicting duplicates, CSV syntax errors on their start line, amounts too large.
Every refused file changes no table."""
from __future__ import annotations

import csv
import shutil
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.csv_screening import (
    ImportRejected,
    ImportSettings,
    check_customer_number,
    decode_operator_bytes,
)
from core.models import ImportChange, ImportRun, MeterReading
from core.rules import default_rules
from core.usage_import import PointIds, supply_key_hash
from tests.auxil.engine import CSV_FIXTURES, add_greenlife, add_lg, add_member, cli, snapshot, write_usage_csv

E = "0123456789"


def readings(db):
    with db.session() as s:
        return {(r.resource, r.supply_key_hash, r.month): r.amount for r in s.scalars(select(MeterReading))}


def refused(app, db, path, *args):
    """Run import-usage expecting a refusal that changes nothing; its stderr."""
    before = snapshot(db)
    res = cli(app, "import-usage", path, *args)
    assert res.exit_code == 2, res.output
    assert "nothing was imported" in res.stderr
    assert snapshot(db) == before
    return res.stderr


# --- customer numbers -------------------------------------------------------------------------

def test_a_customer_number_short_of_its_leading_zero_is_refused_with_that_explanation(app, db, tmp_path):
    src = write_usage_csv(tmp_path / "u.csv", [("electricity", "123456789", 202601, "320"),
                                               ("electricity", "12345678901", 202601, "320"),
                                               ("water", "1234", 202601, "5"),
                                               ("electricity", "1.23457E+09", 202601, "320")])
    err = refused(app, db, src)
    assert ("line 2: electricity customer number has 9 digits; it looks like 0*****6789 with its leading "
            "zero lost (Excel drops leading zeros: format the column as text)") in err
    assert "line 3: electricity customer number *******8901 has 11 digits; the rules expect 10 digits" in err
    assert "line 4: water customer number has 4 digits; it looks like 0**** with its leading zero lost" in err
    assert "line 5: electricity customer number '1.23457E+09' is in Excel's scientific notation" in err
    assert "123456789" not in err.replace("1.23457E+09", "")  # masked


def test_customer_number_rules_unit_keys_and_two_lost_zeros():
    rules = default_rules()
    assert check_customer_number("electricity", "012-345-6789", rules) == (E, None)
    assert check_customer_number("electricity", "APT0012B07", rules) == ("APT0012B07", None)  # unit key
    _, why = check_customer_number("electricity", "12345678", rules)
    assert "has 8 digits; it looks like 00****5678 with its leading zeros lost" in why
    _, why = check_customer_number("gas", "12-34", rules)
    assert "it looks like 0****" in why


# --- digits -----------------------------------------------------------------------------------

def test_full_width_and_other_unicode_digits_are_refused(app, db, tmp_path):
    src = write_usage_csv(tmp_path / "u.csv", [("electricity", E, 202601, "３２０"),
                                               ("electricity", "０１２３４５６７８９", 202602, "320"),
                                               ("electricity", E, "２０２６-03", "320"),
                                               ("electricity", E, 202604, "٣٢٠")])
    err = refused(app, db, src)
    assert ("line 2: amount contains '３' (U+FF13 FULLWIDTH DIGIT THREE), '２' (U+FF12 FULLWIDTH DIGIT TWO), "
            "'０' (U+FF10 FULLWIDTH DIGIT ZERO): full-width or other non-ASCII digits are not accepted; "
            "write digits as 0-9") in err
    assert "line 3: customer_number contains '０' (U+FF10 FULLWIDTH DIGIT ZERO)" in err
    assert "line 4: month contains '２' (U+FF12" in err
    assert "line 5: amount contains '٣' (U+0663 ARABIC-INDIC DIGIT THREE)" in err


# --- amounts: too large, implausible ----------------------------------------------------------

def test_an_amount_too_large_is_reported_as_too_large(app, db, tmp_path):
    src = write_usage_csv(tmp_path / "u.csv", [("electricity", E, 202601, "123456789012"),
                                               ("electricity", E, 202602, "1,2345"),
                                               ("electricity", E, 202603, "12.3456")])
    err = refused(app, db, src, "--allow-outliers")
    assert "line 2: amount 123456789012 is too large: at most 99,999,999,999.999 is accepted" in err
    assert "at most 3 decimals: '123456789012'" not in err
    assert "line 3: amount must be a non-negative decimal with at most 3 decimals: '1,2345'" in err
    assert "line 4: amount must be a non-negative decimal with at most 3 decimals: '12.3456'" in err


def test_an_implausible_amount_is_refused(app, db, tmp_path):
    src = write_usage_csv(tmp_path / "u.csv", [("electricity", E, 202601, "99999999999"),
                                               ("water", "12345", 202601, "100000.001"),
                                               ("gas", "9876543", 202601, "500000")])
    err = refused(app, db, src)
    assert ("line 2: amount 99999999999 kWh is above the plausible monthly electricity use of one supply "
            "point (1000000 kWh, setting IMPORT_MAX_ELECTRICITY_KWH): check the row, or import it flagged "
            "with --allow-outliers") in err
    assert "line 3: amount 100000.001 m3 is above the plausible monthly water use" in err
    assert "line 4" not in err  # exactly the bound is plausible


def test_allow_outliers_imports_and_flags_them(app, db, cipher, tmp_path):
    src = write_usage_csv(tmp_path / "u.csv", [("electricity", E, 202601, "99999999999"),
                                               ("electricity", E, 202602, "320")])
    res = cli(app, "import-usage", src, "--allow-outliers")
    assert res.exit_code == 0, res.stderr
    assert "flagged as outliers (import_changes kind 'outlier'): 1" in res.stdout
    h = supply_key_hash(cipher, "electricity", E)
    assert readings(db)[("electricity", h, 202601)] == Decimal("99999999999")
    with db.session() as s:
        flags = s.scalars(select(ImportChange).where(ImportChange.kind == "outlier")).all()
        run = s.scalars(select(ImportRun)).one()
    assert [(f.key, f.old_value, f.new_value, f.import_run_id) for f in flags] == [
        (f"electricity:KEPCO:{h}:202601", Decimal("1000000"), Decimal("99999999999"), run.id)]


def test_bounds_are_settings(app, db, tmp_path):
    from webhooks.config import Settings, SettingsError

    cfg = Settings.from_env({"IMPORT_MAX_WATER_M3": "50"})
    assert cfg.imports.max_water_m3 == 50 and cfg.imports.max_electricity_kwh == 1_000_000
    with pytest.raises(SettingsError, match="IMPORT_MAX_GAS_M3"):
        Settings.from_env({"IMPORT_MAX_GAS_M3": "0"})
    app.config["CPOINT"].imports.max_water_m3 = 50
    err = refused(app, db, write_usage_csv(tmp_path / "u.csv", [("water", "12345", 202601, "51")]))
    assert "(50 m3, setting IMPORT_MAX_WATER_M3)" in err
    assert ImportSettings().monthly_bounds()["gas"] == (Decimal(500000), "IMPORT_MAX_GAS_M3")


# --- encodings --------------------------------------------------------------------------------

def test_a_cp949_file_imports_with_encoding_cp949(app, db, cipher, tmp_path):
    src = tmp_path / "kepco.csv"
    src.write_bytes((CSV_FIXTURES / "usage_korean.csv").read_text(encoding="utf-8").encode("cp949"))
    err = refused(app, db, src)
    assert ("line 2: the file is not UTF-8 text; it reads as CP949/EUC-KR (what Excel and Korean utilities "
            "export): run again with --encoding cp949") in err
    res = cli(app, "import-usage", src, "--encoding", "cp949")
    assert res.exit_code == 0, res.stderr
    assert "3 row(s): 3 new" in res.stdout
    got = readings(db)
    assert got[("electricity", supply_key_hash(cipher, "electricity", E), 202601)] == Decimal("320")
    assert got[("water", supply_key_hash(cipher, "water", "12345"), 202601)] == Decimal("12.5")
    assert got[("gas", supply_key_hash(cipher, "gas", "9876543"), 202601)] == Decimal("45")
    assert cli(app, "import-usage", src, "--encoding", "EUC-KR").exit_code == 0  # same codec


@pytest.mark.parametrize("magic", [b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"])
def test_an_excel_workbook_given_for_the_csv_says_how_to_save_it(app, db, tmp_path, magic):
    src = tmp_path / "usage.xlsx"
    src.write_bytes(magic + b"\x00\x87 not text" * 50)
    err = refused(app, db, src)
    assert "the file is an Excel workbook (.xlsx or .xls), not CSV" in err and "CSV UTF-8" in err
    assert "not UTF-8 text" not in err


def test_a_utf8_file_read_as_cp949_is_refused_and_a_bom_is_utf8(app, db, tmp_path):
    src = shutil.copy(CSV_FIXTURES / "usage_korean.csv", tmp_path / "k.csv")
    err = refused(app, db, src, "--encoding", "cp949")
    assert "line 2: the file is not CP949/EUC-KR text; it reads as UTF-8: run again with --encoding utf-8" in err
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (CSV_FIXTURES / "usage_korean.csv").read_bytes())
    assert cli(app, "import-usage", bom, "--encoding", "cp949").exit_code == 0  # the BOM says UTF-8
    assert cli(app, "import-usage", bom).exit_code == 0


def _refusal(data: bytes, encoding: str) -> str:
    with pytest.raises(ImportRejected) as info:
        decode_operator_bytes(data, encoding)
    return "\n".join(map(str, info.value.errors))


def test_decoding_hints():
    assert decode_operator_bytes("a,전기\n".encode("cp949"), "cp949") == "a,전기\n"
    assert _refusal(b"a\nb\xff\xff\xff", "utf-8") == "line 2: the file is not UTF-8 text (byte 0xFF cannot be decoded)"
    assert "line 1: the file is UTF-16" in _refusal("a,b".encode("utf-16"), "utf-8")
    assert "unknown encoding 'latin-1'" in _refusal(b"a", "latin-1")
    # valid UTF-8 that also decodes as CP949 (a no-break space reads as a Hangul syllable)
    assert _refusal("a\nb,\u00a0c\n".encode(), "cp949") == (
        "line 2: the file is UTF-8 text, not CP949/EUC-KR (its Korean would be garbled): run again "
        "with --encoding utf-8")


# --- duplicates -------------------------------------------------------------------------------

def test_an_exact_duplicate_row_is_one_row(app, db, cipher, tmp_path):
    src = write_usage_csv(tmp_path / "u.csv", [("electricity", E, 202601, "320"),
                                               ("electricity", "012-345-6789", 202601, "320.0"),
                                               ("electricity", E, 202602, "300")])
    for args in ((), ("--skip-invalid",)):
        res = cli(app, "import-usage", src, *args)
        assert res.exit_code == 0, res.stderr
        assert "note: line 3: same row as line 2: counted once" in res.stderr
        assert "duplicate rows counted once: 1" in res.stdout
        assert "rejected" not in res.stdout
    assert readings(db)[("electricity", supply_key_hash(cipher, "electricity", E), 202601)] == Decimal("320")


def test_conflicting_duplicates_are_refused_naming_both_lines(app, db, tmp_path):
    src = write_usage_csv(tmp_path / "u.csv", [("electricity", E, 202601, "320"),
                                               ("electricity", E, 202602, "300"),
                                               ("electricity", E, 202601, "310")])
    err = refused(app, db, src)
    listing = ("duplicate key electricity ******6789 2026-01 with different values: 320 on line 2, "
               "310 on line 4; neither is imported")
    assert f"line 2: {listing}" in err and f"line 4: {listing}" in err
    res = cli(app, "import-usage", src, "--skip-invalid")
    assert res.exit_code == 0 and "2 rejected" in res.stdout
    assert len(readings(db)) == 1


@pytest.mark.parametrize("cache", [PointIds.CACHE, 1])
def test_duplicates_are_found_in_any_order_and_a_point_is_one_point(app, db, cipher, tmp_path, monkeypatch, cache):
    """A key repeated after other supply points' rows is found as one repeated in a row is;
    with the supply points' id map starting again at every point (cache 1), a point given two
    ids is still one supply point (and on PostgreSQL the rows' COPY is closed for the points at
    every new one)."""
    monkeypatch.setattr(PointIds, "CACHE", cache)
    monkeypatch.setattr("core.usage_import.POINTS_WAITING", cache)
    src = write_usage_csv(tmp_path / "u.csv", [("electricity", E, 202601, "320"),
                                               ("water", "1234567", 202601, "10"),
                                               ("electricity", E, 202602, "300"),
                                               ("electricity", E, 202601, "310")])
    err = refused(app, db, src)
    assert "line 2: duplicate key electricity ******6789 2026-01" in err and "310 on line 5" in err
    src = write_usage_csv(tmp_path / "v.csv", [("electricity", E, 202601, "320"),
                                               ("water", "1234567", 202601, "10"),
                                               ("electricity", E, 202602, "300"),
                                               ("electricity", "012-345-6789", 202601, "320.0")])
    res = cli(app, "import-usage", src)
    assert res.exit_code == 0, res.stderr
    assert "note: line 5: same row as line 2: counted once" in res.stderr
    assert "4 row(s): 3 new" in res.stdout and "supply points nobody has registered yet: 2" in res.stdout
    h = supply_key_hash(cipher, "electricity", E)
    assert {k: v for k, v in readings(db).items() if k[1] == h} == {
        ("electricity", h, 202601): Decimal("320"), ("electricity", h, 202602): Decimal("300")}


# --- CSV syntax -------------------------------------------------------------------------------

def test_an_unterminated_quote_is_reported_where_it_starts(app, db, tmp_path):
    src = tmp_path / "q.csv"
    src.write_text("resource,customer_number,month,amount\n"
                   f"electricity,{E},2026-01,320\n"
                   f'electricity,"{E},2026-02,300\n'
                   f"electricity,{E},2026-03,290\n"
                   f"electricity,{E},2026-04,280\n", encoding="utf-8")
    err = refused(app, db, src)
    assert "line 3: a quote opened on this line is never closed (unterminated quote)" in err
    assert "line 5" not in err and "line 2" not in err
    err = refused(app, db, src, "--skip-invalid")  # the rows after it are lost: not skippable
    assert "--skip-invalid cannot skip a CSV syntax error" in err
    assert not (tmp_path / "q.rejected.csv").exists()


def test_a_quote_closed_lines_later_and_a_stray_quote(app, db, tmp_path):
    src = tmp_path / "q.csv"
    src.write_text("resource,customer_number,month,amount\n"
                   f'electricity,"{E},2026-02,300\n'
                   f'electricity,{E}",2026-03,290\n'
                   f'electricity,"{E}"x,2026-04,280\n'
                   f"electricity,{E},2026-05,270\n", encoding="utf-8")
    err = refused(app, db, src)
    assert ("line 2: a quoted field opened on this line runs on to line 3 (a missing closing quote?); "
            "fields cannot contain line breaks") in err
    assert "line 4: a quote closes in the middle of a field" in err
    assert "line 5" not in err


def test_skip_invalid_rejects_file_keeps_the_start_line(app, db, tmp_path):
    src = write_usage_csv(tmp_path / "m.csv", [("electricity", E, 202601, "320"),
                                               ("electricity", "123456789", 202601, "320")])
    res = cli(app, "import-usage", src, "--skip-invalid")
    assert res.exit_code == 0 and "1 rejected" in res.stdout
    with (tmp_path / "m.rejected.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["line"] == "3" and "leading zero lost" in rows[0]["reason"]


# --- the activities import shares the screening -----------------------------------------------

def _member(db, cipher):
    with db.transaction() as s:
        add_lg(s)
        m = add_member(s, cipher, accounts=[("electricity", "6000000001")])
        add_greenlife(s, m)
        return m.id


def _activities(path, rows, encoding="utf-8"):
    lines = ["member_ref,item,quantity,date,partner_ref", *(",".join(map(str, r)) for r in rows)]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_activities_screening(app, db, cipher, tmp_path):
    mid = _member(db, cipher)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in str(mid))
    before = snapshot(db)
    src = _activities(tmp_path / "a.csv", [(full_width, "tumbler", 1, "2026-03-02", "cafe"),
                                           (mid, "tumbler", "123456789012", "2026-03-03", "cafe"),
                                           (mid, "tumbler", 2, "2026-03-04", "cafe"),
                                           (mid, "tumbler", 3, "2026-03-04", "cafe"),
                                           (mid, "tumbler", 1, "2026-03-05", '"cafe')])
    res = cli(app, "import-activities", src)
    assert res.exit_code == 2
    err = res.stderr
    assert "line 2: member_ref contains" in err and "FULLWIDTH DIGIT" in err
    assert "line 3: quantity 123456789012 is too large" in err
    assert ("line 4: duplicate key" in err and "2 on line 4, 3 on line 5; neither is imported" in err
            and "line 5: duplicate key" in err)
    assert "line 6: a quote opened on this line is never closed" in err
    assert snapshot(db) == before


def test_activities_cp949_and_exact_duplicates(app, db, cipher, tmp_path):
    mid = _member(db, cipher)
    rows = [(mid, "tumbler", 2, "2026-03-04", "스타벅스 강남점"), (mid, "tumbler", 2, "2026-03-04", "스타벅스 강남점")]
    src = _activities(tmp_path / "a.csv", rows, encoding="cp949")
    res = cli(app, "import-activities", src)
    assert res.exit_code == 2 and "run again with --encoding cp949" in res.stderr
    res = cli(app, "import-activities", src, "--encoding", "cp949")
    assert res.exit_code == 0, res.stderr
    assert "2 row(s): 1 new" in res.stdout
    assert "note: line 3: same row as line 2: counted once" in res.stderr
    with db.session() as s:
        from core.models.greenlife import GreenlifeActivity

        (act,) = s.scalars(select(GreenlifeActivity)).all()
    assert act.partner_ref == "스타벅스 강남점" and act.quantity == Decimal("2")


# --- header ------------------------------------------------------------------------------------

def test_a_korean_header_is_read_as_the_english_one(app, db, cipher, tmp_path):
    src = tmp_path / "kepco.csv"
    src.write_text("자원 구분,고객번호(수용가번호),사용 년월,사용량(kWh),계약종별\n"
                   f"전기,{E},2026년 1월,\"1,320\",주택용\n", encoding="utf-8-sig")
    res = cli(app, "import-usage", src)
    assert res.exit_code == 0, res.stderr
    assert readings(db)[("electricity", supply_key_hash(cipher, "electricity", E), 202601)] == Decimal("1320")


def test_a_korean_header_with_an_unknown_column_names_both_forms(app, db, tmp_path):
    src = tmp_path / "u.csv"
    src.write_text(f"자원,번호,월,사용량\nelectricity,{E},2026-01,1\n", encoding="utf-8")
    err = refused(app, db, src)
    assert ("line 1: header must be resource,customer_number,month,amount[,tariff][,company], or with the "
            "Korean names 자원,고객번호,월,사용량[,요금제][,공급사] (got 자원,번호,월,사용량)") in err
    src.write_text(f"자원,고객번호,월,사용량,공급사,회사\nelectricity,{E},2026-01,1,KEPCO,KEPCO\n", encoding="utf-8")
    assert "header must be" in refused(app, db, src)  # one column named twice


def test_every_korean_column_name_names_one_column_of_each_import():
    from core import texts
    from core.complexes import COMPLEX_HEADER
    from core.csv_screening import header_column
    from core.greenlife_accrual import ACTIVITY_HEADER
    from core.member_import import MEMBER_HEADER
    from core.payouts import RESULT_HEADER
    from core.unit_readings import UNIT_HEADER
    from core.usage_import import USAGE_HEADER, USAGE_OPTIONAL

    headers = [(*USAGE_HEADER, *USAGE_OPTIONAL), UNIT_HEADER, MEMBER_HEADER, ACTIVITY_HEADER, RESULT_HEADER,
               COMPLEX_HEADER]
    aliases = texts.data("imports")["header_aliases"]
    assert set(aliases) <= {c for h in headers for c in h}  # no alias of a column nobody has
    for header in headers:
        for column in header:  # each column's Korean names read back as it, in its import
            for word in aliases.get(column, []):
                assert header_column(word, header) == column, (word, header)
