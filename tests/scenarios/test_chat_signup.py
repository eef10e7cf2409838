"""Signup conversations end to end through POST /kakao/skills/<skill>: every member type the chat
supports, every bad answer, cancel and resume, Seoul, households and customer numbers already
taken, resident registration numbers, old buttons, editing, signing up twice."""
from __future__ import annotations

import json
import logging
import threading

import pytest
from sqlalchemy import select

from core.models import DialogState, MemberAddress, ResourceAccount
from tests.auxil.scenarios import (
    ADDRESS,
    SIGNUP_PATH,
    SIGNUP_STEPS,
    U1,
    answer,
    count_members,
    dump_database,
    make_member,
    member_of,
    signup_until,
    state,
)
from tests.auxil.support import make_payload, record_text

pytestmark = pytest.mark.usefixtures("lgs")


def test_signup_with_the_shared_fixtures(chat, db, cipher):
    """The fixture files posted as the steps of one conversation (taps on the signup skill,
    free text on the fallback skill), then the remaining answers."""
    c = chat(U1)
    c.post_fixture("signup_start.json")
    assert c.has("어떤 유형으로 가입") and "만 14세 이상 개인" in c.labels
    c.post_fixture("signup_member_type.json")
    assert c.has("약관") and "필수만 동의" in c.labels
    c.post_fixture("signup_consent.json")
    assert c.has("이름(실명)") and state(db, U1).step == "name"
    c.say("홍길동")
    c.say("010-1234-5678")
    c.tap("네, 세대주예요")
    assert state(db, U1).step == "address"
    c.post_fixture("signup_address.json")
    assert c.has("전기요금은 어떻게") and state(db, U1).slots["address"]["detail"] == "101동 1203호"
    c.post_fixture("signup_billing_mode.json")
    assert c.has("전기 고객번호 10자리")
    c.post_fixture("signup_customer_number_invalid.json")
    assert c.has("숫자 10자리", "고지서") and state(db, U1).step == "customer_number"
    assert "12345678" not in json.dumps(state(db, U1).slots)
    c.post_fixture("signup_customer_number_valid.json")
    assert c.has("******3746") and "0419283746" not in c.text
    assert "0419283746" not in json.dumps(state(db, U1).slots)  # encrypted while the dialog lasts
    c.tap("관리비 합산")
    c.tap("사용 안 함")
    assert state(db, U1).step == "incentive_type" and "기부" in c.labels
    c.post_fixture("signup_incentive_type.json")
    assert state(db, U1).step == "optional"
    c.tap("건너뛰기")
    assert c.has("가입 정보를 확인해 주세요", "홍*동", "010-****-5678", "******3746", "기부")
    assert "홍길동" not in c.text and "5678" in c.text and "1234-5678" not in c.text
    c.tap("가입하기")
    assert c.has("가입을 마쳤어요", "2027년 상반기")
    member = member_of(db, U1)
    assert member.name == "홍길동" and member.member_type == "individual" and member.incentive_type == "donation"
    assert member.local_government_code == "41117" and member.head_of_household == "홍길동"
    assert set(member.consents) >= {"terms", "privacy", "third_party"} and member.consents["optional"] is False
    assert member.marketing_opt_in is False and member.plusfriend_user_key
    with db.session() as s:
        accounts = {a.resource: a for a in s.scalars(select(ResourceAccount))}
        assert cipher.decrypt(accounts["electricity"].customer_number_enc) == "0419283746"
        assert accounts["water"].billing_mode == "managed_fee" and accounts["gas"].billing_mode == "not_used"
        assert s.scalars(select(MemberAddress)).one().local_government_code == "41117"
    assert state(db, U1).dialog is None and state(db, U1).slots == {}


def test_full_signup_with_every_optional_item_and_cash(chat, db, cipher):
    c = signup_until(chat(U1))
    assert c.has("가입을 마쳤어요")
    m = member_of(db, U1)
    assert (m.incentive_type, m.bank_name, m.account_holder) == ("cash", "KB국민은행", "홍길동")
    assert cipher.decrypt(m.account_number_enc) == "123456789012"
    assert (str(m.floor_area), m.move_in_date.isoformat(), m.email, m.referrer, m.motivation) == (
        "84.9", "2020-03-01", "hong@example.com", "green123", "환경 보호")


@pytest.mark.parametrize("kind,type_words,name,address,expected_lg", [
    ("commercial", "상가", "그린마트 영통점", "경기 수원시 영통구 매탄로 12 1층 101호", "41117"),
    ("public", "공공기관", "과천시청", "경기도 과천시 관문로 69", "41290"),
    ("school", "학교", "한빛초등학교", "세종 한누리대로 2130", "36110"),
    ("foreigner", "외국인", "Nguyen Lan", "제주특별자치도 제주시 중앙로 100 2동 301호", "50110"),
])
def test_each_member_type_signs_up_by_typing_only(chat, db, kind, type_words, name, address, expected_lg):
    """Every answer typed on the fallback skill, as someone who ignores the buttons would."""
    user = f"u-type-{kind}"
    c = chat(user)
    c.open("signup")
    c.say(type_words)
    c.say("모두 동의")
    c.say(name)
    c.say("01098765432")
    if kind == "foreigner":
        assert c.has("세대주")
        c.say("네")
    c.say(address)
    if state(db, user).step == "address_detail":
        c.say("동·호수 없음")
    c.say("개별납부")
    c.say("12-3456-7890")
    c.say("개별납부")
    c.say("1234-56789")
    c.say("관리비 합산")
    c.say("기부")
    c.say("건너뛰기")
    assert state(db, user).step == "confirm", c.text
    c.say("가입하기")
    assert c.has("가입을 마쳤어요"), c.text
    m = member_of(db, user)
    assert (m.member_type, m.name, m.local_government_code, m.mobile) == (kind, name, expected_lg, "010-9876-5432")
    assert m.marketing_opt_in is True and m.consents["optional"] is True
    assert m.head_of_household == (name if kind == "foreigner" else None)


@pytest.mark.parametrize("web_only,words", [("individual_under14", "만 14세 미만"), ("complex", "단지 단위 참여")])
def test_under_14_and_complex_are_sent_to_the_website(chat, db, web_only, words):
    c = chat(U1)
    c.open("signup")
    c.tap(words)
    assert "누리집에서 가입" in c.labels and "cpoint.or.kr" in json.dumps(c.last)
    assert state(db, U1).dialog is None and count_members(db) == 0


@pytest.mark.parametrize("typed,outcome", [
    ("13살이에요", "web"), ("2015년생", "web"), ("35살이에요", "terms"), ("만 14세", "terms"),
    ("14살", "asked"),
])
def test_an_age_typed_for_the_member_type(chat, db, typed, outcome):
    c = chat(U1)
    c.open("signup")
    c.say(typed)
    st = state(db, U1)
    if outcome == "web":
        assert "누리집에서 가입" in c.labels and st.dialog is None and count_members(db) == 0
    elif outcome == "terms":
        assert st.step == "terms" and st.slots["member_type"] == "individual"
    else:
        assert st.step == "member_type" and c.has("만 나이로 14세가 넘으셨나요?")


@pytest.mark.parametrize("typed", ["아파트 사는 주부예요", "아파트 단지에 살아요", "직장인이에요", "대학생이요"])
def test_who_they_are_or_where_they_live_typed_for_the_member_type_is_an_individual(chat, db, typed):
    c = chat(U1)
    c.open("signup")
    c.say(typed)
    st = state(db, U1)
    assert st.step == "terms" and st.slots["member_type"] == "individual", c.text


def test_declining_the_required_terms_stops_the_signup(chat, db):
    c = signup_until(chat(U1), "terms")
    c.tap("동의하지 않음")
    assert c.has("필수 약관에 동의하지 않으시면 가입할 수 없어요")
    assert state(db, U1).dialog is None and count_members(db) == 0


def test_consent_summaries_are_shown_without_losing_the_step(chat, db):
    c = signup_until(chat(U1), "terms")
    c.tap("[필수] 개인정보 수집·이용")
    assert c.has("보유 기간", "주민등록번호는 받지 않아요") and state(db, U1).step == "terms"
    c.post_fixture("signup_consent.json")
    assert state(db, U1).step == "name"


# --- bad answers at every step ----------------------------------------------------------------------

BAD_ANSWERS = [
    ("member_type", "잘 모르겠어요", "가입 유형을"),
    ("terms", "글쎄요", "약관 동의 여부"),
    ("name", "홍길동123", "한글 또는 영문"),
    ("mobile", "02-123-4567", "휴대전화 번호(010으로 시작)"),
    ("mobile", "010-12-34", "01X로 시작"),
    ("householder", "음", "세대주이신지"),
    ("address", "우리 집이요", "시·도부터"),
    ("address", "예시로 123", "시·도와 시·군·구"),
    ("address_detail", "모르겠어요", "101동 1203호"),
    ("billing_mode", "사용 안 함", "전기는 꼭 등록"),
    ("customer_number", "12345-678", "숫자 10자리"),
    ("billing_mode:water", "몰라요", "요금 내는 방법"),
    ("incentive_type", "비트코인", "받는 방법을"),
    ("bank", "비트코인", "은행 이름"),
    ("account_number", "12345", "10~14자리"),
    ("account_holder", "글쎄요", "본인 명의 계좌인지"),
    ("optional", "음", "선택 항목을 입력하실지"),
    ("floor_area", "넓어요", "면적은 숫자로"),
    ("move_in_date", "2099-01-01", "오늘이나 그 이전"),
    ("email", "hong@", "이메일 주소 형식"),
    ("referrer", "!!", "영문·숫자 4~40자"),
    ("confirm", "음", "'가입하기' 또는 '고치기'"),
]


@pytest.mark.parametrize("step,bad,hint", BAD_ANSWERS, ids=[f"{s}-{b}" for s, b, _ in BAD_ANSWERS])
def test_every_bad_answer_is_asked_again_with_a_hint(chat, db, step, bad, hint):
    c = signup_until(chat(U1), step)
    before = state(db, U1)
    c.say(bad)
    after = state(db, U1)
    assert hint in c.text, c.text
    assert after.step == before.step and after.failures == 1
    assert after.slots == before.slots  # nothing of the bad answer kept
    assert "취소" in c.labels  # always a way out


def test_three_failures_in_a_row_offer_help_instead_of_asking_again(chat, db):
    c = signup_until(chat(U1), "mobile")
    c.say("모름")
    c.say("전화 없어요")
    c.say("몰라요")
    assert c.has("입력이 잘 안 되시나요?", "1660-2030") and not c.has("010-1234-5678처럼")
    assert {"다시 입력하기", "자주 묻는 질문", "취소", "고객센터 전화"} <= set(c.labels)
    c.tap("다시 입력하기")
    assert c.has("휴대전화 번호를 알려 주세요") and state(db, U1).failures == 0
    c.say("010-1234-5678")
    assert state(db, U1).step == "householder"


def test_a_good_answer_resets_the_failure_count(chat, db):
    c = signup_until(chat(U1), "name")
    c.say("123")
    c.say("456")
    c.say("홍길동")
    c.say("02")
    assert state(db, U1).failures == 1 and c.has("01X로 시작")


# --- old buttons, cancel, resume, expiry ---------------------------------------------------------------

def test_an_old_button_gets_the_current_question(chat, db):
    c = signup_until(chat(U1), "address")
    c.post_fixture("signup_member_type.json")  # the member-type button, long answered
    assert c.has("이전 질문의 버튼이에요", "주소를 알려 주세요")
    c.post_fixture("signup_billing_mode.json")  # a button of a later question
    assert state(db, U1).step == "address" and state(db, U1).slots.get("resources") is None
    c.say(ADDRESS)
    c.post_fixture("signup_billing_mode.json")
    c.say("0419283746")
    # now at water: an electricity billing tap is stale (same step name, other resource)
    c.post_fixture("signup_billing_mode.json")
    assert c.has("이전 질문의 버튼이에요", "수도요금") and state(db, U1).slots["resource"] == "water"


@pytest.mark.parametrize("step", ["member_type", "terms", "name", "address", "customer_number", "incentive_type",
                                  "account_number", "confirm"])
def test_cancel_at_any_step_keeps_nothing(chat, db, step):
    c = signup_until(chat(U1), step)
    c.post_fixture("signup_cancel.json")
    assert c.has("취소했어요")
    st = state(db, U1)
    assert st.dialog is None and st.step is None and st.slots == {}
    assert count_members(db) == 0
    c.say("홍길동")  # free text afterwards is not an answer any more
    assert count_members(db) == 0 and state(db, U1).dialog is None


def test_typing_cancel_works_too(chat, db):
    c = signup_until(chat(U1), "mobile")
    c.say("취소")
    assert state(db, U1).dialog is None


def test_leaving_and_coming_back_resumes_the_same_step(chat, db, clock):
    c = signup_until(chat(U1), "customer_number")
    c.open("balance", "포인트 조회")  # wanders off
    c.open("welcome", "")
    clock.advance(hours=23)
    c.open("signup", "회원가입")
    assert c.has("하던 가입을 이어서 할게요", "전기 고객번호") and state(db, U1).step == "customer_number"
    c.say("0419283746")
    assert state(db, U1).step == "billing_mode" and state(db, U1).slots["resource"] == "water"


def test_after_the_session_expires_the_signup_starts_again(chat, db, clock):
    c = signup_until(chat(U1), "customer_number")
    clock.advance(hours=25)
    c.post_fixture("signup_billing_mode.json")  # an old button
    assert c.has("만료되었어요", "어떤 유형으로 가입")
    assert state(db, U1).step == "member_type" and "name" not in state(db, U1).slots


@pytest.fixture
def one_hour_ttl(config):
    config.bot.dialog_ttl_hours = 1  # DIALOG_TTL_HOURS=1, before the app is built


def test_ttl_is_a_setting(one_hour_ttl, chat, db, clock):
    c = signup_until(chat(U1), "name")
    clock.advance(minutes=59)
    c.say("홍길동")
    assert state(db, U1).step == "mobile"
    clock.advance(minutes=61)
    c.say("홍길동")
    assert state(db, U1).dialog is None


# --- Seoul, households, customer numbers ---------------------------------------------------------------

def test_seoul_address_is_sent_to_eco_mileage_and_nothing_is_kept(chat, db):
    c = signup_until(chat(U1), "address")
    c.post_fixture("signup_address_seoul.json")
    assert c.has("에코마일리지") and "https://ecomileage.seoul.go.kr" in json.dumps(c.last)
    assert state(db, U1).dialog is None and state(db, U1).slots == {} and count_members(db) == 0
    assert "세종대로" not in dump_database(db)
    # green-life takes Seoul (rules E6): offered with one tap
    assert c.has("서울에 사셔도 녹색생활 실천에는 참여할 수 있어요")
    c.tap("녹색생활 가입")
    assert state(db, U1).dialog == "greenlife" and "네, 14세 이상" in c.labels


@pytest.mark.parametrize("typed", ["서울 사는데요", "서울시 강남구 테헤란로 152"])
def test_seoul_in_any_spelling(chat, db, typed):
    c = signup_until(chat(U1), "address")
    c.say(typed)
    assert c.has("에코마일리지") and state(db, U1).dialog is None


def test_a_household_joined_twice_is_told_what_to_do(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-family", electricity="1111111111")
    c = signup_until(chat(U1), "address")
    c.say("경기 수원시 영통구 예시로 123, 101-1203")  # same home, other spelling
    assert c.has("가입을 진행할 수 없어요", "세대당 한 명", "고객센터") and state(db, U1).step == "address"
    assert state(db, U1).failures == 1
    c.say("경기도 수원시 영통구 예시로 123 101동 1204호")
    assert state(db, U1).step == "billing_mode"


def test_a_household_found_after_typing_the_unit(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-family", electricity="1111111111")
    c = signup_until(chat(U1), "address_detail")
    c.say("101동 1203호")
    assert c.has("가입을 진행할 수 없어요") and state(db, U1).step == "address"


def test_a_customer_number_already_taken_is_asked_again(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-other", address="경기도 과천시 별양로 12")
    c = signup_until(chat(U1), "customer_number")
    c.post_fixture("signup_customer_number_valid.json")
    assert c.has("이미 다른 회원이 등록했어요", "고지서") and state(db, U1).step == "customer_number"
    c.tap("다른 방식 고르기")
    assert state(db, U1).step == "billing_mode"
    c.tap("관리비 합산")
    assert state(db, U1).slots["resource"] == "water"


def test_a_number_taken_between_typing_and_joining(chat, db, cipher, clock):
    c = signup_until(chat(U1), "confirm")
    make_member(db, cipher, clock, "u-quick", address="경기도 과천시 별양로 12", electricity="0419283746")
    c.tap("가입하기")
    assert c.has("이미 다른 회원이 등록했어요") and state(db, U1).step == "customer_number"
    assert member_of(db, U1) is None
    c.say("0419283747")
    assert state(db, U1).step == "confirm"
    c.tap("가입하기")
    assert member_of(db, U1) is not None


# --- resident registration numbers -------------------------------------------------------------------

RRN_STEPS = [s for s in SIGNUP_STEPS if s != "confirm"] + ["confirm"]


@pytest.mark.parametrize("step", RRN_STEPS)
def test_a_resident_registration_number_at_any_step_is_refused_and_found_nowhere(chat, db, caplog, step):
    caplog.set_level(logging.DEBUG, logger="cpoint")
    c = signup_until(chat(U1), step)
    before = state(db, U1)
    c.post_fixture("signup_rrn_in_text.json")
    assert c.has("주민등록번호는 채팅으로 받지 않아요")
    after = state(db, U1)
    assert (after.step, after.slots, after.failures) == (before.step, before.slots, before.failures)
    c.say("9001011234567")  # without the hyphen, even where digits are expected
    assert c.has("주민등록번호는 채팅으로 받지 않아요")
    signup_from = SIGNUP_STEPS.index(step)
    for _name, how in SIGNUP_PATH[signup_from:]:
        answer(c, how)
    assert member_of(db, U1) is not None
    dump = dump_database(db)
    for fragment in ("1234567", "900101"):
        assert fragment not in dump
        assert fragment not in caplog.text
        assert all(fragment not in record_text(r) for r in caplog.records)


# --- twice, edits, concurrency, app ids ---------------------------------------------------------------

def test_signing_up_twice_is_answered_with_the_existing_membership(chat, db):
    c = signup_until(chat(U1))
    c.open("signup", "가입하기")
    assert c.has("이미 탄소중립포인트 회원이에요", "홍*동") and state(db, U1).dialog is None
    c.post_fixture("signup_member_type.json")  # an old button of the finished signup
    assert c.has("이미 탄소중립포인트 회원이에요") and count_members(db) == 1


def test_a_double_tap_on_join_creates_one_member(app, chat, db):
    c = signup_until(chat(U1), "confirm")
    join = c.find("가입하기")
    client = app.test_client()
    codes = []

    def tap():
        payload = make_payload(U1, "가입하기", "fallback", client_extra=join["extra"], trigger="QUICKREPLY_BUTTON_MESSAGE")
        codes.append(client.post("/kakao/skills/fallback", json=payload,
                                 headers={"X-Skill-Secret": "test-skill-secret"}).status_code)

    threads = [threading.Thread(target=tap) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200, 200, 200] and count_members(db) == 1


def test_edit_from_the_confirmation_returns_to_it(chat, db):
    c = signup_until(chat(U1), "confirm")
    c.tap("고치기")
    c.tap("이름")
    c.say("홍길순")
    assert state(db, U1).step == "confirm" and c.has("홍*순")
    c.tap("고치기")
    c.tap("주소")
    c.say("제주특별자치도 서귀포시 중앙로 105")
    c.tap("동·호수 없음")
    # 서귀포 offers cash too: straight back to the confirmation
    assert state(db, U1).step == "confirm" and c.has("서귀포시")
    c.tap("고치기")
    c.tap("광고 수신")
    c.tap("받을게요")
    c.tap("가입하기")
    m = member_of(db, U1)
    assert (m.name, m.local_government_code, m.marketing_opt_in) == ("홍길순", "50130", True)


@pytest.mark.parametrize("typed,step", [
    ("주소 잘못 썼어요", "address"), ("전화번호 틀렸어요", "mobile"), ("이름에 오타가 있어요", "name"),
    ("계좌 바꿀래요", "incentive_type"), ("가입할게요 근데 이메일은 빼 주세요", "motivation"), ("주소", "address"),
])
def test_a_field_named_at_the_confirmation_is_changed_at_once(chat, db, typed, step):
    c = signup_until(chat(U1), "confirm")
    c.say(typed)
    st = state(db, U1)
    assert (st.step, st.failures) == (step, 0), c.text
    assert count_members(db) == 0  # nothing was joined on the way


def test_a_size_class_at_the_floor_area_asks_for_the_exclusive_area(chat, db):
    c = signup_until(chat(U1), "floor_area")
    c.say("25평형 아파트")
    assert "공급면적이라 전용면적보다 커요" in c.text and state(db, U1).step == "floor_area"
    c.say("59.9㎡")
    assert state(db, U1).slots["floor_area"] == "59.9"


def test_editing_the_address_asks_the_incentive_again_when_not_offered(chat, db):
    c = signup_until(chat(U1), "confirm")
    c.tap("고치기")
    c.tap("주소")
    c.say("충청북도 청주시 상당구 상당로 155")  # offers cash and donation only
    c.tap("동·호수 없음")
    assert state(db, U1).step == "confirm"  # cash is offered in 청주 too
    c.tap("고치기")
    c.tap("받는 방법")
    assert "현금(계좌)" in c.labels and "지역화폐·상품권" not in c.labels


def test_an_address_anywhere_finds_its_sigungu_with_the_documented_defaults(chat, db):
    c = signup_until(chat(U1), "address")
    c.say("전라남도 순천시 중앙로 1")
    assert state(db, U1).step == "address_detail"
    c.tap("동·호수 없음")
    assert not c.has("시·군·구를 아직 확인하지 못했어요") and c.has("전기요금은 어떻게")
    c.tap("개별납부")
    c.say("0419283746")
    c.tap("사용 안 함")
    c.tap("사용 안 함")
    assert c.labels[:2] == ["현금(계좌)", "기부"]  # the default incentive types
    c.tap("기부")
    c.tap("건너뛰기")
    c.tap("가입하기")
    assert c.has("가입을 마쳤어요") and not c.has("확인되는 대로 연결")
    assert member_of(db, U1).local_government_code == "46150"
    c.say("1포인트에 얼마예요?")
    assert c.has("순천시") and c.has("(기본값)")


def test_kakao_app_user_id_is_kept_and_finds_the_member(chat, db):
    signup_until(chat("u-app-1", app_user_id="2718281828"))
    assert member_of(db, "u-app-1").app_user_id == "2718281828"
    other_key = chat("u-app-1-other-bot", app_user_id="2718281828")
    other_key.open("signup")
    assert other_key.has("이미 탄소중립포인트 회원이에요")


def test_taps_through_open_builder_blocks(blocks, chat, db):
    """With block ids configured, quick replies are block actions to the signup skill."""
    c = chat(U1)
    c.open("signup")
    assert c.find("만 14세 이상 개인")["action"] == "block"
    signup_until(c, start=False)
    assert member_of(db, U1) is not None


def test_a_question_mid_signup_is_answered_and_the_step_repeated(chat, db):
    c = signup_until(chat(U1), "customer_number")
    c.tap("고객번호 찾는 법")
    assert c.has("한전 고지서 위쪽", "전기 고객번호 10자리를 입력해 주세요") and state(db, U1).failures == 0
    c.say("서울 사는데 가입돼요?")  # typed at a number step: not a number, a known question
    assert c.has("에코마일리지") and state(db, U1).step == "customer_number" and state(db, U1).failures == 0


def test_other_features_answer_mid_signup_and_the_signup_waits(chat, db, clock):
    from tests.auxil.scenarios import add_campaign

    add_campaign(db, clock)
    c = signup_until(chat(U1), "name")
    c.open("campaigns", "캠페인")
    c.tap("참여하기")  # a campaign card button, message action to the fallback
    assert c.has("회원만") and state(db, U1).step == "name" and state(db, U1).failures == 0
    c.say("홍길동")
    assert state(db, U1).step == "mobile"


def test_bad_answers_off_the_main_path(chat, db):
    """The steps the standard path skips: the householder's name, the edit menu, the consent change."""
    c = signup_until(chat(U1), "householder")
    c.tap("아니요")
    assert state(db, U1).step == "householder_name"
    c.say("세대주123")
    assert "한글 또는 영문" in c.text and state(db, U1).failures == 1
    c.say("홍아버지")
    assert state(db, U1).step == "address"
    for _name, how in SIGNUP_PATH[SIGNUP_STEPS.index("address"):SIGNUP_STEPS.index("confirm")]:
        answer(c, how)
    c.tap("고치기")
    c.say("아무거나")
    assert "고칠 항목을" in c.text and state(db, U1).step == "edit"
    c.tap("광고 수신")
    c.say("글쎄")
    assert "소식을 받으실지" in c.text and state(db, U1).step == "marketing"
    c.tap("받지 않을게요")
    assert state(db, U1).step == "confirm" and "홍**지" in c.text and "광고 수신 미동의" in c.text
    c.tap("가입하기")
    assert member_of(db, U1).head_of_household == "홍아버지"


@pytest.fixture
def terms_url(config):
    config.bot.terms_url = "https://example.go.kr/terms"  # TERMS_URL, before the app is built


def test_the_consent_step_links_to_the_published_terms(terms_url, chat):
    c = signup_until(chat(U1), "terms")
    assert c.find("약관 전문 보기")["webLinkUrl"] == "https://example.go.kr/terms"


def test_a_refused_number_at_a_step_that_no_longer_exists_starts_the_signup_again(chat, db):
    """A dialog state saved before a step was renamed: the refusal asks the first question
    (it used to fail looking up the unknown step)."""
    c = signup_until(chat(U1), "name")
    with db.transaction() as s:
        s.get(DialogState, U1).step = "renamed_step"
    c.say("9001011234567")
    assert c.has("주민등록번호는 채팅으로 받지 않아요", "어떤 유형으로 가입")
    assert state(db, U1).step == "member_type"
