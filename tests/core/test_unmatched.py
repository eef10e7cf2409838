"""The unmatched questions queue (core.unmatched): masking, grouping and counts, CSV."""
from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from core import unmatched
from core.models import UnmatchedQuestion
from core.operators import Scope

NOW = datetime(2026, 11, 20, 3, 0)


@pytest.mark.parametrize("typed,kept", [
    ("고객번호 0419283746 맞나요", "고객번호 **** 맞나요"),
    ("010-1234-5678로 연락주세요", "****로 연락주세요"),
    ("계좌 123 456 789012", "계좌 ****"),
    ("０４１９２８３７４６", "****"),
    ("2026년 포인트", "****년 포인트"),
    ("3월 15일 123호", "3월 15일 123호"),
    ("메일 hong.gil-dong+cp@naver.com 로 주세요", "메일 **** 로 주세요"),
    ("ｈｏｎｇ＠ｄａｕｍ．ｎｅｔ이에요", "****이에요"),
    ("hong @ gmail . com", "****"),
    ("포인트@지급 언제", "포인트@지급 언제"),
    ("ㅋㅋㅋ ㅇㅇ", "ㅋㅋㅋ ㅇㅇ"),
])
def test_every_run_of_four_or_more_digits_is_masked(typed, kept):
    assert unmatched.mask_digits(typed) == kept


@pytest.mark.parametrize("typed,kept", [
    ("제 이름은 김철수예요 계좌가 이상해요", "제 이름은 **** 계좌가 이상해요"),
    ("예금주:홍길동 국민은행", "예금주: **** 국민은행"),
    ("성함은 이영희입니다", "성함은 ****"),
    ("My name is Maria Kim and I moved", "My name is **** and I moved"),
    ("이름이 틀렸어요", "이름이 틀렸어요"),  # a question about the name keeps its words
    ("이름 변경하고 싶어요", "이름 변경하고 싶어요"),
])
def test_a_name_after_its_label_is_masked(typed, kept):
    assert unmatched.mask_personal(typed) == kept


def test_nothing_stored_holds_four_digits_in_a_row(db):
    import re

    with db.transaction() as s:
        for t in ("내 번호 01012345678", "카드 1234-5678-9012-3456 등록", "１２３４５"):
            unmatched.record(s, NOW, t, "none")
    with db.session() as s:
        for q in s.query(UnmatchedQuestion):
            for value in (q.text, q.normalised, q.guesses):
                assert not re.search(r"\d{4}", value), value


def test_messages_are_grouped_by_normalised_text_and_counted(db):
    with db.transaction() as s:
        unmatched.record(s, NOW, "미세먼지 어때요?", "none", [("contact", 0.2)])
        unmatched.record(s, NOW.replace(hour=4), "미세먼지  어때요!!", "close", [("contact", 0.35), ("help", 0.31)])
        unmatched.record(s, NOW, "주차 되나요", "none")
        unmatched.record(s, NOW, "번호 1234 맞아요", "none", local_government_code=None)
        unmatched.record(s, NOW, "번호 98765 맞아요", "none")
    with db.session() as s:
        groups = unmatched.groups(s)
        assert [(g.normalised, g.count, g.close_calls) for g in groups] == [
            ("미세먼지 어때요", 2, 1), ("번호 # 맞아요", 2, 0), ("주차 되나요", 1, 0)]
        first = groups[0]
        assert first.example == "미세먼지 어때요!!" and first.guesses == "contact 0.35, help 0.31"
        assert (first.first_seen, first.last_seen) == (NOW, NOW.replace(hour=4))
        assert unmatched.total(s) == 5


def test_groups_and_csv_are_scoped(db):
    from tests.auxil.engine import add_lg

    with db.transaction() as s:
        add_lg(s, "41117")
        add_lg(s, "41135", name="성남시 분당구")
        s.flush()
        unmatched.record(s, NOW, "수원 질문", "none", local_government_code="41117")
        unmatched.record(s, NOW, "성남 질문", "none", local_government_code="41135")
        unmatched.record(s, NOW, "비회원 질문", "none")
    with db.session() as s:
        assert [g.example for g in unmatched.groups(s, Scope(frozenset({"41117"})))] == ["수원 질문"]
        assert len(unmatched.groups(s, Scope(None))) == 3
        body, n = unmatched.export_csv(s, Scope(frozenset({"41135"})))
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert n == 1 and rows[0] == list(unmatched.CSV_HEADER) and rows[1][:3] == ["성남 질문", "1", "0"]


def test_purge_keeps_what_is_within_the_retention(db):
    from datetime import timedelta

    with db.transaction() as s:
        unmatched.record(s, NOW - timedelta(days=91), "오래된", "none")
        unmatched.record(s, NOW - timedelta(days=89), "최근", "none")
    with db.transaction() as s:
        assert unmatched.purge(s, NOW, 90) == 1
    with db.session() as s:
        assert [g.example for g in unmatched.groups(s)] == ["최근"]


def test_the_buffer_writes_in_batches_outside_the_turn_and_flushes_what_it_holds(db):
    from sqlalchemy import func, select

    from core.models import UnmatchedQuestion
    from core.unmatched import Buffer, row_values

    t = [0.0]
    buf = Buffer(max_age=5.0, max_rows=3, now=lambda: t[0])

    def count() -> int:
        with db.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(UnmatchedQuestion)).scalar_one()

    now = datetime(2026, 11, 1)
    buf.add(db, row_values(now, "오늘 날씨 어때요 010-1234-5678", "none"))
    buf.add(db, row_values(now, "주식 추천해줘", "none"))
    assert count() == 0  # waiting: younger than 5 s and fewer than 3 rows
    t[0] = 6.0
    buf.add(db, row_values(now, "점심 뭐 먹지", "none"))
    assert count() == 3  # the oldest waited 6 s: the batch is written
    buf.add(db, row_values(now, "배고파", "none"))
    buf.flush(db)
    assert count() == 4
    with db.engine.connect() as conn:
        assert "5678" not in " ".join(conn.execute(select(UnmatchedQuestion.text)).scalars())


def test_a_formula_typed_by_a_citizen_reaches_the_csv_as_text(db):
    typed = '=HYPERLINK("http://evil.example/x","포인트 보기")'
    with db.transaction() as s:
        unmatched.record(s, NOW, typed, "none")
        unmatched.record(s, NOW, "@SUM(1+1)", "none")
        unmatched.record(s, NOW, "-2+3 포인트", "none")
    with db.session() as s:
        body, n = unmatched.export_csv(s, Scope(None))
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))[1:]
    assert n == 3
    cells = [c for row in rows for c in row if isinstance(c, str)]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert {row[5] for row in rows} == {"'" + typed, "'@SUM(1+1)", "'-2+3 포인트"}


@pytest.mark.parametrize("typed,kept", [
    ("경기도 수원시 영통구 광교로 145 사는데요", "경기도 수원시 영통구 광교로 **** 사는데요"),
    ("이의동 135-2로 이사했어요", "이의동 ****로 이사했어요"),
    ("101동 203호 관리비에 포함돼요", "**** **** 관리비에 포함돼요"),
    ("3월 15일에 가입했어요", "3월 15일에 가입했어요"),
    ("전기 10% 줄였어요", "전기 10% 줄였어요"),
])
def test_the_numbers_of_an_address_are_masked(typed, kept):
    assert unmatched.mask_personal(typed) == kept
