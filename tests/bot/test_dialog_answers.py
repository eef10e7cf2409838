"""bot.dialogs.answers: typed answers folded, yes and no in their common forms, the word lists
of bot/texts/ko/answers.toml."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot import texts
from bot.dialogs import answers

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("typed", ["응", "어", "네", "넵", "예", "ㅇㅇ", "ㅇㅋ", "맞아요", "그래요", "좋아요", "네 맞아요",
                                   "네네", "넵!", "응응", "네ㅎㅎ", "  네  .", "ok", "OK", "\uff2f\uff2b", "네, 맞아요"])
def test_yes(typed):
    assert answers.yes_no(typed) is True


@pytest.mark.parametrize("typed", ["아니", "아뇨", "아니요", "아니오", "ㄴㄴ", "싫어요", "안 할래요", "안할래요", "아니 안 할래요",
                                   "아니에요", "아니요~", "No"])
def test_no(typed):
    assert answers.yes_no(typed) is False


@pytest.mark.parametrize("typed", ["", "음", "어떻게 해요", "네 아니요", "아니 본인 아니에요", "글쎄요", "네이버", "아니 근데",
                                   "900101-1234567"])
def test_neither_yes_nor_no(typed):
    assert answers.yes_no(typed) is None


def test_normalise_folds_full_width_and_spaces_but_keeps_typed_jamo():
    assert answers.normalise("\uff10\uff11\uff10\u3000\uff11\uff12\uff13\uff14   5678 !") == "010 1234 5678"
    assert answers.normalise("\u3147\u3147") == "\u3147\u3147" and answers.squash("\uff2b\uff22 국민") == "kb국민"


def test_word_lists_and_tables():
    assert "ㅇㅇ" in answers.words("yes") and "ㄴㄴ" in answers.words("no")
    assert "기부" in answers.words("incentive.donation") and answers.words("no.such.list") == ()
    assert answers.in_words("호수 없음", "no_unit") and answers.in_words("단독주택이요", "no_unit") and answers.in_words("건너뛸게요", "skip")
    assert answers.first_listed("이사했어요", "flows") == "move"
    assert answers.first_listed("탈퇴하고 주소 변경", "flows") == "withdraw"  # first listed wins
    assert answers.first_listed("안녕하세요", "flows") is None


def test_yes_and_no_words_do_not_overlap():
    assert not {answers.squash(w) for w in answers.words("yes")} & {answers.squash(w) for w in answers.words("no")}


HANGUL = re.compile(r"[\u3131-\u318e\uac00-\ud7a3]")


@pytest.mark.parametrize("path", ["bot/dialogs/answers.py", "bot/dialogs/signup/machine.py",
                                  "bot/dialogs/signup/fields.py", "bot/dialogs/signup/dialog.py", "bot/dialogs/myinfo.py"])
def test_no_korean_words_in_the_dialog_code(path):
    """Citizen-facing text and the words answers are read by live in bot/texts/ko/*.toml."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    found = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and id(n) not in docstrings and HANGUL.search(n.value)]
    assert found == []


def test_answers_toml_is_an_area_of_texts():
    assert "answers" in texts.areas() and isinstance(texts.raw("answers.flows"), dict)


def test_a_half_in_words():
    from datetime import date

    from bot.dialogs.answers import typed_half

    dec, may = date(2026, 12, 8), date(2026, 5, 2)
    assert [str(typed_half(t, dec)) for t in ("2025년 하반기", "작년 상반기", "25년 상반기 포인트", "재작년 하반기",
                                               "상반기 결과", "올해 상반기", "지난 반기", "2025H1")] == [
        "2025H2", "2025H1", "2025H1", "2024H2", "2026H1", "2026H1", "2026H1", "2025H1"]
    assert str(typed_half("하반기 결과", may)) == "2025H2" and str(typed_half("지난 반기", may)) == "2025H2"
    assert typed_half("포인트 조회", dec) is None and typed_half("작년 포인트", dec) is None


@pytest.mark.parametrize("typed,split", [
    ("홍길동인데 이름은 왜 물어봐요?", ("홍길동", "이름은 왜 물어봐요?")),
    ("010-1234-5678 이거 어디에 써요?", ("010-1234-5678", "이거 어디에 써요?")),
    ("네 근데 세대주가 뭐예요?", ("네", "근데 세대주가 뭐예요?")),
    ("Maria Kim, why do you need my name?", ("Maria Kim", "why do you need my name?")),
    ("세대주 확인 어떻게 해요", None),            # a question word alone starts nothing
    ("현금으로 받으면 언제 들어와요?", None),      # the answer part ends like a clause of the question
    ("가입하면 포인트 얼마 받아요?", None),
    ("환경 보호요 왜냐면 아이들 미래가 걱정돼서", None),  # a reason, not a question
    ("0419283746", None),
])
def test_an_answer_then_a_question(typed, split):
    assert answers.answer_then_question(typed) == split
