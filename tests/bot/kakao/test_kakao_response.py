"""Builders: the protocol doc's §11 examples rebuilt, every rule enforced at construction time."""

from __future__ import annotations

import json

import pytest
from kakao_testdata import doc_example_responses

from bot.kakao import limits
from bot.kakao.response import (
    BasicCard,
    Button,
    Carousel,
    CarouselHeader,
    CommerceCard,
    ContextControl,
    ContextValue,
    ImageTitle,
    Item,
    ItemCard,
    ItemListSummary,
    ItemProfile,
    ItemThumbnail,
    LimitError,
    Link,
    ListCard,
    ListItem,
    Profile,
    QuickReply,
    SimpleImage,
    SimpleText,
    SkillResponse,
    TextCard,
    Thumbnail,
    fit_text,
    reply,
    text_reply,
)
from bot.kakao.validate import validate_response

SIGNUP_BLOCK = "66572e2d8a9d914667314829"
BALANCE_BLOCK = "66c2657154507f0bb6a4b9d9"
CAMPAIGN_BLOCK = "664b7b328e9b025858b7f496"
IMG = "https://example.org/img.png"


def _billing_mode_question() -> dict:
    extra = {"dialog": "signup", "step": "billing_mode", "resource": "electricity"}
    return text_reply(
        "전기요금은 어떻게 내고 계세요?\n아파트 관리비에 포함되어 있으면 '관리비 합산'을 골라 주세요.",
        [
            QuickReply.block("관리비 합산", SIGNUP_BLOCK, extra={**extra, "value": "managed_fee"}),
            QuickReply.block("개별납부", SIGNUP_BLOCK, extra={**extra, "value": "separate"}),
            QuickReply.message("취소", "취소", extra={"dialog": "signup", "action": "cancel"}),
        ],
    )


def _balance_card() -> dict:
    card = ItemCard(
        image_title=ImageTitle("2025년 하반기 (예상)", "7~10월 사용량 기준"),
        item_list=[Item("전기", "감축 6.98% · 5,000P"), Item("수도", "감축 3.00% · 0P"), Item("가스", "10월 자료 없음")],
        item_list_alignment="right",
        item_list_summary=ItemListSummary("예상", "10,000원"),
        buttons=[Button.block("지난 반기 보기", BALANCE_BLOCK, extra={"view": "settled"})],
        button_layout="vertical",
    )
    return reply(card, quick_replies=[QuickReply.message("처음으로")])


def _campaign_carousel() -> dict:
    def join(campaign_id: str) -> Button:
        return Button.block("참여하기", CAMPAIGN_BLOCK, extra={"action": "join", "campaign_id": campaign_id})

    return reply(Carousel([
        BasicCard(
            Thumbnail("https://example.org/campaigns/summer-cooling.png", "냉방 캠페인"),
            "여름철 냉방 1도 올리기", "7~8월 냉방 온도를 1도 높여 전기를 아껴요.",
            buttons=[join("cmp-2025-summer-cooling"),
                     Button.web_link("자세히", "https://example.org/campaigns/summer-cooling")],
        ),
        BasicCard(
            Thumbnail("https://example.org/campaigns/tumbler.png", "텀블러 캠페인"),
            "텀블러 사용하기", "카페에서 텀블러를 쓰면 녹색생활 실천 포인트 300원.",
            buttons=[join("cmp-2025-tumbler")],
        ),
    ]))


def _rrn_refusal() -> dict:
    return text_reply(
        "주민등록번호는 채팅으로 받지 않아요. 보내 주신 메시지는 저장하지 않았어요.\n"
        "전기 고객번호 10자리를 다시 입력해 주세요. 전기요금 고지서 위쪽에 있어요.",
        [QuickReply.message("고객번호 찾는 법", "고객번호가 뭐예요?"), QuickReply.message("취소")],
    )


def test_doc_examples_rebuilt_identically():
    rebuilt = [_billing_mode_question(), _balance_card(), _campaign_carousel(), _rrn_refusal()]
    for expected, got in zip(doc_example_responses(), rebuilt):
        assert got == expected
        assert validate_response(got) == []
        json.dumps(got)  # plain JSON types only


# --- every limit: fine at the limit, LimitError at limit + 1 ---------------------------------------

def _bt(label: str = "확인") -> Button:
    return Button.message(label)


def _item_card(**kw) -> ItemCard:
    return ItemCard(**{"item_list": [Item("전기", "5,000P")], **kw})


LIMIT_CASES = {
    "simpleText.text": ("SIMPLE_TEXT_MAX", lambda n: SimpleText("가" * n)),
    "simpleImage.altText": ("ALT_TEXT_MAX", lambda n: SimpleImage(IMG, "a" * n)),
    "thumbnail.altText": ("ALT_TEXT_MAX", lambda n: Thumbnail(IMG, "a" * n)),
    "textCard.title": ("TEXT_CARD_TITLE_MAX", lambda n: TextCard("가" * n)),
    "textCard.description": ("TEXT_CARD_DESCRIPTION_MAX", lambda n: TextCard(description="가" * n)),
    "carousel textCard.description": (
        "TEXT_CARD_DESCRIPTION_CAROUSEL_MAX", lambda n: Carousel([TextCard(description="가" * n)])),
    "basicCard.title": ("BASIC_CARD_TITLE_MAX", lambda n: BasicCard(Thumbnail(IMG), "가" * n)),
    "basicCard.description": ("BASIC_CARD_DESCRIPTION_MAX", lambda n: BasicCard(Thumbnail(IMG), description="가" * n)),
    "commerceCard.title": ("COMMERCE_CARD_TITLE_MAX", lambda n: CommerceCard(1000, [Thumbnail(IMG)], "가" * n)),
    "commerceCard.description": (
        "COMMERCE_CARD_DESCRIPTION_MAX", lambda n: CommerceCard(1000, [Thumbnail(IMG)], description="가" * n)),
    "listCard.items": ("LIST_CARD_ITEMS_MAX", lambda n: ListCard("목록", [ListItem(f"항목{i}") for i in range(n)])),
    "carousel listCard.items": (
        "LIST_CARD_ITEMS_CAROUSEL_MAX", lambda n: Carousel([ListCard("목록", [ListItem("항목")] * n)])),
    "itemCard.itemList": ("ITEM_CARD_ITEMS_MAX", lambda n: ItemCard([Item("전기", "1")] * n)),
    "carousel itemCard.itemList": (
        "ITEM_CARD_ITEMS_CAROUSEL_MAX", lambda n: Carousel([ItemCard([Item("전기", "1")] * n)])),
    "itemList.title": ("ITEM_TITLE_MAX", lambda n: ItemCard([Item("가" * n, "1")])),
    "itemCard.profile.title": ("ITEM_PROFILE_TITLE_MAX", lambda n: _item_card(profile=ItemProfile("가" * n))),
    "itemListSummary.title": (
        "ITEM_SUMMARY_TITLE_MAX", lambda n: _item_card(item_list_summary=ItemListSummary("가" * n, "1원"))),
    "itemListSummary.description": (
        "ITEM_SUMMARY_DESCRIPTION_MAX", lambda n: _item_card(item_list_summary=ItemListSummary("합계", "1" * n))),
    "itemCard.title+description": (
        "ITEM_CARD_TEXT_MAX", lambda n: _item_card(title="가", description="나" * (n - 1))),
    "carousel itemCard.title+description": (
        "ITEM_CARD_TEXT_CAROUSEL_MAX", lambda n: Carousel([_item_card(title="가" * n)])),
    "carousel.items": ("CAROUSEL_ITEMS_MAX", lambda n: Carousel([BasicCard(Thumbnail(IMG), "카드")] * n)),
    "carousel listCard count": ("CAROUSEL_LIST_CARD_ITEMS_MAX", lambda n: Carousel([ListCard("목록", [ListItem("a")])] * n)),
    "button.label": ("BUTTON_LABEL_MAX", lambda n: TextCard("t", buttons=[_bt("가" * n)])),
    "button.label side by side": (
        "BUTTON_LABEL_SIDE_BY_SIDE_MAX",
        lambda n: TextCard("t", buttons=[_bt("가" * n), _bt("나")], button_layout="horizontal")),
    "buttons vertical": ("BUTTONS_VERTICAL_MAX", lambda n: TextCard("t", buttons=[_bt()] * n)),
    "buttons horizontal": (
        "BUTTONS_HORIZONTAL_MAX", lambda n: TextCard("t", buttons=[_bt()] * n, button_layout="horizontal")),
    "buttons fixedRatio horizontal": (
        "BUTTONS_HORIZONTAL_MAX", lambda n: BasicCard(Thumbnail(IMG, fixed_ratio=True), "t", buttons=[_bt()] * n)),
    "quickReplies.label": ("QUICK_REPLY_LABEL_MAX", lambda n: QuickReply.message("가" * n)),
    "template.quickReplies": (
        "QUICK_REPLIES_MAX", lambda n: SkillResponse([SimpleText("a")], [QuickReply.message("a")] * n)),
    "template.outputs": ("OUTPUTS_MAX", lambda n: SkillResponse([SimpleText("a")] * n)),
}


def response_of_size(n: int) -> SkillResponse:
    """A response exactly n bytes long, padded through `data`."""
    base = SkillResponse([SimpleText("a")], data={"pad": ""})
    return SkillResponse([SimpleText("a")], data={"pad": "a" * (n - limits.response_bytes(base.to_dict()))})


LIMIT_CASES["response bytes"] = ("RESPONSE_MAX_BYTES", response_of_size)


def _as_response(built: object) -> dict:
    if isinstance(built, SkillResponse):
        return built.to_dict()
    if isinstance(built, Thumbnail):
        return reply(BasicCard(built))
    if isinstance(built, QuickReply):
        return text_reply("a", [built])
    return reply(built)


@pytest.mark.parametrize("case", sorted(LIMIT_CASES))
def test_limit_raises_only_beyond(case):
    limit_name, build = LIMIT_CASES[case]
    most = getattr(limits, limit_name)
    assert validate_response(_as_response(build(most))) == []
    with pytest.raises(LimitError) as err:
        build(most + 1)
    assert limit_name in str(err.value)


def test_limit_messages_name_field():
    with pytest.raises(LimitError, match=r"^simpleText\.text: 1001 characters, limit 1000 \(SIMPLE_TEXT_MAX\)$"):
        SimpleText("x" * 1001)
    with pytest.raises(LimitError, match=r"carousel\.items\[1\]\.description"):
        Carousel([TextCard(description="a"), TextCard(description="a" * 129)])


def test_quick_reply_label_limit_is_a_setting(monkeypatch):
    monkeypatch.setattr(limits, "QUICK_REPLY_LABEL_MAX", 4)
    QuickReply.message("가나다라")
    with pytest.raises(LimitError, match="QUICK_REPLY_LABEL_MAX"):
        QuickReply.message("가나다라마")


def test_emoji_counts_as_two():
    SimpleText("😀" * 500)
    with pytest.raises(LimitError):
        SimpleText("😀" * 501)


def test_commerce_card_exactly_one_thumbnail_won_and_int_price():
    for thumbs in ([], [Thumbnail(IMG), Thumbnail(IMG)]):
        with pytest.raises(LimitError, match="exactly 1"):
            CommerceCard(1000, thumbs)
    with pytest.raises(LimitError, match="currency"):
        CommerceCard(1000, [Thumbnail(IMG)], currency="usd")
    for price in (1000.0, "1000", True, None, -1):
        with pytest.raises(LimitError, match="price"):
            CommerceCard(price, [Thumbnail(IMG)])
    card = CommerceCard(9900, [Thumbnail(IMG)], "텀블러", discount=900, discount_rate=10, discounted_price=9000,
                        profile=Profile("탄소중립포인트", IMG))
    assert card.to_dict()["commerceCard"] == {
        "title": "텀블러", "price": 9900, "currency": "won", "discount": 900, "discountRate": 10,
        "discountedPrice": 9000, "thumbnails": [{"imageUrl": IMG}],
        "profile": {"nickname": "탄소중립포인트", "imageUrl": IMG},
    }
    with pytest.raises(LimitError, match="discountRate"):
        CommerceCard(1000, [Thumbnail(IMG)], discount_rate=101)


def test_button_actions_and_required_fields():
    assert Button.web_link("열기", "https://example.org").to_dict() == {
        "label": "열기", "action": "webLink", "webLinkUrl": "https://example.org"}
    assert Button.message("잔액").to_dict() == {"label": "잔액", "action": "message", "messageText": "잔액"}
    assert Button.message("잔액", "내 포인트", {"k": 1}).to_dict()["extra"] == {"k": 1}
    assert Button.block("가입", "b1").to_dict() == {"label": "가입", "action": "block", "blockId": "b1"}
    assert Button.phone("전화", "1661-2030").to_dict() == {"label": "전화", "action": "phone", "phoneNumber": "1661-2030"}
    assert Button.share("공유").to_dict() == {"label": "공유", "action": "share"}
    assert Button.operator("상담원").to_dict() == {"label": "상담원", "action": "operator"}
    bad = [
        dict(label="a", action="block"),
        dict(label="a", action="block", block_id=" "),
        dict(label="a", action="webLink"),
        dict(label="a", action="webLink", web_link_url="example.org"),
        dict(label="a", action="phone"),
        dict(label="a", action="osLink"),
        dict(label="a", action="share", block_id="b"),
        dict(label="a", action="webLink", web_link_url="https://x.org", extra={"a": 1}),
        dict(label="a", action="message", message_text=""),
        dict(label="", action="share"),
        dict(label="a", action="message", extra={1: "x"}),
        dict(label="a", action="message", extra={"x": object()}),
        dict(label="a", action="message", extra=["x"]),
    ]
    for kwargs in bad:
        with pytest.raises(LimitError):
            Button(**kwargs)


def test_quick_replies():
    assert QuickReply.message("처음으로").to_dict() == {"label": "처음으로", "action": "message", "messageText": "처음으로"}
    with_extra = QuickReply.message("취소", extra={"dialog": "signup"}).to_dict()
    assert with_extra["extra"] == {"dialog": "signup"} and with_extra["messageText"] == "취소"
    assert QuickReply.block("가입", "b", message_text="가입할래요").to_dict() == {
        "label": "가입", "action": "block", "messageText": "가입할래요", "blockId": "b"}
    for kwargs in (dict(label="a", action="block"), dict(label="a", action="webLink"),
                   dict(label="a", action="message", block_id="b")):
        with pytest.raises(LimitError):
            QuickReply(**kwargs)


def test_text_card_needs_title_or_description():
    with pytest.raises(LimitError, match="title or a description"):
        TextCard()
    with pytest.raises(LimitError):
        TextCard(" ", " ")
    assert TextCard(description="설명").to_dict() == {"textCard": {"description": "설명"}}


def test_list_card():
    card = ListCard("캠페인", [
        ListItem("텀블러", "녹색생활", IMG, link=Link(web="https://example.org")),
        ListItem("냉방", action="block", block_id="b", extra={"id": 1}),
        ListItem("도움말", action="message"),
    ], buttons=[Button.message("더 보기")])
    assert card.to_dict() == {"listCard": {
        "header": {"title": "캠페인"},
        "items": [
            {"title": "텀블러", "description": "녹색생활", "imageUrl": IMG, "link": {"web": "https://example.org"}},
            {"title": "냉방", "action": "block", "blockId": "b", "extra": {"id": 1}},
            {"title": "도움말", "action": "message", "messageText": "도움말"},
        ],
        "buttons": [{"label": "더 보기", "action": "message", "messageText": "더 보기"}],
    }}
    for kwargs in (dict(action="block"), dict(action="phone"), dict(block_id="b"), dict(extra={"a": 1})):
        with pytest.raises(LimitError):
            ListItem("a", **kwargs)
    with pytest.raises(LimitError, match="listCard.items"):
        ListCard("a", [])
    with pytest.raises(LimitError):
        Link()


def test_item_card_rules():
    with pytest.raises(LimitError, match="exclusive"):
        _item_card(head="제목", profile=ItemProfile("프로필"))
    _item_card(head="제목")
    _item_card(profile=ItemProfile("프로필", IMG, 50, 50))
    with pytest.raises(LimitError, match="needs a title"):
        _item_card(description="설명")
    with pytest.raises(LimitError, match="lines"):
        _item_card(title="\n" * 12)
    _item_card(title="\n" * 11)
    with pytest.raises(LimitError, match="itemList"):
        ItemCard([])
    with pytest.raises(LimitError, match="lines"):
        Item("전기", "1\n2\n3")
    with pytest.raises(LimitError):
        Item("전기", "")
    with pytest.raises(LimitError, match="lines"):
        ImageTitle("1\n2\n3")
    with pytest.raises(LimitError, match="lines"):
        ImageTitle("제목", "1\n2")
    with pytest.raises(LimitError, match="itemListAlignment"):
        _item_card(item_list_alignment="center")
    assert _item_card(thumbnail=ItemThumbnail(IMG, 800, 400), head="영수증").to_dict() == {"itemCard": {
        "thumbnail": {"imageUrl": IMG, "width": 800, "height": 400},
        "head": {"title": "영수증"},
        "itemList": [{"title": "전기", "description": "5,000P"}],
    }}


@pytest.mark.parametrize("text", ["10,000원", "₩10,000", "$4,032.54", "1000", "0.5", "1,234,567.8원"])
def test_item_summary_accepts_amounts(text):
    ItemListSummary("합계", text)


@pytest.mark.parametrize("text", ["10,000 원", "약 만원", "1.234", "원10원", "1,00", "-100", "10,000원!", ""])
def test_item_summary_refuses_other_text(text):
    with pytest.raises(LimitError):
        ItemListSummary("합계", text)


def test_item_thumbnail_ratios():
    ItemThumbnail(IMG, 800, 800)
    ItemThumbnail(IMG, 400, 200)
    ItemThumbnail(IMG)
    for w, h in ((800, 600), (400, 800)):
        with pytest.raises(LimitError, match="ratio"):
            ItemThumbnail(IMG, w, h)
    with pytest.raises(LimitError, match="both"):
        ItemThumbnail(IMG, width=800)
    with pytest.raises(LimitError, match="ratio 1:1"):
        Carousel([_item_card(thumbnail=ItemThumbnail(IMG, 800, 800))])
    Carousel([_item_card(thumbnail=ItemThumbnail(IMG, 800, 400))] * 2)


def test_carousel_rules():
    basic = BasicCard(Thumbnail(IMG), "카드")
    with pytest.raises(LimitError, match="one card type"):
        Carousel([basic, TextCard("t")])
    with pytest.raises(LimitError, match="one image ratio"):
        Carousel([basic, BasicCard(Thumbnail(IMG, fixed_ratio=True), "정사각")])
    with pytest.raises(LimitError, match="one image ratio"):
        Carousel([CommerceCard(1, [Thumbnail(IMG)]), CommerceCard(1, [Thumbnail(IMG, fixed_ratio=True)])])
    header = CarouselHeader("캠페인", "이번 달\n캠페인", Thumbnail(IMG))
    assert Carousel([basic], header).to_dict()["carousel"]["header"] == {
        "title": "캠페인", "description": "이번 달\n캠페인", "thumbnail": {"imageUrl": IMG}}
    for card in (TextCard("t"), ListCard("l", [ListItem("a")])):
        with pytest.raises(LimitError, match="header"):
            Carousel([card], header)
    with pytest.raises(LimitError, match="lines"):
        CarouselHeader("1\n2\n3")
    with pytest.raises(LimitError, match="lines"):
        CarouselHeader("제목", "1\n2\n3\n4")
    with pytest.raises(LimitError, match="at least 1"):
        Carousel([])
    with pytest.raises(LimitError):
        Carousel([SimpleText("a")])
    with pytest.raises(LimitError):
        Carousel([Carousel([basic])])
    with pytest.raises(LimitError, match="every card or none"):
        Carousel([_item_card(head="a"), _item_card()])
    with pytest.raises(LimitError, match="every card or none"):
        Carousel([_item_card(image_title=ImageTitle("a")), _item_card()])
    Carousel([_item_card(head="a", image_title=ImageTitle("a"))] * 2)


def test_envelope():
    with pytest.raises(LimitError, match="at least 1"):
        SkillResponse([])
    with pytest.raises(LimitError):
        SkillResponse([{"simpleText": {"text": "raw dicts are not components"}}])
    with pytest.raises(LimitError):
        SkillResponse([SimpleText("a")], [Button.message("a")])
    with pytest.raises(LimitError, match="data"):
        SkillResponse([SimpleText("a")], data={"nan": float("nan")})
    ctx = ContextControl([ContextValue("signup", 3, ttl=600, params={"step": 2, "ok": True}), ContextValue("old", 0)])
    full = SkillResponse([SimpleText("a")], [QuickReply.message("b")], ctx, {"name": "홍길동"}).to_dict()
    assert full == {
        "version": "2.0",
        "template": {"outputs": [{"simpleText": {"text": "a"}}],
                     "quickReplies": [{"label": "b", "action": "message", "messageText": "b"}]},
        "context": {"values": [{"name": "signup", "lifeSpan": 3, "ttl": 600, "params": {"step": "2", "ok": "true"}},
                               {"name": "old", "lifeSpan": 0}]},
        "data": {"name": "홍길동"},
    }
    assert validate_response(full) == []
    assert SkillResponse([SimpleText("a")]).to_dict() == {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "a"}}]}}
    for bad in (dict(name="x", life_span=-1), dict(name="", life_span=1), dict(name="x", life_span=1.5),
                dict(name="x", life_span=1, params={1: "a"})):
        with pytest.raises(LimitError):
            ContextValue(**bad)


def test_components_are_immutable():
    card = TextCard("t", buttons=[_bt()])
    assert isinstance(card.buttons, tuple)
    with pytest.raises(AttributeError):
        card.title = "x"  # type: ignore[misc]


def test_blank_and_non_string_text_refused():
    for bad in ("", "   ", None, 5, "\ud800"):
        with pytest.raises(LimitError):
            SimpleText(bad)  # type: ignore[arg-type]
    for bad in ("http//x", "ftp://x.org/a", "/relative.png", "https://x y"):
        with pytest.raises(LimitError, match="URL"):
            SimpleImage(bad)


@pytest.mark.parametrize(
    "text, limit, expected",
    [
        ("짧아요", 10, "짧아요"),
        ("가나다라마바사", 5, "가나다라…"),
        ("abc def", 5, "abc…"),
        ("abcdef", 1, "…"),
        ("ab👍🏽cd", 5, "ab…"),  # never strands a skin-tone modifier
        ("a😀bc", 3, "a…"),  # the emoji counts 2
        ("e\u0301e\u0301e\u0301", 4, "e\u0301…"),  # no split before a combining accent
    ],
)
def test_fit_text(text, limit, expected):
    assert fit_text(text, limit) == expected
    assert limits.text_length(fit_text(text, limit)) <= limit


def test_fit_text_makes_builders_accept_dynamic_text():
    long = "여름철 냉방 1도 올리기 캠페인 " * 100
    SimpleText(fit_text(long, limits.SIMPLE_TEXT_MAX))
    with pytest.raises(ValueError):
        fit_text("a", 0)
