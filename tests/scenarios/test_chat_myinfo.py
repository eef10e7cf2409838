"""My info conversations: masked details, changes with the signup's checks, moving house,
withdrawal (personal data gone, ledger kept, signing up again works)."""
from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from core.models import Member, MemberAddress, ResourceAccount
from tests.auxil.scenarios import U1, dump_database, make_member, member_of, signup_until, state
from tests.auxil.support import record_text

pytestmark = pytest.mark.usefixtures("lgs")
USER = "u-myinfo"


@pytest.fixture
def member(db, cipher, clock):
    return make_member(db, cipher, clock, USER, name="김민지", incentive_type="cash", bank_name="신한",
                       account_number="110-123-456789")


def test_not_a_member_is_invited_to_sign_up(chat):
    c = chat("u-nobody")
    c.open("myinfo", "내 정보")
    assert "아직 탄소중립포인트 회원이 아니에요" in c.text and "가입하기" in c.labels


def test_details_are_masked(chat, member):
    c = chat(USER)
    c.open("myinfo", "내 정보")
    for shown in ("김*지", "010-****-3333", "******3746", "********6789", "신한은행", "관리비 합산", "2026-11-22 가입"):
        assert shown in c.text, shown
    for hidden in ("김민지", "0419283746", "110123456789", "2222-3333", "예시로 123"):
        assert hidden not in json.dumps(c.last, ensure_ascii=False), hidden


@pytest.mark.parametrize("typed,step", [
    ("계좌 바꾸고 싶어요", "bank"), ("이사했어요", "address"), ("받는 방법 바꾸고 싶어요", "incentive_type"),
    ("휴대폰 번호 바꿨어요", "mobile"), ("전화번호 바꿀래", "mobile"),
    ("전화번호가 바뀌었어요", "mobile"), ("주소 바뀌었어요", "address"), ("주소가 바꼈어", "address"),
])
def test_a_change_asked_for_in_words_opens_it(chat, db, member, typed, step):
    c = chat(USER)
    c.say(typed)
    st = state(db, USER)
    assert (st.dialog, st.step) == ("myinfo", step), c.text


@pytest.mark.parametrize("typed,flow,step", [("주소 바뀌었어요", "move", "address"), ("계좌 바꿀래요", "account", "bank"),
                                            ("휴대폰 번호 바뀌었어요", "mobile", "mobile")])
def test_another_change_asked_for_mid_change_takes_its_place(chat, db, member, typed, flow, step):
    c = chat(USER)
    c.say("가스 고객번호 변경")
    assert state(db, USER).step == "billing_mode"
    c.say(typed)
    st = state(db, USER)
    assert (st.dialog, st.slots["flow"], st.step, st.failures) == ("myinfo", flow, step, 0), c.text
    assert "요금 내는 방법을" not in c.text


def test_a_question_about_another_change_mid_change_is_answered_and_the_change_kept(chat, db, member):
    c = chat(USER)
    c.say("가스 고객번호 변경")
    c.say("이사하면 포인트는 어떻게 돼요?")
    st = state(db, USER)
    assert (st.slots["flow"], st.step) == ("resources", "billing_mode") and "도시가스요금은 어떻게" in c.text


def test_the_email_address_is_changed_deleted_or_kept(chat, db, member):
    c = chat(USER)
    c.say("이메일 바꾸고 싶어요")
    assert state(db, USER).step == "email" and "이메일 지우기" in c.labels
    c.say("abc")
    assert "이메일 주소 형식이 맞지 않아요" in c.text and state(db, USER).step == "email"
    c.say("Hong.Gil@Example.org")
    assert "이메일 주소를 바꿨어요: H*******@Example.org" in c.text and "Hong.Gil" not in c.text
    assert member_of(db, USER).email == "Hong.Gil@Example.org" and state(db, USER).dialog is None
    c.say("이메일 바꿀래")
    c.say("아니 그냥 둘게요")  # no change, which at signup would mean no address
    assert "이메일 주소는 바꾸지 않았어요" in c.text and member_of(db, USER).email == "Hong.Gil@Example.org"
    c.say("이메일 지워 주세요")  # the request itself answers the question
    assert "이메일 주소를 지웠어요" in c.text and member_of(db, USER).email is None
    c.say("new.mail@example.com으로 이메일 바꿔줘")
    assert member_of(db, USER).email == "new.mail@example.com"
    c.say("메일 주소 바꿀래요")  # '주소 바꿀' names the move too: the e-mail is meant
    assert state(db, USER).step == "email"
    c.tap("이메일 지우기")
    assert member_of(db, USER).email is None


def test_a_question_about_a_change_is_answered_and_a_non_member_is_told_where(chat, db, member):
    c = chat(USER)
    c.say("계좌 바꾸면 언제부터 적용돼요?")
    assert "'내 정보'에서 은행과 계좌번호를 바꿀 수 있어요" in c.text and state(db, USER) is None
    other = chat("u-nobody")
    other.say("계좌 바꾸고 싶어요")
    assert "'내 정보'에서 은행과 계좌번호를 바꿀 수 있어요" in other.text and state(db, "u-nobody") is None


def test_change_incentive_type_to_donation_and_back_to_cash(chat, db, cipher, member):
    c = chat(USER)
    c.open("myinfo")
    c.tap("받는 방법 변경")
    assert {"현금(계좌)", "지역화폐·상품권", "기부"} <= set(c.labels)  # 수원시 영통구's list
    c.tap("기부")
    assert "'기부'(으)로 바꿨어요" in c.text
    m = member_of(db, USER)
    assert m.incentive_type == "donation" and m.account_number_enc is None
    c.tap("받는 방법 변경")
    c.say("현금")
    c.say("농협")
    c.say("12345")
    assert "10~14자리" in c.text and state(db, USER).step == "account_number"
    c.say("302-1234-5678-91")
    c.tap("네, 본인 명의예요")
    assert "NH농협은행 *********7891" in c.text
    m = member_of(db, USER)
    assert (m.incentive_type, m.bank_name) == ("cash", "NH농협은행") and cipher.decrypt(m.account_number_enc) == "3021234567891"


def test_an_account_in_someone_elses_name_is_not_taken(chat, db, cipher, member):
    c = chat(USER)
    c.open("myinfo")
    c.tap("계좌 변경")
    c.tap("우리")
    c.say("1002-123-456789")
    c.tap("아니요")
    assert "본인 명의 계좌로만" in c.text and state(db, USER).step == "incentive_type"
    c.say("취소")
    assert cipher.decrypt(member_of(db, USER).account_number_enc) == "110123456789"


def test_change_a_customer_number_with_the_signup_checks(chat, db, cipher, clock, member):
    make_member(db, cipher, clock, "u-neighbour", address="경기도 과천시 별양로 12", electricity="5555555555")
    c = chat(USER)
    c.open("myinfo")
    c.tap("고객번호 변경")
    c.tap("전기")
    c.tap("개별납부")
    c.say("123")
    assert "숫자 10자리" in c.text
    c.say("55-5555-5555")
    assert "이미 다른 회원이 등록했어요" in c.text
    c.say("0419283746")  # my own number again: nothing changes
    assert "그대로예요" in c.text
    c.tap("고객번호 변경")
    c.tap("수도")
    c.tap("개별납부")
    c.say("12345678")
    assert "다음 반기(2027년 상반기)부터" in c.text
    with db.session() as s:
        water = s.scalars(select(ResourceAccount).where(ResourceAccount.resource == "water",
                                                        ResourceAccount.ended_on.is_(None))).all()
        assert [cipher.decrypt(w.customer_number_enc) for w in water if w.customer_number_enc] == ["12345678"]


def test_moving_house(chat, db, cipher, clock):
    make_member(db, cipher, clock, USER, incentive_type="local_currency")
    make_member(db, cipher, clock, "u-there", address="제주특별자치도 서귀포시 중앙로 105 3층", electricity="7777777777")
    c = chat(USER)
    c.open("myinfo")
    c.tap("이사했어요")
    assert "새 주소를 알려 주세요" in c.text
    c.say("서울특별시 중구 세종대로 110")
    assert "서울로 이사하셨나요?" in c.text and "참여 끝내기" in c.labels
    c.tap("취소")  # not yet: nothing changes
    assert member_of(db, USER).address.startswith("경기도") and member_of(db, USER).status == "active"
    c.open("myinfo", "이사했어요")
    c.say("제주 서귀포시 중앙로 105 3층")
    assert "가입을 진행할 수 없어요" in c.text
    c.say("제주 서귀포시 중앙로 105 4층")
    c.tap("개별납부")
    c.say("0419283746")  # my own number: not taken by someone else
    c.tap("관리비 합산")
    c.tap("사용 안 함")
    assert "이사 정보를 확인해 주세요" in c.text
    c.tap("저장하기")
    assert "새 주소로 바꿨어요" in c.text and "'기부'(으)로 바꿨어요" in c.text  # 서귀포 offers no local currency
    m = member_of(db, USER)
    assert (m.local_government_code, m.address_detail, m.incentive_type) == ("50130", "4층", "donation")
    with db.session() as s:
        assert [a.local_government_code for a in s.scalars(
            select(MemberAddress).where(MemberAddress.member_id == m.id).order_by(MemberAddress.id))] == ["41117", "50130"]


def test_moving_to_seoul_ends_participation_with_the_eco_mileage_link(chat, db, cipher, clock, member):
    from core.models import Notification
    from core.outbox import enqueue

    with db.transaction() as s:
        enqueue(s, member_id=member, kind="payout_notice", period="2026H1", payload={},
                now=clock.now().replace(tzinfo=None))
    c = chat(USER)
    c.open("myinfo")
    c.tap("이사했어요")
    c.say("서울 마포구 월드컵북로 400, 1203호")
    assert "서울로 이사하셨나요?" in c.text and "여기 참여는 끝나요" in c.text
    c.tap("참여 끝내기")
    assert "참여를 마쳤어요" in c.text and "에코마일리지" in c.text
    assert "https://ecomileage.seoul.go.kr" in json.dumps(c.last, ensure_ascii=False)
    assert state(db, USER).dialog is None
    with db.session() as s:
        m = s.get(Member, member)
        assert (m.status, m.address, m.name) == ("left", "서울특별시 마포구 월드컵북로 400", "김민지")
        assert all(a.ended_on is not None for a in s.scalars(
            select(ResourceAccount).where(ResourceAccount.member_id == member)))
        assert s.scalars(select(Notification.state).where(Notification.member_id == member)).one() == "skipped"
    c.open("myinfo", "내 정보")
    assert "아직 탄소중립포인트 회원이 아니에요" in c.text


def test_coming_back_from_seoul_signs_up_again(chat, db):
    c = signup_until(chat(U1))
    first = member_of(db, U1).id
    c.open("myinfo")
    c.tap("이사했어요")
    c.say("서울특별시 중구 세종대로 110")
    c.tap("참여 끝내기")
    signup_until(c)
    again = member_of(db, U1)
    assert again is not None and again.id != first
    with db.session() as s:
        assert (s.get(Member, first).status, s.get(Member, first).bot_user_key) == ("left", None)


def test_withdraw_asks_first_then_deletes_personal_data(chat, db, cipher, clock, member, caplog):
    caplog.set_level(logging.DEBUG, logger="cpoint")
    c = chat(USER)
    c.open("myinfo")
    c.tap("탈퇴")
    assert "정말 탈퇴하시겠어요?" in c.text
    c.tap("그만두기")
    assert "탈퇴하지 않았어요" in c.text and member_of(db, USER) is not None
    c.say("탈퇴할래요")  # typed: the keyword reaches my info, which asks first
    assert "정말 탈퇴하시겠어요?" in c.text
    c.tap("탈퇴하기")
    assert "탈퇴를 마쳤어요" in c.text and "가입하기" in c.labels
    with db.session() as s:
        m = s.get(Member, member)
        assert m.status == "withdrawn" and m.name is None and m.bot_user_key is None
    dump = dump_database(db)
    for personal in ("김민지", "010-2222-3333", "예시로 123"):
        assert personal not in dump
    c.open("myinfo")
    assert "아직 탄소중립포인트 회원이 아니에요" in c.text


def test_signing_up_again_after_withdrawing(chat, db):
    c = signup_until(chat(U1))
    first = member_of(db, U1).id
    c.open("myinfo")
    c.tap("탈퇴")
    c.tap("탈퇴하기")
    signup_until(c)
    again = member_of(db, U1)
    assert again is not None and again.id != first and again.address == "경기도 수원시 영통구 예시로 123"


def test_a_resident_registration_number_in_my_info_is_refused(chat, db, member, caplog):
    caplog.set_level(logging.DEBUG, logger="cpoint")
    c = chat(USER)
    c.open("myinfo")
    c.tap("계좌 변경")
    c.tap("신한")
    c.say("900101-1234567")
    assert "주민등록번호는 채팅으로 받지 않아요" in c.text and "계좌번호를 입력해 주세요" in c.text
    assert state(db, USER).step == "account_number"
    assert "1234567" not in dump_database(db) and "1234567" not in caplog.text


def test_change_mobile(chat, db, member):
    c = chat(USER)
    c.open("myinfo")
    c.tap("휴대전화 변경")
    c.say("010 9999 8888")
    assert "010-****-8888" in c.text and member_of(db, USER).mobile == "010-9999-8888"


def test_cancel_in_my_info_changes_nothing(chat, db, member):
    c = chat(USER)
    c.open("myinfo")
    c.tap("받는 방법 변경")
    c.tap("취소")
    assert "취소했어요" in c.text and member_of(db, USER).incentive_type == "cash"


def test_an_unfinished_change_is_resumed_with_its_own_words(chat, db, member):
    c = chat(USER)
    c.open("myinfo")
    c.tap("계좌 변경")
    c.open("myinfo", "내 정보")
    assert "하던 정보 변경을 이어서 할게요" in c.text and "은행을 골라 주세요" in c.text
    assert state(db, USER).step == "bank"


@pytest.mark.parametrize("typed,question", [("전화번호 변경할래요", "휴대전화 번호를 알려 주세요"),
                                            ("고객번호 변경", "어떤 자원을 바꿀까요?")])
def test_typed_requests_open_the_change(chat, db, member, typed, question):
    c = chat(USER)
    c.say(typed)
    assert question in c.text


# --- everything held (issue 18: the citizen's own data) ---------------------------------------------

def test_everything_held_is_shown_with_numbers_masked(chat, db, member):
    c = chat(USER)
    c.open("myinfo", "내 정보")
    c.tap("내 정보 전체 보기")
    shown = json.dumps(c.last, ensure_ascii=False)
    for part in ("■ 가입 정보", "■ 전기·수도·가스", "■ 포인트 받는 방법", "■ 보관 중인 기록", "주민등록번호는 받지도",
                 "010-****-3333", "******3746", "********6789", "이름: 김민지", "월별 사용량: 0건", "주소 이력: 1건"):
        assert part in shown, part
    for hidden in ("0419283746", "110123456789", "110-123-456789", "2222-3333"):
        assert hidden not in shown, hidden
    assert len(c.last["template"]["outputs"]) <= 3 and "내 정보" in c.labels


def test_everything_held_can_be_asked_for_in_words_and_lists_ended_accounts(chat, db, member, clock):
    c = chat(USER)
    c.open("myinfo", "내 개인정보 열람하고 싶어")
    assert "■ 보관 중인 기록" in c.text
    with db.transaction() as s:  # an ended account is still held, and shown as ended
        m = s.scalars(select(Member).where(Member.id == member)).one()
        for a in m.accounts:
            if a.resource == "electricity":
                a.ended_on = a.registered_on
    c.tap("내 정보")
    c.tap("내 정보 전체 보기")
    assert "끝남" in c.text


def test_everything_held_is_for_members_only_and_logs_no_content(chat, member, caplog):
    c = chat("u-nobody")
    c.open("myinfo", "내 정보 전체 보기")
    assert "아직 탄소중립포인트 회원이 아니에요" in c.text
    caplog.set_level(logging.DEBUG)
    c = chat(USER)
    c.open("myinfo", "내 정보")
    c.tap("내 정보 전체 보기")
    logged = "\n".join(record_text(r) for r in caplog.records)
    assert "member viewed own data" in logged
    for value in ("김민지", "3746", "6789", "3333"):
        assert value not in logged, value


def test_everything_held_in_english(chat, member):
    c = chat(USER)
    c.say("English")
    c.open("myinfo", "my info")
    c.tap(next(label for label in c.labels if "all" in label.lower()))
    assert "010-****-3333" in c.text and "0419283746" not in c.text


def test_a_change_asked_with_its_new_value_takes_it(chat, db, cipher, clock):
    """"휴대폰 번호 010 9999 8888로 바꿔주세요" used to open the change and ask for the number."""
    make_member(db, cipher, clock, "u-req-mobile")
    c = chat("u-req-mobile")
    c.say("휴대폰 번호 바꿀래요 010 9999 8888")
    assert c.has("휴대전화 번호를 바꿨어요: 010-****-8888")
    assert member_of(db, "u-req-mobile").mobile == "010-9999-8888"
    c.say("휴대폰 번호 010-1234-5678 맞나요?")  # a question changes nothing
    assert member_of(db, "u-req-mobile").mobile == "010-9999-8888"


def test_an_account_change_asked_with_the_account_asks_only_the_holder(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-req-account")
    c = chat("u-req-account")
    c.say("계좌 우리은행 1002-123-456789로 바꿀래요")
    assert c.has("우리은행 *********6789", "본인인가요?") and state(db, "u-req-account").step == "account_holder"
    make_member(db, cipher, clock, "u-req-account-2", electricity="2222222222",
                address="경기도 수원시 영통구 예시로 123 101동 1204호")
    c = chat("u-req-account-2")
    c.say("우리 계좌 바꾸고 싶어요")  # "our account": no bank is named
    assert state(db, "u-req-account-2").step == "bank"


def test_a_move_told_with_the_new_address_asks_what_follows(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-req-move")
    c = chat("u-req-move")
    c.say("이사했어요 새 주소는 경기 성남시 분당구 판교역로 235")
    st = state(db, "u-req-move")
    assert st.step == "address_detail" and st.slots["address"]["base"] == "경기도 성남시 분당구 판교역로 235"
    assert c.has("이사하셨군요")


@pytest.mark.parametrize("typed,resource", [("가스 고객번호 바꿀래요", "gas"), ("전기 고객번호 변경", "electricity"),
                                            ("수도 고객번호 잘못 넣었어요", "water")])
def test_a_customer_number_change_asked_for_one_resource_opens_it(chat, db, cipher, clock, typed, resource):
    """The classifier was unsure (a choice of menus): a member's request to change names the flow."""
    make_member(db, cipher, clock, "u-req-resource")
    c = chat("u-req-resource")
    c.say(typed)
    st = state(db, "u-req-resource")
    assert (st.dialog, st.step, st.slots.get("resource")) == ("myinfo", "billing_mode", resource)


def test_a_question_about_a_change_or_a_visitor_opens_nothing(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-req-question")
    c = chat("u-req-question")
    c.say("가스 고객번호 바꾸면 언제 반영돼요?")
    st = state(db, "u-req-question")
    assert st is None or st.dialog is None
    c = chat("u-visitor")
    c.say("가스 고객번호 바꿀래요")
    st = state(db, "u-visitor")
    assert st is None or st.dialog is None


def test_the_join_day_is_the_day_in_korea(chat, db, cipher):
    """Joined at 05:00 on 2 July in Korea (1 July in UTC, as stored): my info says 2 July, and the
    first half evaluated is the next one, as the settlement decides (registered after the 1st)."""
    from datetime import datetime

    from core.clock import KST, FixedClock

    make_member(db, cipher, FixedClock(datetime(2026, 7, 2, 5, 0, tzinfo=KST)), "u-early")
    c = chat("u-early")
    c.open("myinfo", "내 정보")
    assert "2026-07-02 가입" in c.text
    c.open("balance", "포인트 조회")
    assert "2027년 상반기 결과는 시·군·구가 정산하면" not in c.text and "첫 결과는 2027년 상반기가 끝난 뒤" in c.text


def test_asking_for_points_mid_change_shows_them_and_the_change_waits(chat, db, member):
    c = chat(USER)
    c.open("myinfo")
    c.tap("계좌 변경")
    c.tap("신한")
    c.say("내 포인트 얼마야")  # not an account number: the balance, the change kept
    assert "2026년 하반기" in c.text and "하던 내용은 그대로 두었어요" in c.text and "'내 정보'" in c.text
    st = state(db, USER)
    assert st.step == "account_number" and not st.failures
    c.say("진행 중인 캠페인 보여줘")
    assert "하던 내용은 그대로 두었어요" in c.text
    c.say("12345")  # a wrong answer still counts and asks again
    assert "계좌번호" in c.text and state(db, USER).failures == 1


@pytest.mark.parametrize("typed", ["010-9999-8888로 번호 바꿨어요", "새 번호 010 9999 8888 이에요"])
def test_a_new_mobile_number_typed_with_a_change_is_saved(chat, db, member, typed):
    c = chat(USER)
    c.say(typed)
    assert member_of(db, USER).mobile == "010-9999-8888" and "010-****-8888" in c.text


def test_a_mobile_number_asked_about_changes_nothing(chat, db, member):
    c = chat(USER)
    c.say("010-9999-8888로 번호 바꿨는데 알림 오나요?")
    assert member_of(db, USER).mobile == "010-2222-3333"


def test_a_question_about_withdrawing_answers_and_a_following_yes_withdraws_nothing(chat, db, member):
    c = chat(USER)
    c.say("탈퇴하면 다시 가입 가능해요?")
    if "혹시 이걸 물으신 건가요?" in c.text:  # a close call: its choice answers the same way
        c.tap("탈퇴")
    assert "다시 가입하실 수는 있어요" in c.text and "한 번 더 확인해요" in c.text and "탈퇴하기" in c.labels
    assert state(db, USER) is None or not state(db, USER).dialog
    c.say("네 알겠어요")
    assert member_of(db, USER) is not None and member_of(db, USER).status == "active"
    c.say("탈퇴하면 포인트는 어떻게 돼요?")
    c.tap("탈퇴하기")  # the button opens the confirmation itself
    assert "정말 탈퇴하시겠어요?" in c.text


def test_something_else_typed_at_the_withdrawal_confirmation_ends_it(chat, db, member):
    c = chat(USER)
    c.say("탈퇴할게요")
    assert "정말 탈퇴하시겠어요?" in c.text
    c.say("탈퇴하면 포인트는 어떻게 돼요?")  # about it: the confirmation stays
    assert "정말 탈퇴하시겠어요?" in c.text and state(db, USER).step == "withdraw_confirm"
    c.say("탈퇴하기 누르면 포인트는요?")  # a question by its mark alone, naming the option: not chosen
    assert member_of(db, USER).status == "active" and state(db, USER).step == "withdraw_confirm"
    c.say("알림 너무 많이 와요")  # not about it: answered, the confirmation gone
    assert "정말 탈퇴하시겠어요?" not in c.text
    c.say("네")
    assert member_of(db, USER).status == "active"


# --- the head of household (세대주) ------------------------------------------------------------

@pytest.mark.parametrize("typed", ["세대주가 바뀌었어요", "세대주 변경하고 싶어요", "세대주 바꿨어요"])
def test_a_new_head_of_household_is_saved_and_shown_masked(chat, db, member, typed):
    c = chat(USER)
    c.say(typed)
    assert state(db, USER).step == "householder" and "김*지님이 세대주이신가요?" in c.text, c.text
    c.tap("아니요")
    c.say("김철수예요")
    assert member_of(db, USER).head_of_household == "김철수"
    assert "세대주를 김*수님으로 바꿨어요" in c.text and "김철수" not in json.dumps(c.last, ensure_ascii=False)
    assert dialog_of(db, USER) is None


def dialog_of(db, user_key: str) -> str | None:
    st = state(db, user_key)
    return st.dialog if st is not None else None


def test_the_member_becoming_head_of_household_is_shown_as_themselves(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-head", head_of_household="박영희")
    c = chat("u-head")
    c.open("myinfo", "내 정보")
    assert "박*희" in c.text
    c.say("세대주가 저로 바뀌었어요")
    c.say("제가 세대주예요")
    assert member_of(db, "u-head").head_of_household == "김민지" and "세대주를 본인으로 바꿨어요" in c.text
    assert "박*희" not in c.text and "본인" in c.text


def test_going_back_from_the_head_of_households_name(chat, db, member):
    c = chat(USER)
    c.say("세대주 변경")
    c.tap("아니요")
    c.say("뒤로")  # '이전' alone may be a name (이 전) and is one at a name question
    assert state(db, USER).step == "householder"
    c.tap("네, 세대주예요")
    assert member_of(db, USER).head_of_household == "김민지"


def test_a_shop_has_no_head_of_household_to_change(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-shop", member_type="commercial", name="그린마트 영통점")
    c = chat("u-shop")
    c.say("세대주 변경하고 싶어요")
    assert "세대주는 가정(개인·외국인) 회원만" in c.text and dialog_of(db, "u-shop") is None


def test_a_bill_in_a_new_name_needs_nothing_and_offers_the_head_of_household(chat, db, member):
    c = chat(USER)
    c.say("전기 명의 바꿨어요")
    assert "고객번호가 그대로면 하실 일은 없어요" in c.text and dialog_of(db, USER) is None
    c.tap("세대주 변경")
    assert state(db, USER).step == "householder"


def test_cash_without_an_account_on_record_says_where_to_add_one(chat, db, member):
    """A registry member paid in cash whose account the registry never had."""
    from sqlalchemy import update

    with db.transaction() as s:
        s.execute(update(Member).where(Member.id == member).values(bank_name=None, account_number_enc=None,
                                                                    account_holder=None))
    c = chat(USER)
    c.open("myinfo", "내 정보")
    assert c.has("현금(본인 명의 계좌) · 계좌 없음, '계좌 변경'에서 등록해 주세요") and "계좌 변경" in c.labels


def test_a_request_answers_each_question_it_holds(chat, db, cipher, clock):
    """'수도 고객번호 1234567로 바꿔줘' names the resource and its number: nothing is left to ask."""
    from core import members as M

    make_member(db, cipher, clock, "u-chain", head_of_household="박영희", resources=[
        M.ResourceChoice("electricity", "separate", "0419283746"), M.ResourceChoice("water", "managed_fee"),
        M.ResourceChoice("gas", "separate", "55512345")])
    c = chat("u-chain")
    c.say("수도 고객번호 1234567로 바꿔줘")
    assert c.has("수도 정보를 바꿨어요") and dialog_of(db, "u-chain") is None
    with db.session() as s:
        accounts = {a.resource: a for a in s.query(ResourceAccount).filter(ResourceAccount.ended_on.is_(None))}
        assert accounts["water"].billing_mode == "separate" and cipher.decrypt(accounts["water"].customer_number_enc) == "1234567"
    c.say("가스는 이제 안 써요")
    assert c.has("도시가스 정보를 바꿨어요")
    with db.session() as s:
        assert {a.resource for a in s.query(ResourceAccount).filter(ResourceAccount.ended_on.is_(None),
                                                                     ResourceAccount.billing_mode == "separate")} == {
            "electricity", "water"}
    c.say("세대주가 아버지로 바뀌었어요")
    assert state(db, "u-chain").step == "householder_name" and c.has("세대주 이름을 알려 주세요")
    c.tap("취소")
    c.say("세대주가 아버지 김철수로 바뀌었어요")
    assert c.has("세대주를 김*수님으로 바꿨어요") and member_of(db, "u-chain").head_of_household == "김철수"
    c.say("세대주가 저로 바뀌었어요")
    assert c.has("세대주를 본인으로 바꿨어요") and member_of(db, "u-chain").head_of_household == "김민지"


def test_a_change_with_a_question_after_it_is_saved_and_the_question_answered(chat, db, member):
    c = chat(USER)
    c.say("받는 방법 바꿀래요")
    c.say("지역화폐요 근데 지역화폐는 어디서 써요?")
    assert c.has("받는 방법을 '지역화폐·지역상품권'(으)로 바꿨어요", "가맹점에서 쓸 수 있어요")
    assert member_of(db, USER).incentive_type == "local_currency" and state(db, USER).step is None
    c.say("받는 방법 바꿀래요")
    c.say("기부는 어디에 쓰여요?")  # a question alone: answered, nothing chosen
    assert c.has("가맹점에서 쓸 수 있어요") and state(db, USER).step == "incentive_type"
