"""Green-life as a membership of its own, through the skill endpoint: a citizen joins alone (Seoul
included, age 14+ confirmed), under 14 is refused politely, an energy member joins with one tap,
Kakao Pay Money or an own-name account as the payout, partner activities matched to the green-life
membership and visible in the balance."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.greenlife_accrual import confirm_month, import_activities
from core.models import GreenlifeActivity, GreenlifeMember
from core.usage_import import ImportRejected
from tests.auxil.engine import write_activities_csv
from tests.auxil.scenarios import make_member, member_of, state

pytestmark = pytest.mark.usefixtures("lgs")
SEOUL_USER = "u-green-seoul"
ENERGY_USER = "u-green-energy"


def membership(db, user_key):
    with db.session() as s:
        return s.scalars(select(GreenlifeMember).where(GreenlifeMember.bot_user_key == user_key)).first()


def join_alone(chat, user=SEOUL_USER, region="서울 강남구"):
    c = chat(user)
    c.open("greenlife", "녹색생활 실천")
    c.tap("녹색생활 가입")
    assert "만 14세 이상이신가요?" in c.text and {"네, 14세 이상", "아니요"} <= set(c.labels)
    c.tap("네, 14세 이상")
    assert "이름(실명)" in c.text
    c.say("김서울")
    c.say("０１０ ９８７６ ５４３２")  # full-width digits and spaces
    assert "시·도와 시·군·구" in c.text and "서울에 사셔도" in c.text
    c.say(region)
    assert "어떻게 받으시겠어요?" in c.text and {"카카오페이머니", "계좌로 받기"} <= set(c.labels)
    return c


def at_the_name(chat, user=SEOUL_USER):
    """The join opened and the age confirmed: the name is asked."""
    c = chat(user)
    c.open("greenlife", "녹색생활 실천")
    c.tap("녹색생활 가입")
    c.tap("네, 14세 이상")
    return c


def test_a_question_mid_join_is_answered_and_the_question_asked_again(chat, db):
    c = at_the_name(chat)
    c.say("김그린")
    c.say("텀블러도 돼요?")  # a close call between the answer and the green-life menu: the answer
    assert "텀블러" in c.text and "바로 가입할 수 있고" in c.text and "휴대전화 번호를 알려 주세요" in c.text
    assert (state(db, SEOUL_USER).step, state(db, SEOUL_USER).failures) == ("mobile", 0)


def test_a_name_and_a_region_typed_as_people_type_them(chat, db):
    c = at_the_name(chat)
    c.say("김그린입니다")
    assert c.has("이름에서 '입니다' 부분은 빼고 적었어요", "휴대전화 번호")
    c.say("010 9876 5432요")
    c.say("부산 해운대")
    assert "어떻게 받으시겠어요?" in c.text
    st = state(db, SEOUL_USER)
    assert st.slots["name"] == "김그린" and st.slots["region"]["lg"] == "26350"


def test_a_seoul_resident_joins_alone_with_kakao_pay_money(chat, db, cipher):
    c = join_alone(chat)
    c.tap("카카오페이머니")
    gm = membership(db, SEOUL_USER)
    assert "녹색생활 실천에 가입했어요" in c.text and f"G{gm.id}" in c.text and "카카오페이머니" in c.text
    assert "김*울" in c.text and "김서울" not in json.dumps(c.last, ensure_ascii=False)
    assert (gm.member_id, gm.sido, gm.seoul, gm.age_confirmed, gm.payout_method, gm.status) == (
        None, "서울특별시", True, True, "kakao_pay_money", "active")
    assert gm.mobile_enc and "010" not in gm.mobile_enc and cipher.decrypt(gm.mobile_enc) == "010-9876-5432"
    assert gm.account_number_enc is None
    assert member_of(db, SEOUL_USER) is None  # no energy membership: Seoul is Eco-mileage
    assert state(db, SEOUL_USER) is None or not state(db, SEOUL_USER).slots  # the dialog's slots are gone
    # the green-life menu now shows the membership, and joining again says so
    c.open("greenlife")
    assert f"녹색생활 회원번호 G{gm.id} · 받는 방법: 카카오페이머니" in c.text and "녹색생활 가입" not in c.labels
    c.send_extra("greenlife", "녹색생활 가입", {"dialog": "greenlife", "action": "join"})
    assert "이미 녹색생활 실천 회원이에요" in c.text


def test_an_abolished_incheon_gu_joins_its_successor(chat, db):
    """After 인천's reorganisation (2026-07-01) 동구 is part of 제물포구: a region typed with the
    old name is placed in the successor, never in the ended unit."""
    c = join_alone(chat, user="u-green-incheon", region="인천 동구")
    c.tap("카카오페이머니")
    gm = membership(db, "u-green-incheon")
    assert (gm.sido, gm.seoul, gm.local_government_code) == ("인천광역시", False, "28125")


def test_the_payout_can_be_changed_later_from_the_green_life_menu(chat, db):
    c = join_alone(chat, user="u-green-later", region="부산 해운대구")
    c.say("받는 방법 나중에 바꿀 수 있나요?")
    assert c.has("'녹색생활 실천' 메뉴에서 바꿀 수 있어요") and state(db, "u-green-later").step == "payout"


@pytest.mark.parametrize("typed,says", [("나이 왜 물어봐요?", "만 14세 이상만 혼자 가입할 수 있어서"),
                                        ("만 나이가 뭐예요?", "생일이 지났으면"), ("중학생이에요", "만 나이로 따져 주세요")])
def test_questions_at_the_age_are_answered(chat, db, typed, says):
    c = chat("u-green-age-q")
    c.open("greenlife", "녹색생활 실천")
    c.tap("녹색생활 가입")
    c.say(typed)
    st = state(db, "u-green-age-q")
    assert c.has(says, "만 14세 이상이신가요?") and st.step == "age"
    assert st.failures == (1 if typed == "중학생이에요" else 0)  # an answer that does not settle it


def test_joining_alone_with_an_own_name_account(chat, db, cipher):
    c = join_alone(chat, user="u-green-account", region="부산 해운대구")
    c.tap("계좌로 받기")
    c.say("국민")
    c.say("123456-01-234567")
    assert "본인인가요?" in c.text
    c.tap("네, 본인 명의예요")
    gm = membership(db, "u-green-account")
    assert "받는 방법: KB국민은행 계좌 **********4567" in c.text
    assert (gm.seoul, gm.sido, gm.payout_method, gm.bank_name) == (False, "부산광역시", "account", "KB국민은행")
    assert cipher.decrypt(gm.account_number_enc) == "12345601234567"
    assert "12345601234567" not in json.dumps(c.history, ensure_ascii=False)


def test_a_bank_and_account_typed_for_the_payout_choice(chat, db, cipher):
    c = join_alone(chat, user="u-green-typed-account", region="부산 해운대구")
    c.say("신한은행 110-123-456789")
    assert c.has("신한은행 ********6789", "본인인가요?")
    c.say("네")
    gm = membership(db, "u-green-typed-account")
    assert (gm.payout_method, gm.bank_name) == ("account", "신한은행")
    assert cipher.decrypt(gm.account_number_enc) == "110123456789"


@pytest.mark.parametrize("typed,payout", [("카톡으로 받을래", "kakao_pay_money"), ("현금으로 주세요", "account"),
                                          ("통장으로요", "account"), ("계좌 말고 카카오페이", "kakao_pay_money")])
def test_the_payout_choice_in_the_words_people_use(chat, db, typed, payout):
    c = join_alone(chat, user="u-green-typed-payout", region="부산 해운대구")
    c.say(typed)
    if payout == "account":
        assert state(db, "u-green-typed-payout").step == "bank"
    else:
        assert membership(db, "u-green-typed-payout").payout_method == payout


def test_someone_elses_account_goes_back_to_the_payout_choice(chat, db):
    c = join_alone(chat, user="u-green-other")
    c.tap("계좌로 받기")
    c.say("신한 110-123-456789")
    c.tap("아니요")
    assert "본인 명의 계좌로만" in c.text and state(db, "u-green-other").step == "payout"
    assert membership(db, "u-green-other") is None


def test_under_14_is_refused_politely(chat, db):
    c = chat("u-green-young")
    c.open("greenlife")
    c.tap("녹색생활 가입")
    c.say("아니요")
    assert "만 14세 이상부터 참여할 수 있어요" in c.text and "다시 찾아 주세요" in c.text
    assert membership(db, "u-green-young") is None
    st = state(db, "u-green-young")
    assert st is None or (st.dialog is None and not st.slots)  # the dialog ended, nothing kept


@pytest.mark.parametrize("typed,outcome", [
    ("네 14살 넘어요", "name"), ("16살이에요", "name"), ("1990년생", "name"), ("30대예요", "name"),
    ("성인이에요", "name"), ("고등학생", "name"),
    ("13살이에요", "refused"), ("2014년생이요", "refused"), ("초등학생이에요", "refused"),
    ("15살", "asked"), ("2012년생", "asked"), ("중학생이에요", "asked"),
])
def test_an_age_typed_for_the_age_question(chat, db, typed, outcome):
    """People answer "만 14세 이상이신가요?" with their age; only what it settles is decided (an
    age without 만 may be counted the traditional way, a birth year leaves the birthday)."""
    c = chat("u-green-age")
    c.open("greenlife")
    c.tap("녹색생활 가입")
    c.say(typed)
    st = state(db, "u-green-age")
    if outcome == "name":
        assert st.step == "name" and "이름(실명)" in c.text
    elif outcome == "refused":
        assert "만 14세 이상부터 참여할 수 있어요" in c.text and (st is None or st.dialog is None)
    else:
        assert st.step == "age" and "네, 14세 이상" in c.labels
        assert c.has("만 나이로") or c.has("'네, 14세 이상'")


def test_an_energy_member_joins_with_one_tap_from_my_info(chat, db, cipher, clock):
    mid = make_member(db, cipher, clock, ENERGY_USER)
    c = chat(ENERGY_USER)
    c.open("myinfo", "내 정보")
    assert "녹색생활 가입" in c.labels
    c.tap("녹색생활 가입")
    gm = membership(db, ENERGY_USER)
    assert gm is not None and gm.member_id == mid and gm.age_confirmed and gm.name is None and gm.mobile_enc is None
    assert f"회원번호는 G{gm.id}" in c.text and "어떻게 받으시겠어요?" in c.text  # then the payout, optional
    c.tap("카카오페이머니")
    assert "받는 방법을 바꿨어요: 카카오페이머니" in c.text
    c.open("myinfo", "내 정보")
    assert "녹색생활 가입" not in c.labels
    with db.session() as s:
        assert s.get(GreenlifeMember, gm.id).payout_method == "kakao_pay_money"


def test_an_energy_member_sees_the_one_tap_in_the_green_life_menu(chat, db, cipher, clock):
    make_member(db, cipher, clock, ENERGY_USER)
    c = chat(ENERGY_USER)
    c.open("greenlife")
    assert "따로 가입해요" in c.text and "녹색생활 가입" in c.labels
    c.tap("녹색생활 가입")
    assert membership(db, ENERGY_USER) is not None
    c.tap("취소")
    c.open("balance")
    assert "녹색생활 실천 포인트 (2026년): 아직 받은 금액이 없어요" in c.text


def test_activities_are_matched_to_the_green_life_membership_and_shown_in_balance(chat, db, cipher, clock, tmp_path):
    c = join_alone(chat)
    c.tap("카카오페이머니")
    gm = membership(db, SEOUL_USER)
    path = write_activities_csv(tmp_path / "a.csv", [(f"G{gm.id}", "e_receipt", 20, "2026-10-05", "shop-1"),
                                               (f"G{gm.id}", "tumbler", 10, "2026-10-06", "cafe-1"),
                                               (f"g{gm.id}", "tumbler", 3, "2026-11-02", "cafe-1")])
    res = import_activities(db, clock, path)
    assert res.inserted == 3
    with db.session() as s:
        assert {a.greenlife_member_id for a in s.scalars(select(GreenlifeActivity))} == {gm.id}
    confirm_month(db, clock, "2026-10")
    c.open("balance", "포인트 조회")
    assert "녹색생활 실천 포인트 (2026년): 10,000원 받음" in c.text and "60,000원 남았어요" in c.text
    assert "녹색생활 실천 포인트만 보여 드려요" in c.text
    assert "이번 달 활동: 텀블러·다회용컵 3잔 900원" in c.text


def test_the_energy_member_id_still_names_the_green_life_membership(chat, db, cipher, clock, tmp_path):
    mid = make_member(db, cipher, clock, ENERGY_USER)
    other = make_member(db, cipher, clock, "u-green-not-joined", address="경기도 수원시 영통구 예시로 125 1동 1호",
                        electricity="0419283700")
    c = chat(ENERGY_USER)
    c.open("greenlife")
    c.tap("녹색생활 가입")
    path = write_activities_csv(tmp_path / "a.csv", [(mid, "tumbler", 2, "2026-11-03", "cafe-1"),
                                               (other, "tumbler", 2, "2026-11-03", "cafe-1"),
                                               ("G99999", "tumbler", 2, "2026-11-03", "cafe-1"),
                                               ("X1", "tumbler", 2, "2026-11-03", "cafe-1")])
    with pytest.raises(ImportRejected) as rejected:
        import_activities(db, clock, path)
    problems = "\n".join(str(p) for p in rejected.value.errors)
    assert f"line 3: no active green-life membership for {other}" in problems
    assert "line 4: no active green-life membership for G99999" in problems
    assert "line 5: member_ref must be a green-life number (G123) or an energy member id" in problems
    assert "line 2" not in problems
    with db.session() as s:
        assert s.scalars(select(GreenlifeActivity)).first() is None  # nothing half-written
    import_activities(db, clock, write_activities_csv(tmp_path / "b.csv", [(mid, "tumbler", 2, "2026-11-03", "cafe-1")]))
    gm = membership(db, ENERGY_USER)
    with db.session() as s:
        (act,) = s.scalars(select(GreenlifeActivity)).all()
    assert act.greenlife_member_id == gm.id
    c.open("greenlife")
    assert "이어서 할게요" in c.text and "어떻게 받으시겠어요?" in c.text  # the payout question, resumed
    c.say("계좌로 받을게요")
    c.say("우리은행 1002-123-456789")  # 13 digits shaped like a resident registration number
    c.say("네")
    assert "계좌번호" in c.text and state(db, ENERGY_USER).step == "bank"  # refused, asked again
    c.say("우리은행 1002-12-345678")
    c.say("네")
    assert "받는 방법을 바꿨어요: 우리은행 계좌 ********5678" in c.text
    assert "이번 달 활동: 텀블러·다회용컵 2잔 600원" in c.text


def test_an_energy_member_of_another_type_confirms_the_age_first(chat, db, cipher, clock):
    mid = make_member(db, cipher, clock, "u-green-foreigner", member_type="foreigner", name="Maria Kim")
    c = chat("u-green-foreigner")
    c.open("greenlife")
    c.tap("녹색생활 가입")
    assert "만 14세 이상이신가요?" in c.text and membership(db, "u-green-foreigner") is None
    c.say("네")
    gm = membership(db, "u-green-foreigner")
    assert gm.member_id == mid and gm.age_confirmed and "회원번호는" in c.text and "어떻게 받으시겠어요?" in c.text


def test_a_split_incheon_gu_asks_which_successor(chat, db):
    """"인천 서구" does not say 서해구 or 검단구 (split on 2026-07-01): asked, then joined there."""
    c = chat("u-green-seogu")
    c.open("greenlife", "녹색생활 실천")
    c.tap("녹색생활 가입")
    c.tap("네, 14세 이상")
    c.say("김인천")
    c.say("010-9876-5432")
    c.say("인천 서구")
    assert "행정구역 개편으로 나뉘었어요" in c.text and {"서해구", "검단구"} <= set(c.labels)
    c.say("서해구요")
    assert "어떻게 받으시겠어요?" in c.text
    c.tap("카카오페이머니")
    gm = membership(db, "u-green-seogu")
    assert (gm.sido, gm.local_government_code) == ("인천광역시", "28275")


@pytest.fixture
def seoul_excluded(tmp_path, monkeypatch):
    """The rules with greenlife.excludes_seoul on (an adopted, configurable rule, E6)."""
    from core.rules import DEFAULT_FILE, ENV_VAR, default_rules

    text = DEFAULT_FILE.read_text(encoding="utf-8")
    assert "excludes_seoul = false" in text
    alt = tmp_path / "rules.toml"
    alt.write_text(text.replace("excludes_seoul = false", "excludes_seoul = true"), encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(alt))
    default_rules.cache_clear()
    yield
    monkeypatch.delenv(ENV_VAR)
    default_rules.cache_clear()


def test_seoul_is_welcome_as_the_rules_say(chat, db):
    c = chat("u-green-seoul-faq")
    c.say("서울 사는데 가입 돼요?")
    assert c.has("에코마일리지", "서울에 사셔도 녹색생활 실천에는 참여할 수 있어요") and "녹색생활 실천" in c.labels
    c.open("greenlife")
    assert c.has("서울에 사셔도 녹색생활 실천에는 참여할 수 있어요")


def test_when_the_rules_exclude_seoul_the_chat_says_so_and_joins_no_seoul_resident(chat, db, seoul_excluded):
    c = chat("u-green-seoul-out")
    c.say("서울 사는데 가입 돼요?")
    assert c.has("서울에 사시면 녹색생활 실천도 서울시 에코마일리지로") and "녹색생활 실천" not in c.labels
    c.open("greenlife")
    assert c.has("서울에 사시면 녹색생활 실천도") and not c.has("서울에 사셔도")
    c.tap("녹색생활 가입")
    c.tap("네, 14세 이상")
    c.say("김서울")
    c.say("010 9876 5432")
    assert c.has("서울에 사시면 녹색생활 실천도") and not c.has("서울에 사셔도")
    c.say("서울 강남구")
    assert c.has("서울시는 에코마일리지로 참여해요", "입력하신 내용은 저장하지 않았어요")
    assert "ecomileage.seoul.go.kr" in json.dumps(c.last, ensure_ascii=False)
    assert membership(db, "u-green-seoul-out") is None
    st = state(db, "u-green-seoul-out")
    assert st is None or (st.dialog is None and not st.slots)
    # elsewhere the join goes on as before
    c.open("greenlife")
    c.tap("녹색생활 가입")
    c.tap("네, 14세 이상")
    c.say("김부산")
    c.say("010 9876 5432")
    c.say("부산 해운대구")
    assert "카카오페이머니" in c.labels


@pytest.mark.parametrize("typed", ["녹색생활 가입", "녹색생활 포인트 가입하고 싶어요", "실천포인트 신청할게요", "녹색생활실천가입"])
def test_asking_in_words_to_join_starts_the_join(chat, db, typed):
    c = chat("u-green-typed-join")
    c.say(typed)
    assert state(db, "u-green-typed-join").dialog == "greenlife" and "네, 14세 이상" in c.labels


@pytest.mark.parametrize("typed", ["녹색생활 가입 어떻게 해요?", "녹색생활 가입했는데 적립이 안 돼요", "녹색생활 가입 안 할래요"])
def test_a_question_a_denial_or_a_join_done_starts_nothing(chat, db, typed):
    c = chat("u-green-typed-other")
    c.say(typed)
    st = state(db, "u-green-typed-other")
    assert st is None or st.dialog is None


def test_a_member_of_green_life_asking_to_join_is_told_so(chat, db):
    c = join_alone(chat, user="u-green-twice")
    c.tap("카카오페이머니")
    assert membership(db, "u-green-twice") is not None
    c.say("녹색생활 가입할래요")
    assert c.has("이미") and state(db, "u-green-twice").dialog is None
