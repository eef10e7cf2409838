"""bot/understanding: normalisation, the bank, the evaluation set kept apart from it, decisions."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot import understanding
from bot.understanding.classifier import Result, Scored
from bot.understanding.normalise import normalise, squash

EVAL = Path(__file__).resolve().parents[1] / "fixtures" / "understanding" / "eval.tsv"


def eval_rows():
    with EVAL.open(encoding="utf-8") as fh:
        return list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]


@pytest.mark.parametrize("typed,expected", [
    ("１포인트에 얼마", "1포인트에 얼마"),
    ("ＦＡＱ", "faq"),
    ("  포인트   언제   ", "포인트 언제"),
    ("언제 들어와요???", "언제 들어와요?"),
    ("고마워요~~~", "고마워요~"),
    ("ㅋㅋㅋㅋ 포인트 어디서 봐요", "포인트 어디서 봐요"),
    ("ㅇㅇ", "응"),
    ("ㄴㄴ", "아니"),
    ("넵", "네"),
    ("됬어요", "됐어요"),
    ("캠패인 참여", "캠페인 참여"),
    ("켐페인", "캠페인"),
    ("포인드 조회", "포인트 조회"),
])
def test_normalise(typed, expected):
    assert normalise(typed) == expected


def test_eval_set_is_large_labelled_and_apart_from_the_bank():
    rows = eval_rows()
    assert len(rows) >= 250
    assert sum(1 for u, _ in rows if u.isascii()) >= 40
    intents = set(understanding.intents())
    assert {i for _, i in rows} <= intents
    bank = [u for u, _ in understanding.examples()]
    exact = set(bank)
    normalised = {normalise(u) for u in bank}
    squashed = {squash(normalise(u)) for u in bank}
    for u, _ in rows:
        assert u not in exact and normalise(u) not in normalised and squash(normalise(u)) not in squashed, u


def test_every_intent_has_fifteen_korean_examples_and_english_ones_are_known_intents():
    bank = understanding.bank("ko")
    assert all(len(t["examples"]) >= 15 for t in bank.values())
    assert set(understanding.bank("en")) <= set(bank)


def test_thresholds_decide_three_outcomes():
    limits = understanding.Thresholds(confident=0.5, margin=0.1, close=0.2, choices=3)
    ranked = lambda *s: Result("x", tuple(Scored(f"i{k}", v) for k, v in enumerate(s)))  # noqa: E731
    assert understanding.decide(ranked(0.3, 0.1), limits).outcome == "confident"  # alone above close
    assert understanding.decide(ranked(0.8, 0.3), limits).outcome == "confident"
    close = understanding.decide(ranked(0.8, 0.75, 0.5, 0.4), limits)
    assert close.outcome == "close" and close.choices == ("i0", "i1", "i2")
    assert understanding.decide(ranked(0.3, 0.25), limits).outcome == "close"
    assert understanding.decide(ranked(0.1), limits).outcome == "none"
    assert understanding.decide(Result("", ()), limits).outcome == "none"


@pytest.mark.parametrize("typed,intent", [
    ("포인트 언제 들어와요", "when_paid_energy"),
    ("녹색생활 실천포인트는 뭐예요", "greenlife_what"),
    ("포인트 1점에 몇원이에요?", "point_value"),
    ("통장 바꿨어요", "change_account"),
    ("가게 하는데 사업장도 참여돼요?", "business"),
    ("주소 옮겼는데 변경해야 하나요", "moving_house"),
])
def test_issue_sentences_are_understood_with_confidence(typed, intent):
    u = understanding.understand(typed)
    assert (u.outcome, u.intent) == ("confident", intent), u.result.ranked[:3]


@pytest.mark.parametrize("typed,intent", [
    ("상반기 결과 나왔나요", "balance"), ("너 누구야", "about"), ("카드로 받을 수 있어요?", "change_incentive"),
    ("가입 됐나요", "am_i_member"), ("계량기 교체했어요", "usage_wrong"), ("영수증", "greenlife_what"),
    ("가입 마감 있어요?", "join_how"), ("명세서", "balance"), ("명의 변경했어요", "holder_change"),
    ("세대주 바꿨어요", "holder_change"), ("이거 스팸이에요?", "about"), ("가입한 적 없는데요", "am_i_member"),
])
def test_sentences_found_by_typing_rank_their_intent_first(typed, intent):
    assert understanding.understand(typed).intent == intent


def test_english_ranks_first():
    assert understanding.classifier().classify("when do I get my money").top.intent == "when_paid_energy"


@pytest.mark.parametrize("typed", ["오늘 미세먼지 어때요?", "내일 날씨 알려줘", "zxqv"])
def test_out_of_scope_chat_is_not_understood(typed):
    assert understanding.understand(typed).outcome == "none"
    assert understanding.OUT_OF_SCOPE not in understanding.intents()


def test_synonyms_fold_into_one_morpheme():
    from bot.understanding import analyser

    assert analyser.morphemes(normalise("통장 바꿨어요")) == ["계좌", "변경"]
    assert "사업장" in analyser.morphemes(normalise("가게 하는데"))


def test_a_sentence_typed_again_is_not_classified_again():
    understanding.understand("포인트 언제 들어와요 ㅎㅎ")
    assert understanding.understand("포인트 언제 들어와요 ㅎㅎ") is understanding.understand("포인트 언제 들어와요 ㅎㅎ")
    before = understanding.understand_normalised.cache_info()
    again = understanding.understand("포인트   언제 들어와요 ㅎㅎㅎ")  # the same once normalised
    after = understanding.understand_normalised.cache_info()
    assert after.hits == before.hits + 1 and again.intent == "when_paid_energy"


def test_words_seen_before_are_not_analysed_again(monkeypatch):
    from bot.understanding import analyser

    analyser.morphemes("통장 바꿨어요")
    monkeypatch.setattr(analyser, "kiwi", lambda: pytest.fail("analysed again"))
    assert analyser.morphemes("바꿨어요 통장") == ["변경", "계좌"]
