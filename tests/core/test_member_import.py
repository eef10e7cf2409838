"""`cpoint import-members`: the registry's members, checked as a chat signup, all or nothing."""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from core.local_governments import parse_address
from core.member_import import MEMBER_HEADER
from core.members import household_hash
from core.models import AuditEntry, ImportRun, Member, MemberAddress, ResourceAccount
from tests.auxil.engine import add_lg, add_member, cli, snapshot

GOOD = {
    "member_no": "M0001", "member_type": "individual", "name": "김하나", "mobile": "010-1111-2222",
    "address": "경기도 수원시 영통구 매탄로 10", "unit": "101동 1001호", "joined_on": "2024-03-15",
    "electricity": "1100000001", "water": "", "gas": "managed", "incentive_type": "cash",
    "bank": "국민", "account": "123456-01-234567",
}


def row(**kw) -> dict:
    out = dict(GOOD)
    out.update(kw)
    return out


def n(i: int, **kw) -> dict:
    """A distinct valid row: its own member_no, household and customer number."""
    return row(**{"member_no": f"M{i:04d}", "unit": f"101동 {1000 + i}호", "electricity": f"11{i:08d}", **kw})


def write(path: Path, rows, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(MEMBER_HEADER)
        for r in rows:
            w.writerow([r[c] for c in MEMBER_HEADER])
    return path


def lgs(db):
    with db.transaction() as s:
        add_lg(s)


def imported(db) -> dict[str, Member]:
    with db.session() as s:
        return {m.member_no: m for m in s.scalars(select(Member).where(Member.member_no.is_not(None)))}


def test_a_good_file_imports_members_encrypted_as_in_chat(app, db, cipher, tmp_path):
    lgs(db)
    res = cli(app, "import-members", write(tmp_path / "m.csv", [n(1), n(2, incentive_type="donation")], bom=True))
    assert res.exit_code == 0, res.stderr
    assert "2 row(s): 2 new, 0 changed, 0 unchanged" in res.stdout
    members = imported(db)
    one = members["M0001"]
    assert (one.name, one.mobile, one.member_type, one.local_government_code) == (
        "김하나", "010-1111-2222", "individual", "41117")
    assert one.bot_user_key is None and one.incentive_type == "cash" and one.bank_name == "KB국민은행"
    assert cipher.decrypt(one.account_number_enc) == "12345601234567"
    assert members["M0002"].account_number_enc is None
    with db.session() as s:
        accounts = {a.resource: a for a in s.scalars(select(ResourceAccount).where(ResourceAccount.member_id == one.id))}
        addresses = s.scalars(select(MemberAddress).where(MemberAddress.member_id == one.id)).all()
    elec = accounts["electricity"]
    assert cipher.decrypt(elec.customer_number_enc) == "1100000001" and elec.registered_on == date(2024, 3, 15)
    assert elec.supply_key_hash == cipher.keyed_hash("1100000001", purpose="electricity")
    assert (accounts["gas"].billing_mode, accounts["water"].billing_mode) == ("managed_fee", "not_used")
    assert [(a.local_government_code, a.valid_from) for a in addresses] == [("41117", date(2024, 3, 15))]


def test_a_registry_file_saved_by_korean_excel_imports_with_encoding_cp949(app, db, tmp_path):
    lgs(db)
    src = tmp_path / "registry.csv"
    src.write_bytes(write(tmp_path / "u.csv", [n(1)]).read_text(encoding="utf-8").encode("cp949"))
    res = cli(app, "import-members", src)
    assert res.exit_code == 2 and "run again with --encoding cp949" in res.stderr  # the hint can be followed
    res = cli(app, "import-members", src, "--encoding", "cp949")
    assert res.exit_code == 0, res.stderr
    assert imported(db)["M0001"].name == "김하나"


def rejected(app, db, tmp_path, rows) -> str:
    before = snapshot(db)
    res = cli(app, "import-members", write(tmp_path / "bad.csv", rows))
    assert res.exit_code == 2, res.stdout
    assert snapshot(db) == before  # a bad file changes no table
    return res.stderr


def test_every_rejection_is_reported_by_line_and_nothing_is_written(app, db, cipher, tmp_path):
    lgs(db)
    with db.transaction() as s:  # an existing chat member holds a household and a number
        add_member(s, cipher, accounts=[("electricity", "1999999999")], address="경기도 수원시 영통구 매탄로 99")
    rows = [
        n(1),                                                   # line 2: good
        n(2), n(3, member_no="M0002"),                          # 3, 4: duplicate member_no
        n(5, name="900101-1234567"),                            # 5: RRN
        n(6, mobile="02-123-4567"),                             # 6: bad mobile
        n(7, member_type="martian"),                            # 7: unknown member type
        n(8, joined_on="2024-02-30"),                           # 8: impossible date
        n(9, address="서울특별시 중구 세종대로 110"),               # 9: Seoul
        n(10, electricity="12345"),                             # 10: malformed customer number
        n(11, electricity="1999999999"),                        # 11: customer number taken
    ]
    err = rejected(app, db, tmp_path, rows)
    assert "line 2:" not in err
    assert "line 3: member_no M0002 appears on lines 3, 4" in err
    assert "line 4: member_no M0002 appears on lines 3, 4" in err
    assert "line 5: name looks like a resident registration number" in err
    assert "900101" not in err and "1234567" not in err
    assert "line 6: mobile is not a mobile number" in err
    assert "line 7: unknown member_type 'martian'" in err
    assert "line 8: joined_on must be a real date written YYYY-MM-DD (or YYYY.MM.DD, YYYYMMDD, YYYY년 M월 D일): '2024-02-30'" in err
    assert "line 9: address is in Seoul" in err
    assert "line 10: electricity customer number is malformed (it must be 10 digits)" in err
    assert "line 11: electricity customer number ******9999 is already registered to another active member" in err


def test_cash_with_no_account_on_record_is_imported_and_counted(app, db, cipher, tmp_path):
    """A registry holds cash members whose account it never had: they are members all the same,
    and their payouts are held until they add an account (the held-payment notice asks). A bank
    or account that is there but malformed is still a mistake to fix."""
    lgs(db)
    err = rejected(app, db, tmp_path, [n(1, bank="", account="123"), n(2, bank="없는은행", account="")])
    assert "line 2: bank is not a known bank name" in err and "line 3: account is not an account number" in err
    res = cli(app, "import-members", write(tmp_path / "m.csv", [n(1, bank="", account=""), n(2)]))
    assert res.exit_code == 0, res.stderr
    assert "cash without an account (payouts held until the member adds one): 1" in res.stdout
    one = imported(db)["M0001"]
    assert (one.incentive_type, one.bank_name, one.account_number_enc, one.account_holder) == ("cash", None, None, None)


def test_household_taken_in_the_database_and_repeated_in_the_file(app, db, cipher, tmp_path):
    lgs(db)
    with db.transaction() as s:
        m = add_member(s, cipher, accounts=[("electricity", "1999999999")], address="경기도 수원시 영통구 매탄로 77")
        m.household_hash = household_hash(cipher, parse_address(m.address, m.address_detail))
    err = rejected(app, db, tmp_path, [
        n(1, address="경기도 수원시 영통구 매탄로 77", unit="101동 1001호"),   # add_member's unit
        n(2, unit="202동 202호"), n(3, unit="202-202"),
        n(4, electricity="1100000009"), n(5, electricity="1100000009"),
    ])
    assert "line 2: the household already has another active member" in err
    assert "line 3: the same household appears on lines 3, 4" in err
    assert "line 4: the same household appears on lines 3, 4" in err
    assert "line 5: electricity customer number ******0009 appears on lines 5, 6" in err
    assert "line 6: electricity customer number ******0009 appears on lines 5, 6" in err


def test_rrn_in_any_field_is_refused_and_never_echoed(app, db, tmp_path):
    lgs(db)
    rrn = "８５１２３１－２０３４５６７"  # full-width: still an RRN
    err = rejected(app, db, tmp_path, [n(1, account=rrn), n(2, unit="900101.1234567")])
    assert "line 2: account looks like a resident registration number" in err
    assert "line 3: unit looks like a resident registration number" in err
    assert "2034567" not in err and "1234567" not in err
    res = cli(app, "import-members", "--skip-invalid", write(tmp_path / "r.csv", [n(1, account=rrn), n(3)]))
    assert res.exit_code == 0, res.stderr
    text = (tmp_path / "r.rejected.csv").read_text(encoding="utf-8")
    assert "2034567" not in text and "######-#######" in text and "line" in text


def test_skip_invalid_imports_the_good_rows_and_writes_the_rejects_beside(app, db, tmp_path):
    lgs(db)
    res = cli(app, "import-members", "--skip-invalid",
              write(tmp_path / "m.csv", [n(1), n(2, mobile="12345"), n(3), n(4, unit=n(5)["unit"]),
                                         n(5)]))
    assert res.exit_code == 0, res.stderr
    assert "5 row(s): 2 new" in res.stdout and "3 rejected" in res.stdout
    assert set(imported(db)) == {"M0001", "M0003"}
    with (tmp_path / "m.rejected.csv").open(encoding="utf-8") as fh:
        rejects = list(csv.reader(fh))
    assert rejects[0] == ["line", *MEMBER_HEADER, "reason"]
    assert rejects[1][0] == "3" and "mobile" in rejects[1][-1]
    # rows refused only against each other keep their cells in the rejects file too
    assert [r[:2] for r in rejects[2:]] == [["5", "M0004"], ["6", "M0005"]]
    assert all("same household" in r[-1] and r[3] == "김하나" for r in rejects[2:])


def test_reimport_is_idempotent_and_changes_are_audited(app, db, cipher, tmp_path):
    lgs(db)
    path = write(tmp_path / "m.csv", [n(1), n(2)])
    assert cli(app, "import-members", path).exit_code == 0
    before = snapshot(db)
    res = cli(app, "import-members", path)
    assert res.exit_code == 0 and "2 row(s): 0 new, 0 changed, 2 unchanged" in res.stdout
    after = snapshot(db)
    assert after.pop("import_runs") == before.pop("import_runs") + 1 and after == before
    with db.session() as s:
        assert s.scalars(select(AuditEntry)).all() == []

    changed = write(tmp_path / "m2.csv", [n(1, mobile="010-9999-8888", electricity="1100000077"), n(2)])
    res = cli(app, "import-members", changed)
    assert res.exit_code == 0 and "0 new, 1 changed, 1 unchanged" in res.stdout, res.stdout
    one = imported(db)["M0001"]
    assert one.mobile == "010-9999-8888"
    with db.session() as s:
        elec = s.scalars(select(ResourceAccount).where(ResourceAccount.member_id == one.id,
                                                       ResourceAccount.resource == "electricity")
                         .order_by(ResourceAccount.id)).all()
        entries = s.scalars(select(AuditEntry)).all()
        runs = s.scalars(select(ImportRun).order_by(ImportRun.id)).all()
    assert [a.ended_on is None for a in elec] == [False, True]
    assert cipher.decrypt(elec[1].customer_number_enc) == "1100000077"
    assert [(e.action, e.subject, e.detail["fields"]) for e in entries] == [
        ("member.import_update", f"member:{one.id}", ["mobile", "electricity"])]
    assert "9999" not in str(entries[0].detail)
    assert [r.kind for r in runs] == ["members"] * 3
    assert cli(app, "import-members", changed).stdout.count("0 changed") == 1


def test_header_must_be_exact(app, db, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("member_no,name\nM1,x\n", encoding="utf-8")
    res = cli(app, "import-members", path)
    assert res.exit_code == 2 and "header must be member_no,member_type,name" in res.stderr


def test_a_withdrawn_member_is_not_brought_back(app, db, clock, tmp_path):
    from core.members import withdraw

    lgs(db)
    assert cli(app, "import-members", write(tmp_path / "m.csv", [n(1)])).exit_code == 0
    with db.transaction() as s:
        withdraw(s, clock, s.scalars(select(Member)).one())
    err = rejected(app, db, tmp_path, [n(1)])
    assert "line 2: member_no M0001 is member #" in err and "withdrew" in err


def test_new_members_get_their_own_accounts_and_addresses_across_batches(db, cipher, clock, tmp_path):
    """Ids are taken before the rows are written (no read-back by member_no): after members
    already there, batch after batch, each member's accounts and address row are its own."""
    from core.member_import import import_members

    lgs(db)
    with db.transaction() as s:
        add_member(s, cipher, accounts=[("electricity", "1999999999")], address="경기도 수원시 영통구 매탄로 99")
    res = import_members(db, cipher, clock, write(tmp_path / "m.csv", [n(i) for i in range(1, 6)]), batch=2)
    assert res.inserted == 5
    with db.session() as s:
        for no, member in imported(db).items():
            numbers = [cipher.decrypt(a.customer_number_enc) for a in s.scalars(select(ResourceAccount).where(
                ResourceAccount.member_id == member.id, ResourceAccount.customer_number_enc.is_not(None)))]
            assert numbers == [f"11{int(no[1:]):08d}"]
            assert s.scalars(select(MemberAddress.valid_from).where(MemberAddress.member_id == member.id)).all() \
                == [date(2024, 3, 15)]


def test_new_members_written_early_are_rolled_back_when_a_repeated_key_refuses_rows(db, cipher, clock, tmp_path):
    """PostgreSQL writes new members while the first pass reads; rows refused afterwards for a
    key repeated in the file take the early writes back, and the good rows are written again."""
    from core.member_import import import_members

    if db.engine.dialect.name != "postgresql":
        pytest.skip("the early writer runs on PostgreSQL")
    lgs(db)
    rows = [n(1), n(2), n(3), n(4, unit=n(2)["unit"]), n(5)]
    res = import_members(db, cipher, clock, write(tmp_path / "m.csv", rows), skip_invalid=True, batch=1, early=True)
    assert (res.inserted, res.rejected) == (3, 2)
    assert sorted(imported(db)) == ["M0001", "M0003", "M0005"]
    with db.session() as s:
        owners = set(s.scalars(select(ResourceAccount.member_id))) | set(s.scalars(select(MemberAddress.member_id)))
        assert owners == {m.id for m in imported(db).values()}
        assert [(r.rows_inserted, r.rows_rejected) for r in s.scalars(select(ImportRun))] == [(3, 2)]


def test_new_members_written_early_are_kept_when_nothing_is_refused(db, cipher, clock, tmp_path):
    from core.member_import import import_members

    if db.engine.dialect.name != "postgresql":
        pytest.skip("the early writer runs on PostgreSQL")
    lgs(db)
    res = import_members(db, cipher, clock, write(tmp_path / "m.csv", [n(i) for i in range(1, 8)]), batch=3,
                         early=True)
    assert res.inserted == 7 and sorted(imported(db)) == [f"M{i:04d}" for i in range(1, 8)]


def test_reimport_over_several_chunks_reads_members_per_chunk_and_stays_idempotent(db, cipher, clock, tmp_path,
                                                                                     monkeypatch):
    """Members already imported are read a chunk at a time (one query, not one a row); the
    changed ones are updated and audited, once."""
    import core.member_import as mi

    lgs(db)
    rows = [n(i) for i in range(1, 8)]
    assert mi.import_members(db, cipher, clock, write(tmp_path / "m.csv", rows)).inserted == 7
    monkeypatch.setattr(mi, "LOOKUP_CHUNK", 3)
    rows[1] = n(2, mobile="010-2222-0002")
    rows[5] = n(6, incentive_type="donation", bank="", account="")
    path = write(tmp_path / "m2.csv", rows)
    res = mi.import_members(db, cipher, clock, path, batch=2)
    assert (res.inserted, res.changed, res.unchanged) == (0, 2, 5)
    before = snapshot(db)
    res = mi.import_members(db, cipher, clock, path, batch=2)
    assert (res.inserted, res.changed, res.unchanged) == (0, 0, 7)
    after = snapshot(db)
    assert after.pop("import_runs") == before.pop("import_runs") + 1 and after == before
    members = imported(db)
    assert members["M0002"].mobile == "010-2222-0002" and members["M0006"].account_number_enc is None
    with db.session() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.subject, e.detail["fields"]) for e in entries] == [
        (f"member:{members['M0002'].id}", ["mobile"]),
        (f"member:{members['M0006'].id}", ["incentive_type", "bank_name", "account_holder", "account"])]


def test_addresses_with_abolished_names_go_to_the_successor_or_are_refused_with_the_choice(app, db, tmp_path):
    """인천 after 2026-07-01 (the clock is later): 동구 went whole to 제물포구; 중구 is split, so a
    lot address's 법정동 tells which successor, and a road address that does not is refused."""
    from core.sigungu import load_sigungu

    with db.transaction() as s:
        load_sigungu(s)
    good = [n(1, address="인천광역시 동구 송림로 10"), n(2, address="인천 중구 운서동 2850-1"),
            n(3, address="인천광역시 제물포구 신포로 27")]
    err = rejected(app, db, tmp_path, [*good, n(4, address="인천광역시 중구 공항로 272")])
    assert "line 5: address names 인천광역시 중구, abolished after 2026-06-30" in err
    assert "영종구, 제물포구" in err and "line 2" not in err and "line 3" not in err
    assert cli(app, "import-members", write(tmp_path / "m.csv", good)).exit_code == 0
    assert {no: m.local_government_code for no, m in imported(db).items()} == {
        "M0001": "28125", "M0002": "28155", "M0003": "28125"}


def test_customer_numbers_are_checked_against_the_database_per_resource_and_only_while_active(app, db, cipher,
                                                                                             tmp_path):
    """One lookup by hash serves every resource; the resource and an ended account are told apart."""
    lgs(db)
    with db.transaction() as s:
        other = add_member(s, cipher, accounts=[("electricity", "1100000091"), ("water", "123456789")],
                           address="경기도 수원시 영통구 매탄로 90")
        ended = next(a for a in other.accounts if a.resource == "electricity")
        ended.ended_on = date(2025, 1, 1)
    rows = [n(1, electricity="1100000091"),  # ended at the other member: free again
            n(2, water="123456789"),  # still the other member's water
            n(3, electricity="1100000093", water="110000009")]
    err = rejected(app, db, tmp_path, rows)
    assert "line 2" not in err and "line 4" not in err
    assert f"line 3: water customer number *****6789 is already registered to another active member (member #{other.id})" \
        in err


def test_a_registrys_korean_words_and_written_dates_are_read(app, db, cipher, tmp_path):
    """The registry's own export writes 개인, 현금, 관리비 and dates as 2024.03.15: all read as the
    codes; an ambiguous day-first date is still refused."""
    lgs(db)
    rows = [n(1, member_type="개인", incentive_type="현 금", joined_on="2024.03.15", gas="관리비", water="사용안함"),
            n(2, member_type="상가", incentive_type="기부", joined_on="2024년 3월 15일"),
            n(3, joined_on="20240315", incentive_type="donation"),
            n(4, joined_on="2024-03-15 0:00:00", incentive_type="donation")]
    res = cli(app, "import-members", write(tmp_path / "k.csv", rows))
    assert res.exit_code == 0, res.stderr
    members = imported(db)
    assert (members["M0001"].member_type, members["M0001"].incentive_type) == ("individual", "cash")
    assert (members["M0002"].member_type, members["M0002"].incentive_type) == ("commercial", "donation")
    with db.session() as s:
        modes = {a.resource: a.billing_mode for a in s.scalars(
            select(ResourceAccount).where(ResourceAccount.member_id == members["M0001"].id))}
        days = {a.registered_on for a in s.scalars(select(ResourceAccount).where(ResourceAccount.resource == "electricity"))}
    assert (modes["gas"], modes["water"]) == ("managed_fee", "not_used") and days == {date(2024, 3, 15)}
    err = rejected(app, db, tmp_path, [n(5, joined_on="15/03/2024")])
    assert "line 2: joined_on must be a real date" in err


def test_a_registry_export_with_korean_column_names(app, db, cipher, tmp_path):
    """The registry's own export names its columns in Korean (same order): read as the English."""
    lgs(db)
    korean = ["회원번호", "회원구분", "성명", "휴대폰번호", "주소", "동호수", "가입일자", "전기고객번호",
              "수도고객번호", "가스고객번호", "지급방법", "은행명", "계좌번호"]
    path = tmp_path / "registry.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(korean)
        w.writerow([n(1)[c] for c in MEMBER_HEADER])
    res = cli(app, "import-members", path)
    assert res.exit_code == 0, res.stderr
    assert imported(db)["M0001"].name == GOOD["name"]
    path.write_text(",".join(korean[:2] + ["주민번호"] + korean[3:]) + "\n", encoding="utf-8")
    res = cli(app, "import-members", path)
    assert res.exit_code == 2 and "or with the Korean names 회원번호,회원유형,이름," in res.stderr
