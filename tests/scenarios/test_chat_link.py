"""A member from the registry links KakaoTalk in the chat ("이미 회원이에요"): success, failure
without a hint, the attempt limit, balance on the next turn, linked elsewhere, unlink."""
from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from core.member_import import MEMBER_HEADER, import_members
from core.models import Member
from tests.auxil.scenarios import state

pytestmark = pytest.mark.usefixtures("lgs")

U1 = "a1b31d3ae2abcb27a9cec0a44417c85fde01456c1a3bbb78c9a"
U2 = "d8bbb2f87827ad0c378a9651d2d65e9a5e800cfa31f8bf0f818"
U3 = "5e800cfa31f8bf0f818d8bbb2f87827ad0c378a9651d2d65e9a"

ROW = {"member_no": "GG-2019-000123", "member_type": "individual", "name": "박서연", "mobile": "01055556666",
       "address": "경기도 수원시 영통구 매탄로 10", "unit": "101동 1001호", "joined_on": "2024-03-15",
       "electricity": "0411112222", "water": "", "gas": "managed", "incentive_type": "donation",
       "bank": "", "account": ""}


@pytest.fixture
def registry(db, cipher, clock, tmp_path):
    path = tmp_path / "registry.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(MEMBER_HEADER)
        w.writerow([ROW[c] for c in MEMBER_HEADER])
    import_members(db, cipher, clock, path)


def linked_key(db) -> str | None:
    with db.session() as s:
        return s.scalars(select(Member.bot_user_key).where(Member.member_no == ROW["member_no"])).one()


def prove(c, member_no="GG-2019-000123", name="박서연", mobile="010 5555 6666", address=None):
    c.open("welcome", "안녕")
    c.tap("이미 회원이에요")
    assert "카카오톡 연결 동의" in c.text and "보관하지 않아요" in c.text
    c.tap("동의하고 연결")
    assert "회원번호" in c.text
    if member_no is None:
        c.tap("번호를 몰라요")
    else:
        c.say(member_no)
    c.say(name)
    c.say(mobile)
    if member_no is None:
        assert "주소" in c.text
        c.say(address)


def test_linking_with_the_member_number_then_balance_on_the_next_turn(chat, db, registry):
    c = chat(U1)
    prove(c, member_no="gg-2019-000123")  # typed in lower case
    assert "카카오톡이 회원 정보와 연결됐어요" in c.text and "박*연" in c.text
    assert linked_key(db) == U1
    c.post_fixture("balance_lookup.json")
    assert "회원만" not in c.text and "2026년" in c.text
    c.open("myinfo", "내 정보")
    assert "카톡 연결 해제" in c.labels


def test_the_consent_is_asked_first_and_recorded_with_the_link(chat, db, registry):
    c = chat(U2)
    c.open("welcome", "안녕")
    c.tap("이미 회원이에요")
    c.say("동의 안 함")
    assert "연결하지 않았어요" in c.text and state(db, U2).dialog is None and linked_key(db) is None
    prove(chat(U1))
    with db.session() as s:
        consents = s.scalars(select(Member.consents).where(Member.member_no == ROW["member_no"])).one()
    assert consents["kakao_link_version"] == "2026-12" and consents["kakao_link"].startswith("20")


def test_a_member_who_types_that_they_do_not_know_the_number_is_asked_the_address(chat, db, registry):
    c = chat(U1)
    c.open("welcome", "안녕")
    c.tap("이미 회원이에요")
    c.say("ㅇㅇ")  # the consent, typed
    c.say("몰라요")
    assert "이름" in c.text
    c.say("박서연")
    c.say("010.5555.6666")
    assert "주소" in c.text
    c.say("경기 수원시 영통구 매탄로 10, 101-1001")
    assert "연결됐어요" in c.text and linked_key(db) == U1


@pytest.mark.parametrize("typed", ["GG 2019 000123", "gg2019000123", "ＧＧ－２０１９－０００１２３", "GG.2019.000123",
                                   "제 회원번호는 GG-2019-000123이에요", "회원번호 GG2019000123", "GG-2019-000123 입니다"])
def test_the_member_number_typed_as_people_read_it(chat, db, registry, typed):
    c = chat(U1)
    prove(c, member_no=typed, name="박서연이에요", mobile="010 5555 6666 입니다")
    assert "연결됐어요" in c.text and linked_key(db) == U1


def test_linking_with_name_mobile_and_address(chat, db, registry):
    c = chat(U1)
    prove(c, member_no=None, address="경기 수원시 영통구 매탄로 10, 101-1001")
    assert "연결됐어요" in c.text and linked_key(db) == U1


def test_a_wrong_answer_fails_without_saying_which(chat, db, registry):
    texts = []
    for wrong in ({"name": "박서윤"}, {"mobile": "010-5555-6667"}, {"member_no": "GG-2019-000124"}):
        c = chat(U1)
        prove(c, **wrong)
        texts.append(c.text)
    assert len(set(texts)) == len(texts)  # only the attempts left differ
    for text in texts:
        assert "일치하는 회원을 찾지 못했어요" in text
        for word in ("이름", "휴대전화", "회원번호", "박서연"):
            assert word not in text
    assert linked_key(db) is None


def test_the_attempt_limit_holds_and_is_kept_in_the_database(chat, db, registry, config):
    config.bot.link_attempts_per_day = 2
    c = chat(U1)
    prove(c, name="누군가")
    assert "1번 더" in c.text
    prove(c, name="누군가")
    assert "오늘은 더 확인할 수 없어요" in c.text
    c.open("welcome", "안녕")
    c.tap("이미 회원이에요")  # even the right answers are not asked for now
    assert "오늘은 더 확인할 수 없어요" in c.text and linked_key(db) is None
    # the member is protected too: another KakaoTalk user guessing at the same number is stopped
    other = chat(U3)
    prove(other, name="아무개")
    prove(other, name="아무개")
    assert "오늘은 더 확인할 수 없어요" in other.text


def test_a_member_linked_elsewhere_is_told_the_way_forward_and_can_unlink(chat, db, registry):
    first = chat(U1)
    prove(first)
    second = chat(U2)
    prove(second)
    assert "이미 다른 카카오톡 계정과 연결돼 있어요" in second.text and "콜센터" in second.text
    assert linked_key(db) == U1
    first.open("myinfo", "내 정보")
    first.tap("카톡 연결 해제")
    assert "연결을 해제할까요" in first.text
    first.tap("연결 해제")
    assert "연결을 해제했어요" in first.text and linked_key(db) is None
    assert state(db, U1).dialog is None
    prove(second)
    assert "연결됐어요" in second.text and linked_key(db) == U2


def test_signup_first_question_offers_already_a_member(chat, db, registry):
    c = chat(U1)
    c.open("signup", "가입하기")
    assert "이미 회원이에요" in c.labels
    c.tap("이미 회원이에요")
    assert "카카오톡 연결 동의" in c.text and "보관하지 않아요" in c.text
    c.tap("동의하고 연결")
    assert "회원번호" in c.text


@pytest.mark.parametrize("typed", ["이미 회원이에요", "홈페이지로 가입했는데 카톡 연결", "예전에 홈페이지에서 가입했는데요",
                                   "구청에서 가입했어요"])
def test_saying_in_words_that_one_is_already_a_member_starts_the_link(chat, db, registry, typed):
    c = chat(U1)
    c.say(typed)  # typed, not the button: the registry's members say it this way
    assert "카카오톡 연결 동의" in c.text and state(db, U1).dialog == "link"
    c.tap("동의하고 연결")
    c.say("GG-2019-000123")
    c.say("박서연")
    c.say("010 5555 6666")
    assert linked_key(db) == U1
    c.say(typed)  # linked now: told so, nothing started
    assert state(db, U1) is None or state(db, U1).dialog is None


@pytest.mark.parametrize("step", ["name", "address"])
def test_already_a_member_typed_mid_signup_offers_the_link(chat, db, registry, step):
    from tests.auxil.scenarios import signup_until

    c = signup_until(chat(U1), step)
    c.say("이미 회원이에요")  # at the name step this is no name
    st = state(db, U1)
    assert (st.dialog, st.step, st.slots.get("name") if step == "name" else None) == ("signup", step, None)
    assert c.has("새로 가입하지 말고") and c.labels[0] == "이미 회원이에요"
    c.tap("이미 회원이에요")
    assert "카카오톡 연결 동의" in c.text and state(db, U1).dialog == "link"


def test_a_linked_member_asking_their_member_number_sees_it_in_my_info(chat, db, registry):
    c = chat(U1)
    prove(c)
    c.say("내 회원번호 뭐였지")  # the call centre and the 시·군·구 ask for it
    card = c.last["template"]["outputs"][0]["itemCard"]
    assert card["description"].startswith("회원번호 GG-2019-000123 · 2024-03-15 가입")
    c = chat(U2)
    c.say("회원번호 확인하고 싶어요")  # not a member: nothing to show, the way to join
    assert "아직 탄소중립포인트 회원이 아니에요" in c.text


def test_something_else_typed_at_the_unlink_confirmation_ends_it(chat, db, registry):
    c = chat(U1)
    prove(c)
    c.open("myinfo", "내 정보")
    c.tap("카톡 연결 해제")
    c.say("연결 해제하면 포인트는요?")  # about it: asked again
    assert "연결을 해제할까요" in c.text and state(db, U1).step == "unlink_confirm"
    c.say("이번 달 결과 알려줘")  # not about it: answered, the confirmation gone
    assert "연결을 해제할까요" not in c.text and state(db, U1).dialog is None
    c.say("네")
    assert linked_key(db) == U1


def consented(c):
    """The link opened and its consent given: the member number is asked."""
    c.open("welcome", "안녕")
    c.tap("이미 회원이에요")
    c.tap("동의하고 연결")
    return c


def test_the_name_and_the_mobile_in_one_message_link(chat, db, registry):
    c = consented(chat(U1))
    c.say("GG-2019-000123")
    c.say("박서연 010-5555-6666")
    assert "연결됐어요" in c.text and linked_key(db) == U1


def test_the_name_and_the_mobile_together_then_the_address(chat, db, registry):
    c = consented(chat(U1))
    c.tap("번호를 몰라요")
    c.say("박서연, 010 5555 6666 이에요")
    assert "010-****-6666" in c.text and "주소" in c.text and state(db, U1).step == "address"
    c.say("경기 수원시 영통구 매탄로 10, 101-1001")
    assert "연결됐어요" in c.text and linked_key(db) == U1


@pytest.mark.parametrize("typed,says", [("회원번호가 뭐예요?", "가입할 때 받은 번호예요"), ("회원번호 어디서 봐요?", "누리집 '나의 정보'"),
                                        ("왜 필요해요?", "이 카카오톡과 연결하려고"), ("이거 안전해요?", "따로 보관하지 않아요")])
def test_questions_at_the_member_number_are_answered(chat, db, registry, typed, says):
    c = chat(U1)
    c.open("welcome", "안녕")
    c.tap("이미 회원이에요")
    c.tap("동의하고 연결")
    c.say(typed)
    st = state(db, U1)
    assert c.has(says) and (st.step, st.failures) == ("member_no", 0)
    c.say("회원번호 모르는데요")  # as the '번호를 몰라요' button: found by the address instead
    c.say("박서연")
    c.say("010 5555 6666")
    assert "주소" in c.text and state(db, U1).step == "address"


def test_an_answer_with_why_it_is_asked_is_taken_and_the_reason_given(chat, db, registry):
    c = chat("u-link-why")
    c.open("signup", "회원가입")
    c.tap("이미 회원이에요")
    c.tap("동의하고 연결")
    c.say("GG-2019-000123인데 회원번호 어디서 봐요?")
    assert c.has("가입 확인 문자나 누리집 '나의 정보'에서 볼 수 있고", "가입할 때 쓴 이름")
    c.say("박서연인데 이름 왜 물어봐요?")
    assert c.has("가입하신 본인이 맞는지 확인하려고 여쭤봐요", "휴대전화 번호")
    c.say("010 5555 6666")
    assert linked_key(db) == "u-link-why"
