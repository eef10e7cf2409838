"""Campaign conversations: the carousel, joining once, my campaigns, one-tap opt-out honoured by
the broadcast audience, explicit opt-in."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from core.campaigns import campaign_audience
from core.models import CampaignPledge
from tests.auxil.scenarios import add_campaign, make_member, member_of

U5 = "056c70625cdc9f41f674a5ea812782e0d71114eaeeab280e10f"  # fixture user on the development channel
CAMPAIGN = "cmp-2025-summer-cooling"

pytestmark = pytest.mark.usefixtures("lgs")


@pytest.fixture
def campaigns(db, clock):
    add_campaign(db, clock)
    add_campaign(db, clock, "cmp-2025-tumbler", "텀블러 사용하기", "카페에서 텀블러를 쓰면 녹색생활 실천 포인트 300원.",
                 ends=date(2027, 2, 28), detail=False)
    add_campaign(db, clock, "cmp-old", "지난 캠페인", "끝났어요", starts=date(2026, 1, 1), ends=date(2026, 6, 30))


def member_says(chat, db, cipher, clock, typed: str):
    """A member who takes campaign messages ("u-camp") types `typed`; their chat."""
    make_member(db, cipher, clock, "u-camp", opt_in=True)
    c = chat("u-camp")
    c.say(typed)
    return c


def pledges(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(CampaignPledge))


def test_active_campaigns_as_a_carousel(chat, campaigns):
    c = chat(U5)
    c.post_fixture("campaign_list.json")
    carousel = c.last["template"]["outputs"][1]["carousel"]
    assert carousel["type"] == "basicCard" and len(carousel["items"]) == 2  # the old one is not shown
    first = carousel["items"][0]
    assert first["title"] == "여름철 냉방 1도 올리기" and first["thumbnail"]["imageUrl"].startswith("https://")
    assert [b["label"] for b in first["buttons"]] == ["참여하기", "자세히"]
    assert first["buttons"][0]["extra"] == {"action": "join", "campaign_id": CAMPAIGN}
    assert "지난 캠페인" not in c.text


def test_joining_twice_records_one_pledge(chat, db, cipher, clock, campaigns):
    make_member(db, cipher, clock, U5)
    c = chat(U5, bot_id="660c83a8ad9bb98ef71a0bd6!")
    c.post_fixture("campaign_join.json")
    assert "참여했어요" in c.text and pledges(db) == 1
    c.post_fixture("campaign_join.json")
    assert "이미" in c.text and "한 번만" in c.text and pledges(db) == 1
    c.open("campaigns", "캠페인")
    labels = [b["label"] for b in c.last["template"]["outputs"][1]["carousel"]["items"][0]["buttons"]]
    assert labels[0] == "참여 중"
    c.tap("내 캠페인")
    assert "여름철 냉방 1도 올리기" in c.text and "2026-11-22 참여 · 진행 중" in c.text


def test_joining_by_tapping_the_card_button(chat, db, cipher, clock, campaigns):
    make_member(db, cipher, clock, "u-camp")
    c = chat("u-camp")
    c.open("campaigns")
    c.tap("참여하기")  # message action: the text reaches the fallback, the extra names the campaign
    assert "참여했어요" in c.text and pledges(db) == 1


def test_non_members_are_invited_to_sign_up(chat, db, campaigns):
    c = chat(U5)
    c.post_fixture("campaign_join.json")
    assert "회원만" in c.text and "가입하기" in c.labels and pledges(db) == 0


def test_closed_and_unknown_campaigns(chat, db, cipher, clock, campaigns):
    make_member(db, cipher, clock, "u-camp")
    c = chat("u-camp")
    c.send_extra("campaigns", "참여하기", {"action": "join", "campaign_id": "cmp-old"})
    assert "지금 참여할 수 없어요" in c.text
    c.send_extra("campaigns", "참여하기", {"action": "join", "campaign_id": "cmp-none"})
    assert "찾으시는 캠페인이 없어요" in c.text and pledges(db) == 0


def test_opt_out_is_one_tap_and_honoured_by_broadcasts(chat, db, cipher, clock, campaigns):
    make_member(db, cipher, clock, "u-camp", opt_in=True)
    with db.session() as s:
        assert [m.bot_user_key for m in s.scalars(campaign_audience())] == ["u-camp"]
    c = chat("u-camp")
    c.open("campaigns")
    c.tap("수신거부")
    assert "수신을 거부했어요" in c.text and "2026년 11월 22일" in c.text
    with db.session() as s:
        assert list(s.scalars(campaign_audience())) == []
    m = member_of(db, "u-camp")
    assert m.campaign_opt_out and not m.marketing_opt_in and m.consents["optional"] is False
    # typed in reply to a broadcast, on the fallback skill
    c.say("수신거부")
    assert "받지 않도록 되어 있어요" in c.text


@pytest.mark.parametrize("typed", ["캠페인 알림 그만", "캠페인 소식 안 받을래요", "캠페인 소식 그만 보내세요"])
def test_asking_in_words_for_the_messages_to_stop_stops_them(chat, db, cipher, clock, campaigns, typed):
    c = member_says(chat, db, cipher, clock, typed)
    assert "수신을 거부했어요" in c.text
    assert member_of(db, "u-camp").campaign_opt_out


@pytest.mark.parametrize("typed", ["수신거부 철회할게요", "캠페인 수신거부 해제해 주세요", "수신거부 취소"])
def test_taking_back_an_opt_out_asks_for_consent_and_stops_nothing(chat, db, cipher, clock, campaigns, typed):
    c = member_says(chat, db, cipher, clock, typed)
    assert "수신을 거부했어요" not in c.text and "동의하고 받기" in c.labels
    assert not member_of(db, "u-camp").campaign_opt_out


@pytest.mark.parametrize("typed", ["참여한 캠페인 보여줘", "내가 참여한 캠페인 뭐 있어"])
def test_the_members_own_campaigns_asked_in_words(chat, db, cipher, clock, campaigns, typed):
    c = member_says(chat, db, cipher, clock, typed)
    assert "아직 참여한 캠페인이 없어요" in c.text


@pytest.mark.parametrize("typed", ["냉방 1도 올리기 참여할래요", "여름철 냉방 캠페인 참여"])
def test_a_campaign_named_by_its_title_is_joined(chat, db, cipher, clock, campaigns, typed):
    c = member_says(chat, db, cipher, clock, typed)
    assert "캠페인에 참여했어요" in c.text
    member_id = member_of(db, "u-camp").id
    with db.session() as s:
        assert [(p.member_id, p.campaign_id) for p in s.scalars(select(CampaignPledge))] == [
            (member_id, "cmp-2025-summer-cooling")]


def test_one_title_word_without_campaign_is_not_taken_for_the_campaign(chat, db, cipher, clock):
    add_campaign(db, clock, "cmp-cn", "탄소중립 생활 실천", "함께해요")
    c = chat("u-new")
    c.say("탄소중립포인트 참여하고 싶어요")
    assert "회원만" not in c.text and "캠페인에 참여했어요" not in c.text


def test_a_campaign_named_without_asking_to_join_is_shown(chat, db, cipher, clock, campaigns):
    make_member(db, cipher, clock, "u-camp", opt_in=True)
    c = chat("u-camp")
    c.say("냉방 캠페인 뭐예요")
    assert "진행 중인 캠페인이에요" in c.text
    with db.session() as s:
        assert s.scalars(select(CampaignPledge)).all() == []


def test_another_sigungus_campaign_cannot_be_joined_by_name_or_by_a_forged_button(chat, db, cipher, clock):
    from core.models import Campaign

    add_campaign(db, clock, "cmp-busan", "해운대 바다 줍깅", "부산 해운대구 주민 캠페인")
    with db.transaction() as s:
        s.get(Campaign, "cmp-busan").local_government_code = "26350"
    make_member(db, cipher, clock, "u-camp", opt_in=True)  # 수원시 영통구
    c = chat("u-camp")
    c.say("해운대 바다 줍깅 참여할래요")
    assert "캠페인에 참여했어요" not in c.text
    c.send_extra("campaigns", "캠페인 참여하기", {"action": "join", "campaign_id": "cmp-busan"})
    assert "캠페인에 참여했어요" not in c.text
    assert pledges(db) == 0
    # ...nor is it shown: the carousel lists what the member can join; a visitor sees the national ones
    c.open("campaigns")
    assert "해운대 바다 줍깅" not in c.text
    c = chat("u-camp-visitor")
    c.open("campaigns")
    assert "해운대 바다 줍깅" not in c.text
    add_campaign(db, clock, "cmp-national", "전국 소등 캠페인", "한 시간 불 끄기")
    c.open("campaigns")
    assert "전국 소등 캠페인" in c.text


@pytest.mark.parametrize("typed", ["캠페인 참여 취소", "냉방 캠페인 그만둘래요", "캠페인 탈퇴할래요", "냉방 1도 올리기 참여 안 할래요"])
def test_leaving_a_campaign_in_words(chat, db, cipher, clock, typed):
    add_campaign(db, clock)
    c = member_says(chat, db, cipher, clock, "냉방 1도 올리기 참여할래요")
    assert pledges(db) == 1
    c.say(typed)
    assert c.has("'여름철 냉방 1도 올리기' 캠페인 참여를 취소했어요") and pledges(db) == 0
    assert member_of(db, "u-camp").marketing_opt_in is True  # leaving is not refusing the messages
    c.say(typed)  # again, or a retried request: nothing to leave
    assert (c.has("참여 중인 캠페인이 없어요") or c.has("참여하지 않으셨어요")) and pledges(db) == 0


@pytest.mark.parametrize("typed", ["캠페인 그만 안 할래요", "캠페인 참여 취소 안 할게요", "냉방 1도 올리기 포기하지 않을래요"])
def test_saying_one_will_not_leave_leaves_nothing(chat, db, cipher, clock, typed):
    add_campaign(db, clock)
    c = member_says(chat, db, cipher, clock, "냉방 1도 올리기 참여할래요")
    c.say(typed)
    assert pledges(db) == 1 and "참여를 취소했어요" not in c.text


def test_leaving_by_the_cards_button_and_joining_again(chat, db, cipher, clock, campaigns):
    c = member_says(chat, db, cipher, clock, "냉방 1도 올리기 참여할래요")
    c.open("campaigns")
    assert c.labels.count("참여 취소") == 1  # only on the joined campaign's card
    c.tap("참여 취소")
    assert c.has("참여를 취소했어요") and pledges(db) == 0
    c.send_extra("campaigns", "캠페인 참여 취소", {"action": "leave", "campaign_id": CAMPAIGN})
    assert c.has("참여하지 않으셨어요")
    c.send_extra("campaigns", "캠페인 참여하기", {"action": "join", "campaign_id": CAMPAIGN})
    assert c.has("캠페인에 참여했어요") and pledges(db) == 1


def test_with_several_campaigns_a_typed_leave_shows_them_to_choose(chat, db, cipher, clock, campaigns):
    c = member_says(chat, db, cipher, clock, "냉방 1도 올리기 참여할래요")
    c.say("텀블러 사용하기 캠페인 참여할래요")
    assert pledges(db) == 2
    c.say("캠페인 참여 취소")
    assert c.has("그만두실 캠페인의 '참여 취소'를 눌러 주세요") and c.labels.count("참여 취소") == 2
    assert pledges(db) == 2


def test_asking_the_messages_to_stop_leaves_no_campaign(chat, db, cipher, clock, campaigns):
    c = member_says(chat, db, cipher, clock, "냉방 1도 올리기 참여할래요")
    c.say("캠페인 알림 그만둘래요")
    assert c.has("수신을 거부했어요") and pledges(db) == 1


def test_opt_in_needs_an_explicit_consent(chat, db, cipher, clock, campaigns):
    make_member(db, cipher, clock, "u-camp", opt_in=False)
    c = chat("u-camp")
    c.open("campaigns")
    c.tap("소식 받기")
    assert "동의하시면" in c.text and not member_of(db, "u-camp").marketing_opt_in
    c.tap("동의하고 받기")
    assert "동의하셨어요" in c.text
    m = member_of(db, "u-camp")
    assert m.marketing_opt_in and not m.campaign_opt_out and m.consents["optional"] is True


def test_without_images_a_text_card_carousel(chat, db, clock):
    add_campaign(db, clock, "cmp-noimg", "이미지 없는 캠페인", "요약", image=False)
    add_campaign(db, clock, "cmp-img", "이미지 있는 캠페인", "요약")
    c = chat("u-camp")
    c.open("campaigns")
    assert c.last["template"]["outputs"][1]["carousel"]["type"] == "textCard"


def test_many_campaigns_fit_the_limits(chat, db, clock):
    for i in range(13):
        add_campaign(db, clock, f"cmp-{i:02d}", f"캠페인 {i:02d} " + "가" * 40, "설명 " * 76)
    c = chat("u-camp")
    c.open("campaigns")
    assert len(c.last["template"]["outputs"][1]["carousel"]["items"]) == 10
    assert "3개 더" in c.text


def test_no_active_campaigns(chat):
    c = chat("u-camp")
    c.open("campaigns")
    assert "진행 중인 캠페인이 없어요" in c.text


def test_my_campaigns_when_none(chat, db, cipher, clock, campaigns):
    make_member(db, cipher, clock, "u-camp")
    c = chat("u-camp")
    c.say("내 캠페인")
    assert "아직 참여한 캠페인이 없어요" in c.text


def test_a_title_with_words_of_other_features_still_joins(chat, db, cipher, clock):
    add_campaign(db, clock, "cmp-seoul", "서울 숲 가꾸기 포인트 언제 받나", "요약")
    make_member(db, cipher, clock, "u-camp")
    c = chat("u-camp")
    c.open("campaigns")
    c.tap("참여하기")
    assert "참여했어요" in c.text and pledges(db) == 1


def test_buttons_through_the_campaign_block(blocks, chat, db, cipher, clock, campaigns):
    make_member(db, cipher, clock, "u-camp")
    c = chat("u-camp")
    c.open("campaigns")
    button = c.find("참여하기")
    assert button["action"] == "block" and button["messageText"] == "여름철 냉방 1도 올리기 참여하기"
    c.tap("참여하기")
    assert "참여했어요" in c.text and pledges(db) == 1


@pytest.mark.parametrize("asked", ["캠페인 참여 취소하면 어떻게 돼요?", "냉방 캠페인 그만두면 포인트 없어져요?"])
def test_a_question_about_leaving_leaves_nothing(chat, db, cipher, clock, asked):
    add_campaign(db, clock)
    c = member_says(chat, db, cipher, clock, "냉방 1도 올리기 참여할래요")
    c.say(asked)
    assert pledges(db) == 1 and "'참여 취소'를 눌러 주세요" in c.text and "참여 취소" in c.labels


def test_a_question_about_joining_joins_nothing(chat, db, cipher, clock):
    add_campaign(db, clock)
    c = member_says(chat, db, cipher, clock, "냉방 1도 올리기 참여하면 포인트 줘요?")
    assert pledges(db) == 0 and "여름철 냉방 1도 올리기" in c.text  # the campaign, with its join button


def test_a_question_about_refusing_the_messages_refuses_nothing(chat, db, cipher, clock, campaigns):
    c = member_says(chat, db, cipher, clock, "냉방 1도 올리기 참여할래요")
    c.say("캠페인 수신거부하면 뭐가 달라져요?")
    assert "계속 보내 드려요" in c.text and "수신거부" in c.labels
    assert member_of(db, "u-camp").marketing_opt_in is True
    c.tap("수신거부")
    assert c.has("수신을 거부했어요") and member_of(db, "u-camp").marketing_opt_in is False
