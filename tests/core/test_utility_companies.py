"""Utility companies (issue 16): supply points keyed by resource, company and number. The same
gas customer number at two companies is two supply points, imported and evaluated separately;
a file without a company column is refused where a number is a supply point at two companies."""
from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from core.models import ImportChange, MeterReading, StatementLine
from core.usage_import import reading_key, supply_key_hash
from core.utility_companies import (
    companies_for,
    company_of_cell,
    default_company,
    national_company,
    serving,
)
from tests.auxil.engine import add_lg, add_member, cli, half_rows, snapshot

G, E = "gas", "electricity"
NUMBER = "5012345678"


def write_csv(path: Path, rows, company: bool = True) -> Path:
    """rows: (resource, number, yyyymm, amount[, company])."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["resource", "customer_number", "month", "amount", *(["company"] if company else [])])
        for row in rows:
            month = f"{row[2] // 100:04d}-{row[2] % 100:02d}"
            w.writerow([row[0], row[1], month, row[3], *row[4:5]] if company else [row[0], row[1], month, row[3]])
    return path


def with_company(rows, company):
    return [(*r, company) for r in rows]


def seongnam_members(db, cipher):
    """Two households in 성남시, each with gas number NUMBER: one at 코원, one at 삼천리."""
    with db.transaction() as s:
        add_lg(s, code="41130", name="성남시")
        a = add_member(s, cipher, lg="41130", accounts=[(G, NUMBER, "separate", date(2020, 1, 1), "KOONE")])
        b = add_member(s, cipher, lg="41130", accounts=[(G, NUMBER, "separate", date(2020, 1, 1), "SAMCHULLY")],
                       name="김철수")
        return a.id, b.id


def gas_line(db, member_id):
    with db.session() as s:
        return s.scalars(select(StatementLine).where(StatementLine.member_id == member_id,
                                                     StatementLine.half == "2025H1",
                                                     StatementLine.resource == G)).one()


def test_the_data_gives_each_region_its_companies():
    assert national_company(E) == "KEPCO" and national_company(G) is None
    assert [c.code for c in serving(G, "41130")] == ["KOONE", "SAMCHULLY"]  # 성남: two
    assert [c.code for c in serving(G, "41117")] == ["SAMCHULLY"]  # 수원시 영통구 -> 경기
    assert default_company("water", "41117") == "W41110"  # an 일반구 shares its 시's waterworks
    assert len(companies_for("water")) > 200 and len(companies_for(G)) >= 20
    assert company_of_cell(G, "samchully").code == "SAMCHULLY" == company_of_cell(G, "삼천리").code


def test_a_company_cell_takes_the_names_operators_write():
    """Aliases (한전), the company form's marks ((주), ㈜), and a name without its 도시가스 /
    에너지서비스 / 상수도사업소 where no other company shortens to the same."""
    assert {company_of_cell(E, v).code for v in ("한전", "한국전력", "한국 전력 공사", "kepco")} == {"KEPCO"}
    assert company_of_cell(G, "(주)삼천리").code == "SAMCHULLY" == company_of_cell(G, "삼천리 주식회사").code
    assert company_of_cell(G, "㈜코원").code == "KOONE" == company_of_cell(G, "코원에너지서비스").code
    assert company_of_cell(G, "서울").code == "SEOULGAS"
    assert company_of_cell("water", "수원시").code == "W41110" == company_of_cell("water", "W41110").code
    assert company_of_cell(G, "한전") is None and company_of_cell(G, "가스") is None


def test_two_gas_companies_with_the_same_number_are_evaluated_separately(app, db, cipher, tmp_path):
    a, b = seongnam_members(db, cipher)
    koone = half_rows(G, NUMBER, "2025H1", 2000, 1900)  # 5 %
    samchully = half_rows(G, NUMBER, "2025H1", 2000, 1800)  # 10 %
    for name, rows, company in (("k.csv", koone, "KOONE"), ("s.csv", samchully, "삼천리")):
        res = cli(app, "import-usage", write_csv(tmp_path / name, with_company(rows, company)))
        assert res.exit_code == 0, res.stderr
        assert "supply points nobody has registered yet: 0" in res.stdout
    with db.session() as s:
        companies = {r.company for r in s.scalars(select(MeterReading))}
    assert companies == {"KOONE", "SAMCHULLY"}
    res = cli(app, "settle", "--half", "2025H1", "--verify", "-1")
    assert res.exit_code == 0, res.stderr
    la, lb = gas_line(db, a), gas_line(db, b)
    assert (la.baseline, la.actual, la.rate) == (2000, 1900, Decimal("5.00"))
    assert (lb.baseline, lb.actual, lb.rate) == (2000, 1800, Decimal("10.00"))


def test_a_file_without_company_is_refused_where_the_number_is_at_two_companies(app, db, cipher, tmp_path):
    seongnam_members(db, cipher)
    before = snapshot(db)
    src = write_csv(tmp_path / "plain.csv", [(G, NUMBER, 202501, "10"), (E, "0419283746", 202501, "300"),
                                             (G, NUMBER, 202502, "11")], company=False)
    res = cli(app, "import-usage", src)
    assert res.exit_code == 2
    err = res.stderr
    assert "line 2:" in err and "line 4:" in err and "line 3:" not in err
    assert "several companies (KOONE, SAMCHULLY)" in err and "add a company column" in err
    assert NUMBER not in err
    assert snapshot(db) == before
    # with the column the same rows go in
    res = cli(app, "import-usage", write_csv(tmp_path / "named.csv", [(G, NUMBER, 202501, "10", "KOONE")]))
    assert res.exit_code == 0, res.stderr


def test_a_file_without_company_goes_to_the_one_company_of_each_number(app, db, cipher, tmp_path):
    with db.transaction() as s:
        add_lg(s, code="41130", name="성남시")
        add_member(s, cipher, lg="41130", accounts=[(E, "0419283746"), (G, NUMBER, "separate", date(2020, 1, 1),
                                                                          "KOONE")])
    src = write_csv(tmp_path / "plain.csv", [(G, NUMBER, 202501, "10"), (E, "0419283746", 202501, "300"),
                                             (G, "7000000001", 202501, "12")], company=False)
    res = cli(app, "import-usage", src)
    assert res.exit_code == 0, res.stderr
    with db.session() as s:
        got = {(r.resource, r.supply_key_hash, r.company) for r in s.scalars(select(MeterReading))}
    assert got == {(G, supply_key_hash(cipher, G, NUMBER), "KOONE"),
                   (E, supply_key_hash(cipher, E, "0419283746"), "KEPCO"),
                   (G, supply_key_hash(cipher, G, "7000000001"), "")}  # nobody's yet: company unknown
    # the member who registers the unknown number adopts its readings at their company
    with db.transaction() as s:
        add_member(s, cipher, lg="41130", name="이영희", accounts=[(G, "7000000001", "separate", date(2020, 1, 1),
                                                                 "SAMCHULLY")])
    with db.session() as s:
        adopted = s.scalars(select(MeterReading).where(
            MeterReading.supply_key_hash == supply_key_hash(cipher, G, "7000000001"))).one()
    assert adopted.company == "SAMCHULLY"


def test_an_unknown_company_is_refused_with_its_line(app, db, tmp_path):
    src = write_csv(tmp_path / "bad.csv", [(G, NUMBER, 202501, "10", "KOONE"), (G, NUMBER, 202502, "10", "ACME")])
    res = cli(app, "import-usage", src)
    assert res.exit_code == 2
    assert "line 3: unknown gas company 'ACME'" in res.stderr and "line 2" not in res.stderr


def test_the_header_takes_company_and_tariff_in_any_order(app, db, tmp_path):
    path = tmp_path / "both.csv"
    path.write_text("resource,customer_number,month,amount,company,tariff\n"
                    "electricity,0419283746,2025-01,300,KEPCO,general\n", encoding="utf-8")
    res = cli(app, "import-usage", path)
    assert res.exit_code == 0, res.stderr
    with db.session() as s:
        r = s.scalars(select(MeterReading)).one()
    assert (r.company, r.tariff) == ("KEPCO", "general")


def test_registry_members_get_their_region_s_first_company_and_adopt_earlier_readings(app, db, cipher, tmp_path):
    from core.member_import import MEMBER_HEADER
    from core.models import ResourceAccount

    with db.transaction() as s:
        add_lg(s, code="41130", name="성남시")
    res = cli(app, "import-usage", write_csv(tmp_path / "early.csv", [(G, NUMBER, 202501, "10")], company=False))
    assert res.exit_code == 0, res.stderr  # nobody's number yet: kept under no company
    row = {"member_no": "M0001", "member_type": "individual", "name": "김하나", "mobile": "010-1111-2222",
           "address": "경기도 성남시 분당구 정자일로 10", "unit": "101동 1001호", "joined_on": "2024-03-15",
           "electricity": "1100000001", "water": "", "gas": NUMBER, "incentive_type": "donation",
           "bank": "", "account": ""}
    path = tmp_path / "m.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(MEMBER_HEADER)
        w.writerow([row[c] for c in MEMBER_HEADER])
    res = cli(app, "import-members", path)
    assert res.exit_code == 0, res.stderr
    with db.session() as s:
        accounts = {a.resource: a.company for a in s.scalars(select(ResourceAccount))}
        reading = s.scalars(select(MeterReading)).one()
    assert accounts == {E: "KEPCO", G: "KOONE", "water": ""}  # 성남 gas: KOONE is listed first
    assert reading.company == "KOONE"


def test_the_audit_of_a_changed_reading_names_its_company(app, db, cipher, tmp_path):
    """The same number at two gas companies is two supply points: a month changed at both is
    audited twice, each key naming its company (as meter_readings' key does)."""
    seongnam_members(db, cipher)
    for company, amount in (("KOONE", "10"), ("SAMCHULLY", "20")):
        res = cli(app, "import-usage", write_csv(tmp_path / f"{company}.csv", [(G, NUMBER, 202501, amount, company)]))
        assert res.exit_code == 0, res.stderr
    res = cli(app, "import-usage", write_csv(tmp_path / "again.csv", [(G, NUMBER, 202501, "11", "KOONE"),
                                                                       (G, NUMBER, 202501, "21", "SAMCHULLY")]))
    assert res.exit_code == 0, res.stderr
    assert "2 row(s): 0 new, 2 changed, 0 unchanged" in res.stdout
    h = supply_key_hash(cipher, G, NUMBER)
    with db.session() as s:
        changes = {c.key: (c.old_value, c.new_value) for c in s.scalars(select(ImportChange))}
    assert changes == {reading_key(G, "KOONE", h, 202501): (Decimal("10"), Decimal("11")),
                       reading_key(G, "SAMCHULLY", h, 202501): (Decimal("20"), Decimal("21"))}
    assert reading_key(G, "KOONE", h, 202501) == f"gas:KOONE:{h}:202501"
