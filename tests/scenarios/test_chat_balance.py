"""Points and payout, and green-life, through the skills: before and after the settlement, held
payments, zero points with their reasons, green-life against the cap."""
from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from core.clock import KST, FixedClock
from core.models import Member, PointStatement
from core.settlement import settle_half
from core.usage_import import import_usage
from tests.auxil.scenarios import make_member, signup_until

pytestmark = pytest.mark.usefixtures("lgs")

U2 = "a1b31d3ae2abcb27a9cec0a44417c85fde01456c1a3bbb78c9a"  # balance_lookup.json
U3 = "d8bbb2f87827ad0c378a9651d2d65e9a5e800cfa31f8bf0f818"  # legacy_snake_case_keys.json
ELEC, WATER = "0419283746", "2345678"


def joined_long_ago(db, cipher, user_key, electricity=ELEC, water=WATER, **kw) -> int:
    """A member who registered before 2025: every half since is evaluated."""
    then = FixedClock(datetime(2024, 12, 1, 9, tzinfo=KST))
    from core import members as M

    return make_member(db, cipher, then, user_key, electricity=electricity, resources=[
        M.ResourceChoice("electricity", "separate", electricity), M.ResourceChoice("water", "separate", water),
        M.ResourceChoice("gas", "not_used")], **kw)


def import_readings(db, cipher, clock, tmp_path, rows) -> None:
    path = tmp_path / f"usage-{len(rows)}-{rows[0][2]}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["resource", "customer_number", "month", "amount"])
        w.writerows(rows)
    import_usage(db, cipher, clock, path)


def history(resource, number, first_half_month, baseline, actual, actual_months=6, years=(1, 2)):
    """Rows: the six months of a half in the two earlier years at `baseline`, and
    `actual_months` months of the half itself at `actual`."""
    year, month = divmod(first_half_month, 100)
    rows = []
    for i in range(6):
        m = month + i
        for back in years:
            rows.append((resource, number, f"{year - back}-{m:02d}", baseline))
        if i < actual_months:
            rows.append((resource, number, f"{year}-{m:02d}", actual))
    return rows


@pytest.fixture
def usage(db, cipher, clock, tmp_path):
    def load(number=ELEC, water=WATER, h1_actual=270, h2_actual=285, water_h1=95):
        rows = history("electricity", number, 202601, 300, h1_actual)
        rows += history("electricity", number, 202607, 300, h2_actual, actual_months=4)
        rows += history("water", water, 202601, 100, water_h1)
        rows += history("water", water, 202607, 100, 100, actual_months=3)  # October not read yet
        import_readings(db, cipher, clock, tmp_path, rows)

    return load


def test_not_a_member_is_invited_to_sign_up(chat):
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    assert "회원만" in c.text and "가입하기" in c.labels


def test_before_settlement_the_current_half_is_provisional(chat, db, cipher, usage):
    joined_long_ago(db, cipher, U2)
    usage()
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    card = c.last["template"]["outputs"][0]["itemCard"]
    assert "/charts/" in card["thumbnail"]["imageUrl"] and (card["thumbnail"]["width"], card["thumbnail"]["height"]) == (800, 400)
    png = c.kakao.client.get("/charts/" + card["thumbnail"]["imageUrl"].split("/charts/", 1)[1])
    assert png.status_code == 200 and png.mimetype == "image/png"  # the chart of this member, drawn
    assert card["imageTitle"]["title"] == "2026년 하반기 (예상)"
    assert card["imageTitle"]["description"] == "7~10월 사용량 기준"
    rows = {i["title"]: i["description"] for i in card["itemList"]}
    assert rows["전기"].startswith("감축 5.00% · 예상 5,000P") and "1,140 / 기준 1,200kWh" in rows["전기"]
    assert rows["수도"].startswith("감축 0.00%") and rows["가스"] == "사용 안 함"
    assert card["itemListSummary"] == {"title": "예상", "description": "10,000원"}
    assert "확정돼요" in c.text  # says it is provisional
    assert "아직 정산된 반기가 없어요" in c.text
    assert "녹색생활 실천 포인트: 아직 가입하지 않았어요" in c.text  # green-life is its own membership


def test_after_settlement_the_last_half_with_payout(chat, db, cipher, clock, usage):
    joined_long_ago(db, cipher, U2)
    usage()
    settle_half(db, "2026H1", clock)
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    settled = c.last["template"]["outputs"][1]["itemCard"]
    rows = {i["title"]: i["description"] for i in settled["itemList"]}
    assert rows["전기"] == "감축 10.00% · 10,000P" and rows["수도"] == "감축 5.00% · 750P"
    assert settled["itemListSummary"] == {"title": "지급 예정", "description": "21,500원"}
    assert "2026년 12월 지급" in c.text and "10,750P" in c.text and "수원시 영통구 1포인트 2원" in c.text
    assert "왜 0포인트예요?" not in c.labels


def test_a_figure_the_sigungu_has_not_set_is_marked_as_the_default(chat, db, cipher, clock, usage):
    joined_long_ago(db, cipher, U2, address="전라남도 해남군 해남읍 군청길 4")
    usage()
    settle_half(db, "2026H1", clock)
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    settled = c.last["template"]["outputs"][1]["itemCard"]
    assert "해남군 1포인트 2원 (기본값)" in settled["description"]
    assert "2026년 12월 지급 (기본값)" in settled["description"]
    assert "시·군·구가 아직 정해 알려 주지 않아" in c.text
    c.say("언제 들어와요?")
    assert c.has("해남군") and c.has("(기본값)")


def test_after_leaving_for_seoul_the_last_half_is_still_shown(chat, db, cipher, clock, usage):
    from core import members as M
    from core.local_governments import parse_address

    mid = joined_long_ago(db, cipher, U2)
    usage()
    settle_half(db, "2026H1", clock)
    with db.transaction() as s:
        M.leave_for_seoul(s, cipher, clock, s.get(Member, mid), parse_address("서울 중구 세종대로 110"))
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    settled = c.last["template"]["outputs"][0]["itemCard"]
    assert settled["itemListSummary"] == {"title": "지급 예정", "description": "21,500원"}
    assert "참여를 마치셨어요" in c.text and "이전 시·군·구에서 지급" in c.text
    assert "https://ecomileage.seoul.go.kr" in json.dumps(c.last, ensure_ascii=False)


def test_zero_points_explained_with_the_statement_reasons(chat, db, cipher, clock, usage):
    joined_long_ago(db, cipher, U2)
    usage(h1_actual=290, water_h1=110)
    settle_half(db, "2026H1", clock)
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    assert "전기: 감축률이 3.33%로 5%에 못 미쳤어요." in c.text
    assert "수도: 사용량이 기준보다 줄지 않았어요." in c.text
    assert "가스: '사용 안 함'으로 등록한 자원이라 평가하지 않아요." in c.text
    settled = c.last["template"]["outputs"][1]["itemCard"]
    assert settled["itemListSummary"] == {"title": "지급 없음", "description": "0원"}
    c.tap("왜 0포인트예요?")
    assert "지난 반기(2026년 상반기) 회원님의 결과" in c.text and "3.33%" in c.text


def held_for_no_account(db, cipher, clock, usage) -> int:
    """A member of U2 whose settled 2026H1 payment is held: cash chosen, no account (yet)."""
    mid = joined_long_ago(db, cipher, U2)
    usage()
    settle_half(db, "2026H1", clock)
    with db.transaction() as s:
        s.execute(update(PointStatement).values(status="held", hold_reason="HOLD_NO_ACCOUNT"))
        m = s.get(Member, mid)
        m.incentive_type, m.account_number_enc = "cash", None
    return mid


def test_a_held_payment_says_why_and_what_to_do(chat, db, cipher, clock, usage):
    held_for_no_account(db, cipher, clock, usage)
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    assert "지급 보류" in c.text and "계좌를 등록해 주세요" in c.text


def test_a_held_payment_whose_cause_is_fixed_says_it_follows(chat, db, cipher, clock, usage):
    """After the member registers their account, the card no longer asks for it: the held amount
    goes out with the next additional payment (core.payouts.release_held)."""
    mid = held_for_no_account(db, cipher, clock, usage)
    with db.transaction() as s:
        m = s.get(Member, mid)
        m.bank_name, m.account_holder = "신한은행", m.name
        m.account_number_enc = cipher.encrypt("110123456789")
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    assert "지급 보류" in c.text and "보류된 금액은 시·군·구가 추가로 지급할 때 보내 드려요" in c.text
    assert "계좌를 등록해 주세요" not in c.text


def test_donation_members_are_told_where_the_money_goes(chat, db, cipher, clock, usage):
    joined_long_ago(db, cipher, U2, incentive_type="donation")
    usage()
    settle_half(db, "2026H1", clock)
    c = chat(U2)
    c.open("balance", "포인트 조회")
    assert "기부돼요" in c.text


def test_a_member_who_joined_this_half(chat, db, cipher):
    make_member(db, cipher, FixedClock(datetime(2026, 9, 10, 9, tzinfo=KST)), U2)
    c = chat(U2)
    c.open("balance")
    rows = {i["title"]: i["description"] for i in c.last["template"]["outputs"][0]["itemCard"]["itemList"]}
    assert rows["전기"] == "다음 반기부터 평가"
    assert "첫 결과는 2027년 상반기가 끝난 뒤" in c.text


def test_legacy_and_development_channel_payloads(chat, db, cipher, usage):
    joined_long_ago(db, cipher, U3)
    usage()
    c = chat(U3)
    c.post_fixture("legacy_snake_case_keys.json")
    assert "2026년 하반기 (예상)" in c.text
    c.post_fixture("dev_channel_balance.json")
    assert "2026년 하반기 (예상)" in c.text


# --- green-life -------------------------------------------------------------------------------

def greenlife_user() -> str:
    from tests.auxil.support import load_fixture

    return load_fixture("greenlife_app_user_friend.json")["userRequest"]["user"]["properties"]["botUserKey"]


def test_greenlife_items_for_everyone(chat):
    c = chat("u-green-visitor")
    c.open("greenlife", "녹색생활 실천")
    assert "전자영수증 100원/건" in c.text and "텀블러·다회용컵 300원/잔" in c.text and "70,000원" in c.text
    assert "공유자전거" not in c.text  # disabled until confirmed
    assert "녹색생활 실천 가입" in c.labels


def test_greenlife_this_month_and_year_against_the_cap(chat, db, cipher, clock, tmp_path):
    from core.greenlife_accrual import confirm_month, import_activities

    user = greenlife_user()
    member_id = joined_long_ago(db, cipher, user, app_user_id="2718281828")
    with db.transaction() as s:  # joined green-life with one tap (test_chat_greenlife covers the tap)
        from core.models import Member
        from tests.auxil.engine import add_greenlife

        add_greenlife(s, s.get(Member, member_id))
    path = tmp_path / "activities.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["member_ref", "item", "quantity", "date", "partner_ref"])
        w.writerow([member_id, "e_receipt", "20", "2026-10-05", "shop-1"])
        w.writerow([member_id, "tumbler", "10", "2026-10-06", "cafe-1"])
        w.writerow([member_id, "tumbler", "3", "2026-11-02", "cafe-1"])
    import_activities(db, clock, path)
    confirm_month(db, clock, "2026-10")
    c = chat(user)
    c.post_fixture("greenlife_app_user_friend.json")
    card = c.last["template"]["outputs"][1]["itemCard"]
    rows = {i["title"]: i["description"] for i in card["itemList"]}
    assert rows["받은 금액"] == "10,000원" and rows["남은 한도"] == "60,000원" and rows["실천다짐금"] == "받았어요"
    assert rows["이번 달"].startswith("900원") and rows["10월"] == "10,000원 · 11/23부터"
    assert card["itemListSummary"] == {"title": "올해 합계", "description": "10,000원"}
    assert "이번 달 활동: 텀블러·다회용컵 3잔 900원" in c.text
    c.open("balance")
    assert "녹색생활 실천 포인트 (2026년): 10,000원 받음" in c.text and "60,000원 남았어요" in c.text


def test_every_reply_stays_within_limits_with_long_names(chat, db, cipher, usage):
    joined_long_ago(db, cipher, U2, name="Maria Josephina Alexandra Konstantinopoulou", member_type="foreigner")
    usage()
    c = chat(U2)
    c.open("balance")
    c.open("greenlife")
    assert all(json.dumps(r) for r in c.history)  # every reply passed the validator in Chat._post


def test_managed_fee_resources_are_not_called_unused(chat, db, cipher, clock, usage):
    from core import members as M

    make_member(db, cipher, FixedClock(datetime(2024, 12, 1, 9, tzinfo=KST)), U2, resources=[
        M.ResourceChoice("electricity", "separate", ELEC), M.ResourceChoice("water", "managed_fee"),
        M.ResourceChoice("gas", "not_used")])
    usage()
    settle_half(db, "2026H1", clock)
    c = chat(U2)
    c.open("balance")
    current = {i["title"]: i["description"] for i in c.last["template"]["outputs"][0]["itemCard"]["itemList"]}
    assert current["수도"].startswith("관리비 합산") and current["가스"] == "사용 안 함"
    assert "수도: 관리비 합산으로 등록한 자원은" in c.text and "수도: '사용 안 함'" not in c.text


# --- the same questions answered with the member's own figures (issue 14) ---------------------

def test_when_paid_gives_the_members_month_and_last_amount(chat, db, cipher, clock, usage):
    joined_long_ago(db, cipher, U2)
    usage()
    settle_half(db, "2026H1", clock)
    c = chat(U2)
    c.say("포인트 언제 들어와요?")
    assert "회원님 지역(수원시 영통구)은 이번 반기(2026년 하반기) 실적을 2027년 6월에 지급해요." in c.text
    assert "지난 반기(2026년 상반기) 결과는 10,750포인트, 21,500원이에요(지급 예정 · 2026년 12월)." in c.text
    assert "포인트 조회" in c.labels
    c.say("지급 보류 왜 됐어요?")  # nothing held: the amount and month, not a hold
    assert "지난 반기(2026년 상반기) 결과는 10,750포인트, 21,500원이에요" in c.text


def test_where_to_use_points_gives_the_members_way_of_receiving(chat, db, cipher, clock):
    joined_long_ago(db, cipher, U2)
    c = chat(U2)
    c.say("포인트 유효기간 있어요?")
    assert "유효기간은 없어요" in c.text and "회원님은 지금 '기부'(으)로 받기로 되어 있어요." in c.text
    assert c.find("받는 방법 변경")["extra"] == {"dialog": "myinfo", "action": "open", "flow": "incentive"}


def test_a_member_asking_for_customer_numbers_sees_their_own_and_no_signup(chat, db, cipher, clock):
    joined_long_ago(db, cipher, U2)
    c = chat(U2)
    c.say("제 고객번호 뭐예요")
    assert "회원님이 등록한 고객번호예요." in c.text and "• 전기: 개별납부 ******" in c.text
    assert "가입하기" not in c.labels
    assert c.find("고객번호 변경")["extra"] == {"dialog": "myinfo", "action": "open", "flow": "resources"}
    c.say("누가 가입할 수 있어요?")
    assert "가입하기" not in c.labels and "다른 질문" in c.labels
    c.say("가스는 안 써요")  # a member's own gas: already not used, which my info shows
    assert "도시가스 정보가 그대로예요" in c.text and "사용 안 함" in c.text and "가입하기" not in c.labels
    assert c.find("고객번호 변경")["extra"] == {"dialog": "myinfo", "action": "open", "flow": "resources"}


def test_asking_whether_one_is_a_member(chat, db, cipher, clock):
    member_id = joined_long_ago(db, cipher, U2)
    c = chat(U2)
    c.say("제가 가입되어 있나요?")
    assert "네, 이 카카오톡으로 탄소중립포인트에 가입되어 있어요." in c.text
    assert f"• 회원번호: ****{member_id:04d}" in c.text and "• 가입일: 2024-12-01" in c.text
    assert "• 지역: 수원시 영통구" in c.text and "가입하기" not in c.labels and "내 정보" in c.labels
    visitor = chat("u-not-yet")
    visitor.say("저 가입돼 있어요?")
    assert "이 카카오톡으로 가입한 기록은 없어요." in visitor.text
    assert visitor.find("이미 회원이에요")["extra"] == {"dialog": "link", "action": "open"}
    assert "가입하기" in visitor.labels
    signup_until(visitor, "address")  # asked mid-signup: the answer itself, then the question again
    visitor.say("제가 가입되어 있나요?")
    assert "이 카카오톡으로 가입한 기록은 없어요." in visitor.text and "주소를 알려 주세요" in visitor.text


def test_payout_question_before_any_statement(chat, db, cipher, clock):
    joined_long_ago(db, cipher, U2)
    c = chat(U2)
    c.say("포인트 언제 들어와요?")
    assert "2027년 6월에 지급해요" in c.text and "아직 정산된 반기가 없어요" in c.text


def test_rate_and_maximum_follow_the_members_local_government(chat, db, cipher, clock):
    from core.models import LocalGovernment

    joined_long_ago(db, cipher, U2)
    with db.transaction() as s:
        m = s.scalars(select(Member)).one()
        s.get(LocalGovernment, m.local_government_code).won_per_point = Decimal("1.5")
    c = chat(U2)
    c.say("1포인트에 얼마예요?")
    assert "회원님 지역(수원시 영통구)은 1포인트에 1.5원이에요." in c.text
    c.say("최대 얼마까지 받을 수 있어요?")
    if "혹시 이걸 물으신 건가요?" in c.text:
        c.tap(c.labels[0])
    assert "1포인트에 1.5원이라, 반기 최대 33,750포인트는 50,625원이고 1년에 최대 101,250원까지" in c.text


@pytest.mark.parametrize("typed", ["포인트 언제 들어와요?", "1포인트에 얼마예요?", "이번에 왜 0포인트예요?"])
def test_a_non_member_gets_the_general_answer_and_the_way_to_join(chat, typed):
    c = chat("u-not-member")
    c.say(typed)
    assert "가입하시면 회원님 지역의 단가와 지급 시기" in c.text and "회원님 지역(" not in c.text
    assert "가입하기" in c.labels and "포인트 조회" not in c.labels


def test_the_balance_card_coaches_toward_the_next_band(chat, db, cipher, usage):
    joined_long_ago(db, cipher, U2)
    usage()
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    # electricity 285 vs 300 in Jul-Oct: 5 % so far; 10 % needs (1,620 - 1,140 - 570) / 2 = 45 less
    assert "전기: 지금까지 기준보다 5.00% 줄었어요." in c.text
    assert "이대로면 5% 구간이에요 (예상 5,000P)." in c.text
    assert "남은 2개월 동안 월 45kWh씩 덜 쓰면 10% 구간 (+5,000P, 10,000원)" in c.text
    assert "요금으로는 월 약 6,750원을 아껴요." in c.text
    assert "남은 3개월 동안 월 10m³씩 덜 쓰면 5% 구간 (+750P, 1,500원)" in c.text
    assert "수도: 지금까지 기준과 거의 같게 썼어요." in c.text  # 0.00%, not "0.00% 줄었어요"
    # nothing settled yet: the last half that ended (2026H1, not the first one, 2025H1) waits for
    # its settlement, not for its end
    assert "2026년 상반기 결과는 시·군·구가 정산하면 여기서 보여 드려요" in c.text and "끝난 뒤 나와요" not in c.text
    assert len(c.last["template"]["outputs"]) <= 3


@pytest.mark.parametrize("typed", ["다음 구간까지 얼마나 남았어", "결과 보기", "우리 동네 평균이랑 비교해줘", "이웃보다 많이 써?"])
def test_asking_for_the_coaching_in_words_gives_the_card(chat, db, cipher, usage, typed):
    joined_long_ago(db, cipher, U2)
    usage()
    c = chat(U2)
    c.say(typed)
    assert "남은 2개월 동안 월 45kWh씩 덜 쓰면 10% 구간" in c.text


def test_the_prepared_balance_is_the_live_one(chat, db, cipher, clock, usage, monkeypatch):
    from core.models.progress import PreparedProgress
    from core.progress import prepare_progress
    from core.rules import default_rules

    joined_long_ago(db, cipher, U2)
    usage()
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    live = c.last
    with db.engine.begin() as conn:
        prepare_progress(conn, 202611, default_rules(), datetime(2026, 11, 22))
    with db.session() as s:
        assert s.scalars(select(PreparedProgress)).first() is not None
    from core import statements

    def not_live(*_a, **_k):
        raise AssertionError("computed live although prepared")

    monkeypatch.setattr(statements, "current_half_view", not_live)
    c.post_fixture("balance_lookup.json")
    assert c.last["template"]["outputs"][0]["itemCard"]["itemList"] == live["template"]["outputs"][0]["itemCard"]["itemList"]
    assert c.last["template"]["outputs"][-1] == live["template"]["outputs"][-1]


def without_chart_url(reply: dict) -> dict:
    out = json.loads(json.dumps(reply))
    out["template"]["outputs"][0]["itemCard"].pop("thumbnail", None)
    return out


def test_the_fast_balance_reads_one_row_and_is_dropped_when_things_change(chat, db, cipher, clock, usage, monkeypatch):
    from core import statements
    from core.greenlife_accrual import confirm_month
    from core.models.progress import PreparedProgress
    from core.progress import EXTRAS, prepare_progress
    from core.rules import default_rules

    joined_long_ago(db, cipher, U2)
    usage()
    settle_half(db, "2026H1", clock)
    with db.engine.begin() as conn:
        prepare_progress(conn, 202611, default_rules(), datetime(2026, 11, 22))
    with db.session() as s:
        row = s.scalars(select(PreparedProgress)).one()
        assert row.view[EXTRAS]["last"] == "2026H1"  # the settled and green-life views prepared with it
        prepared = dict(row.view)

    def not_live(*_a, **_k):
        raise AssertionError("read live although prepared")

    c = chat(U2)
    with monkeypatch.context() as m:  # the first tap after a push as much as any later one
        for name in ("current_half_view", "statement_view", "greenlife_year_view", "last_settled_half"):
            m.setattr(statements, name, not_live)
        c.post_fixture("balance_lookup.json")
        first = c.last
        c.post_fixture("balance_lookup.json")
        assert without_chart_url(c.last) == without_chart_url(first)
    with db.session() as s:  # a balance turn writes nothing
        assert s.scalars(select(PreparedProgress)).one().view == prepared
    with db.engine.begin() as conn:  # the same reply read live
        conn.execute(PreparedProgress.__table__.delete())
    c.post_fixture("balance_lookup.json")
    assert without_chart_url(c.last) == without_chart_url(first)
    with db.engine.begin() as conn:
        prepare_progress(conn, 202611, default_rules(), datetime(2026, 11, 22))
    # green-life confirmed, a payout file, a settlement, a move: the row goes, the next turn is live
    confirm_month(db, clock, "2026-10")
    with db.session() as s:
        assert s.scalars(select(PreparedProgress)).first() is None
    c.post_fixture("balance_lookup.json")
    assert c.last["template"]["outputs"][1] == first["template"]["outputs"][1]


def test_an_account_change_drops_the_prepared_balance(db, cipher, usage):
    from core import members as M
    from core.models.progress import PreparedProgress
    from core.progress import prepare_progress
    from core.rules import default_rules

    mid = joined_long_ago(db, cipher, U2)
    usage()
    with db.engine.begin() as conn:
        prepare_progress(conn, 202611, default_rules(), datetime(2026, 11, 22))
    with db.transaction() as s:
        member = s.get(Member, mid)
        M.change_resources(s, cipher, FixedClock(datetime(2026, 11, 22, tzinfo=KST)), member,
                           [M.ResourceChoice("gas", "separate", "7777777777")])
    with db.session() as s:
        assert s.get(PreparedProgress, mid) is None


def test_asking_why_the_money_did_not_come_gets_the_members_own_hold(chat, db, cipher, clock, usage):
    held_for_no_account(db, cipher, clock, usage)
    c = chat(U2)
    c.say("왜 돈이 안 들어와요?")
    assert "지난 반기(2026년 상반기) 회원님의 지급" in c.text and "계좌를 등록해 주세요" in c.text
    c.say("계좌 등록할게요")  # the change itself
    assert "은행을 골라 주세요" in c.text


def test_cash_without_an_account_is_told_before_the_settlement_and_fixes_it_there(chat, db, cipher, usage):
    """The payout would be held at the settlement: the card says so while it can be fixed, and
    its button opens the account change; registered, the warning goes (prepared or live)."""
    from core.models.progress import PreparedProgress
    from core.progress import prepare_progress
    from core.rules import default_rules

    mid = joined_long_ago(db, cipher, U2)
    with db.transaction() as s:  # as the registry import brings them (core.member_import)
        m = s.get(Member, mid)
        m.incentive_type, m.account_number_enc = "cash", None
    usage()
    with db.engine.begin() as conn:
        prepare_progress(conn, 202611, default_rules(), datetime(2026, 11, 22))
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    assert "이대로 정산되면 지급이 보류돼요" in c.text and c.labels[0] == "계좌 등록"
    c.tap("계좌 등록")
    assert "은행을 골라 주세요" in c.text
    c.say("신한은행 110-123-456789")
    c.say("네")
    with db.session() as s:  # the prepared figures stay: the warning is read with them, live
        member = s.scalars(select(Member)).one()
        assert member.account_number_enc and s.get(PreparedProgress, member.id) is not None
    c.post_fixture("balance_lookup.json")
    assert "보류" not in c.text and "계좌 등록" not in c.labels


def test_an_account_in_another_name_is_told_before_the_settlement(chat, db, cipher, usage):
    from core.progress import prepare_progress
    from core.rules import default_rules

    mid = joined_long_ago(db, cipher, U2)
    with db.transaction() as s:
        m = s.get(Member, mid)
        m.incentive_type = "cash"
        m.bank_name, m.account_holder, m.account_number_enc = "신한은행", "박서준", cipher.encrypt("110123456789")
    usage()
    c = chat(U2)
    c.post_fixture("balance_lookup.json")  # live
    live = c.text
    assert "예금주가 회원님 이름과 달라요" in live and c.labels[0] == "계좌 변경"
    with db.engine.begin() as conn:
        prepare_progress(conn, 202611, default_rules(), datetime(2026, 11, 22))
    c.post_fixture("balance_lookup.json")  # prepared: the same warning
    assert c.text == live and c.labels[0] == "계좌 변경"


def test_a_held_payment_is_not_warned_about_twice(chat, db, cipher, clock, usage):
    held_for_no_account(db, cipher, clock, usage)
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    assert "지급이 보류됐어요" in c.text and "이대로 정산되면" not in c.text


def test_past_halves_are_listed_and_each_shown_by_button_or_in_words(chat, db, cipher, clock, usage):
    from core.progress import prepare_progress
    from core.rules import default_rules

    joined_long_ago(db, cipher, U2)
    usage()
    settle_half(db, "2025H2", clock)
    settle_half(db, "2026H1", clock)
    with db.engine.begin() as conn:  # the card read fast, its count of settled halves prepared with it
        prepare_progress(conn, 202611, default_rules(), datetime(2026, 11, 22))
    c = chat(U2)
    c.post_fixture("balance_lookup.json")
    assert "반기별 내역" in c.labels
    c.tap("반기별 내역")
    assert c.has("반기별 포인트 내역이에요.", "• 2026년 상반기: 10,750P · 21,500원 · 지급 예정", "• 2025년 하반기: ")
    assert c.labels == ["2026년 상반기", "2025년 하반기", "이번 반기 예상", "처음으로"]
    c.tap("2025년 하반기")
    assert c.last["template"]["outputs"][0]["itemCard"]["imageTitle"]["title"] == "2025년 하반기 결과"
    assert c.labels == ["2026년 상반기", "이번 반기 예상", "처음으로"]
    c.say("작년 상반기 포인트 얼마였어요?")  # 2025H1: nothing settled for it
    assert c.has("2025년 상반기에는 정산된 결과가 없어요.", "• 2026년 상반기: 10,750P")
    c.say("2026년 상반기 포인트 조회")
    assert c.last["template"]["outputs"][0]["itemCard"]["imageTitle"]["title"] == "2026년 상반기 결과"
    c.tap("이번 반기 예상")
    assert c.last["template"]["outputs"][0]["itemCard"]["imageTitle"]["title"] == "2026년 하반기 (예상)"
    c.say("하반기 결과 나왔어요?")  # this half, not ended: the card of the half so far
    assert c.last["template"]["outputs"][0]["itemCard"]["imageTitle"]["title"] == "2026년 하반기 (예상)"


def test_one_settled_half_offers_no_list_and_none_says_so(chat, db, cipher, clock, usage):
    joined_long_ago(db, cipher, U2)
    usage()
    c = chat(U2)
    c.say("포인트 내역 보여줘")
    assert c.has("아직 정산된 반기가 없어요.") and c.labels == ["이번 반기 예상", "처음으로"]
    settle_half(db, "2026H1", clock)
    c.post_fixture("balance_lookup.json")
    assert "반기별 내역" not in c.labels  # the card shows the one there is

