"""validate_response on hand-written dicts (independent of the builders): every rule, every limit."""

from __future__ import annotations

import copy

import pytest
from kakao_testdata import doc_example_responses, load_fixture

from bot.kakao import limits
from bot.kakao.validate import validate_response

IMG = "https://example.org/img.png"
THUMB = {"imageUrl": IMG}


def resp(*outputs: dict, quick_replies: list | None = None, **top) -> dict:
    template: dict = {"outputs": list(outputs)}
    if quick_replies is not None:
        template["quickReplies"] = quick_replies
    return {"version": "2.0", "template": template, **top}


def text(t: str = "안내") -> dict:
    return {"simpleText": {"text": t}}


def btn(label: str = "확인") -> dict:
    return {"label": label, "action": "message", "messageText": label}


def item_card(**kw) -> dict:
    return {"itemList": [{"title": "전기", "description": "5,000P"}], **kw}


def carousel(kind: str, items: list, **kw) -> dict:
    return {"carousel": {"type": kind, "items": items, **kw}}


def lines(n: int) -> str:
    return "\n".join(["줄"] * n)


def sized(n: int) -> dict:
    base = resp(text("a"), data={"pad": ""})
    return resp(text("a"), data={"pad": "a" * (n - limits.response_bytes(base))})


LIMITS = {
    "simpleText.text": ("SIMPLE_TEXT_MAX", lambda n: resp(text("가" * n))),
    "simpleImage.altText": ("ALT_TEXT_MAX", lambda n: resp({"simpleImage": {"imageUrl": IMG, "altText": "a" * n}})),
    "thumbnail.altText": (
        "ALT_TEXT_MAX", lambda n: resp({"basicCard": {"thumbnail": {"imageUrl": IMG, "altText": "a" * n}}})),
    "textCard.title": ("TEXT_CARD_TITLE_MAX", lambda n: resp({"textCard": {"title": "가" * n}})),
    "textCard.description": ("TEXT_CARD_DESCRIPTION_MAX", lambda n: resp({"textCard": {"description": "가" * n}})),
    "carousel textCard.description": (
        "TEXT_CARD_DESCRIPTION_CAROUSEL_MAX", lambda n: resp(carousel("textCard", [{"description": "가" * n}]))),
    "basicCard.title": ("BASIC_CARD_TITLE_MAX", lambda n: resp({"basicCard": {"thumbnail": THUMB, "title": "가" * n}})),
    "basicCard.description": (
        "BASIC_CARD_DESCRIPTION_MAX", lambda n: resp({"basicCard": {"thumbnail": THUMB, "description": "가" * n}})),
    "commerceCard.title": (
        "COMMERCE_CARD_TITLE_MAX",
        lambda n: resp({"commerceCard": {"price": 1, "thumbnails": [THUMB], "title": "가" * n}})),
    "commerceCard.description": (
        "COMMERCE_CARD_DESCRIPTION_MAX",
        lambda n: resp({"commerceCard": {"price": 1, "thumbnails": [THUMB], "description": "가" * n}})),
    "listCard.items": (
        "LIST_CARD_ITEMS_MAX", lambda n: resp({"listCard": {"header": {"title": "h"}, "items": [{"title": "a"}] * n}})),
    "carousel listCard.items": (
        "LIST_CARD_ITEMS_CAROUSEL_MAX",
        lambda n: resp(carousel("listCard", [{"header": {"title": "h"}, "items": [{"title": "a"}] * n}]))),
    "itemCard.itemList": (
        "ITEM_CARD_ITEMS_MAX", lambda n: resp({"itemCard": {"itemList": [{"title": "a", "description": "b"}] * n}})),
    "carousel itemCard.itemList": (
        "ITEM_CARD_ITEMS_CAROUSEL_MAX",
        lambda n: resp(carousel("itemCard", [{"itemList": [{"title": "a", "description": "b"}] * n}]))),
    "itemList.title": (
        "ITEM_TITLE_MAX", lambda n: resp({"itemCard": {"itemList": [{"title": "가" * n, "description": "b"}]}})),
    "itemList.description lines": (
        "ITEM_DESCRIPTION_LINES_MAX",
        lambda n: resp({"itemCard": {"itemList": [{"title": "a", "description": lines(n)}]}})),
    "itemCard.profile.title": (
        "ITEM_PROFILE_TITLE_MAX", lambda n: resp({"itemCard": item_card(profile={"title": "가" * n})})),
    "itemListSummary.title": (
        "ITEM_SUMMARY_TITLE_MAX",
        lambda n: resp({"itemCard": item_card(itemListSummary={"title": "가" * n, "description": "1원"})})),
    "itemListSummary.description": (
        "ITEM_SUMMARY_DESCRIPTION_MAX",
        lambda n: resp({"itemCard": item_card(itemListSummary={"title": "합계", "description": "1" * n})})),
    "imageTitle.title lines": (
        "IMAGE_TITLE_TITLE_LINES_MAX", lambda n: resp({"itemCard": item_card(imageTitle={"title": lines(n)})})),
    "imageTitle.description lines": (
        "IMAGE_TITLE_DESCRIPTION_LINES_MAX",
        lambda n: resp({"itemCard": item_card(imageTitle={"title": "t", "description": lines(n)})})),
    "itemCard.title+description": (
        "ITEM_CARD_TEXT_MAX", lambda n: resp({"itemCard": item_card(title="가", description="나" * (n - 1))})),
    "itemCard.title+description lines": (
        "ITEM_CARD_TEXT_LINES_MAX", lambda n: resp({"itemCard": item_card(title="t", description=lines(n - 1))})),
    "carousel itemCard.title+description": (
        "ITEM_CARD_TEXT_CAROUSEL_MAX", lambda n: resp(carousel("itemCard", [item_card(title="가" * n)]))),
    "carousel.items": (
        "CAROUSEL_ITEMS_MAX", lambda n: resp(carousel("basicCard", [{"thumbnail": THUMB, "title": "t"}] * n))),
    "carousel listCard count": (
        "CAROUSEL_LIST_CARD_ITEMS_MAX",
        lambda n: resp(carousel("listCard", [{"header": {"title": "h"}, "items": [{"title": "a"}]}] * n))),
    "carousel.header.title lines": (
        "CAROUSEL_HEADER_TITLE_LINES_MAX",
        lambda n: resp(carousel("basicCard", [{"thumbnail": THUMB}], header={"title": lines(n)}))),
    "carousel.header.description lines": (
        "CAROUSEL_HEADER_DESCRIPTION_LINES_MAX",
        lambda n: resp(carousel("basicCard", [{"thumbnail": THUMB}], header={"title": "t", "description": lines(n)}))),
    "button.label": ("BUTTON_LABEL_MAX", lambda n: resp({"textCard": {"title": "t", "buttons": [btn("가" * n)]}})),
    "button.label side by side": (
        "BUTTON_LABEL_SIDE_BY_SIDE_MAX",
        lambda n: resp({"textCard": {"title": "t", "buttons": [btn("가" * n), btn()], "buttonLayout": "horizontal"}})),
    "buttons vertical": ("BUTTONS_VERTICAL_MAX", lambda n: resp({"textCard": {"title": "t", "buttons": [btn()] * n}})),
    "buttons horizontal": (
        "BUTTONS_HORIZONTAL_MAX",
        lambda n: resp({"textCard": {"title": "t", "buttons": [btn()] * n, "buttonLayout": "horizontal"}})),
    "buttons fixedRatio horizontal": (
        "BUTTONS_HORIZONTAL_MAX",
        lambda n: resp({"basicCard": {"thumbnail": {"imageUrl": IMG, "fixedRatio": True}, "buttons": [btn()] * n}})),
    "quickReplies.label": ("QUICK_REPLY_LABEL_MAX", lambda n: resp(text(), quick_replies=[btn("가" * n)])),
    "template.quickReplies": ("QUICK_REPLIES_MAX", lambda n: resp(text(), quick_replies=[btn()] * n)),
    "template.outputs": ("OUTPUTS_MAX", lambda n: resp(*[text()] * n)),
    "response bytes": ("RESPONSE_MAX_BYTES", sized),
}


@pytest.mark.parametrize("case", sorted(LIMITS))
def test_each_limit(case):
    limit_name, make = LIMITS[case]
    most = getattr(limits, limit_name)
    assert validate_response(make(most)) == []
    problems = validate_response(make(most + 1))
    assert problems and any(limit_name in p for p in problems), problems


def test_layout_wins_over_fixed_ratio():
    card = {"thumbnail": {"imageUrl": IMG, "fixedRatio": True}, "buttons": [btn()] * 3, "buttonLayout": "vertical"}
    assert validate_response(resp({"basicCard": card})) == []


def test_quick_reply_label_limit_follows_the_setting(monkeypatch):
    monkeypatch.setattr(limits, "QUICK_REPLY_LABEL_MAX", 4)
    assert validate_response(resp(text(), quick_replies=[btn("가나다라")])) == []
    assert validate_response(resp(text(), quick_replies=[btn("가나다라마")]))


def test_accepts_doc_examples():
    for example in doc_example_responses():
        assert validate_response(example) == []


def test_public_03_callback_body():
    # Choice: `data: null` is read as absent (an unset optional field), so it is not a problem; and
    # `useCallback` is a documented boolean field. The body is otherwise a normal v2.0 reply.
    body = load_fixture("public/03_callback_post_body_chat-jeju.json")
    assert validate_response(body) == []
    acknowledgement = {"version": "2.0", "useCallback": True, "data": {"text": "잠시만 기다려 주세요"}}
    assert validate_response(acknowledgement) == []


def _problems(obj) -> str:
    return "\n".join(validate_response(obj))


# (what, response, text expected in a problem)
RULES = [
    ("no version", {"template": {"outputs": [text()]}}, "version: must be '2.0'"),
    ("old version", {"version": "1.0", "template": {"outputs": [text()]}}, "version"),
    ("numeric version", {"version": 2.0, "template": {"outputs": [text()]}}, "version"),
    ("no template", {"version": "2.0"}, "template: required"),
    ("template null", {"version": "2.0", "template": None}, "template: required"),
    ("no outputs", {"version": "2.0", "template": {}}, "template.outputs: required"),
    ("empty outputs", resp(), "at least 1"),
    ("outputs not a list", {"version": "2.0", "template": {"outputs": text()}}, "must be an array"),
    ("two components in one output", resp({**text(), "simpleImage": {"imageUrl": IMG}}), "exactly one component"),
    ("unknown component", resp({"video": {"url": IMG}}), "unknown component type 'video'"),
    ("unknown top-level key", {**resp(text()), "templates": {}}, "unknown field 'templates'"),
    ("unknown field", resp({"simpleText": {"text": "a", "txt": "b"}}), "unknown field 'txt'"),
    ("text not a string", resp({"simpleText": {"text": 5}}), "must be a string"),
    ("blank text", resp({"simpleText": {"text": "  "}}), "blank"),
    ("lone surrogate", resp({"simpleText": {"text": "a\ud800"}}), "surrogate"),
    ("simpleImage without url", resp({"simpleImage": {"altText": "a"}}), "imageUrl: required"),
    ("relative url", resp({"simpleImage": {"imageUrl": "/img.png"}}), "http(s) URL"),
    ("textCard empty", resp({"textCard": {"buttons": [btn()]}}), "title or a description"),
    ("basicCard without thumbnail", resp({"basicCard": {"title": "t"}}), "thumbnail: required"),
    ("profile without nickname", resp({"basicCard": {"thumbnail": THUMB, "profile": {"imageUrl": IMG}}}), "nickname"),
    ("commerce no price", resp({"commerceCard": {"thumbnails": [THUMB]}}), "price: required"),
    ("commerce float price", resp({"commerceCard": {"price": 1000.0, "thumbnails": [THUMB]}}), "price: must be an integer"),
    ("commerce string price", resp({"commerceCard": {"price": "1000", "thumbnails": [THUMB]}}), "price"),
    ("commerce bool price", resp({"commerceCard": {"price": True, "thumbnails": [THUMB]}}), "price"),
    ("commerce no thumbnail", resp({"commerceCard": {"price": 1, "thumbnails": []}}), "exactly 1"),
    ("commerce two thumbnails", resp({"commerceCard": {"price": 1, "thumbnails": [THUMB, THUMB]}}), "exactly 1"),
    ("commerce currency", resp({"commerceCard": {"price": 1, "thumbnails": [THUMB], "currency": "usd"}}), "currency"),
    ("commerce rate", resp({"commerceCard": {"price": 1, "thumbnails": [THUMB], "discountRate": 120}}), "discountRate"),
    ("listCard no header", resp({"listCard": {"items": [{"title": "a"}]}}), "header: required"),
    ("listCard no items", resp({"listCard": {"header": {"title": "h"}, "items": []}}), "at least 1"),
    ("list item block w/o id", resp({"listCard": {"header": {"title": "h"}, "items": [{"title": "a", "action": "block"}]}}),
     "blockId: required"),
    ("list item phone", resp({"listCard": {"header": {"title": "h"}, "items": [{"title": "a", "action": "phone"}]}}),
     "not one of"),
    ("list item extra without action",
     resp({"listCard": {"header": {"title": "h"}, "items": [{"title": "a", "extra": {"k": 1}}]}}), "needs an action"),
    ("item without description", resp({"itemCard": {"itemList": [{"title": "a"}]}}), "description: required"),
    ("itemCard empty list", resp({"itemCard": {"itemList": []}}), "at least 1"),
    ("head and profile", resp({"itemCard": item_card(head={"title": "h"}, profile={"title": "p"})}), "exclusive"),
    ("description without title", resp({"itemCard": item_card(description="d")}), "needs a title"),
    ("summary words", resp({"itemCard": item_card(itemListSummary={"title": "합계", "description": "약 만원"})}),
     "currency symbol"),
    ("summary decimals", resp({"itemCard": item_card(itemListSummary={"title": "합계", "description": "1.234원"})}),
     "decimals"),
    ("alignment", resp({"itemCard": item_card(itemListAlignment="center")}), "itemListAlignment"),
    ("item thumbnail ratio", resp({"itemCard": item_card(thumbnail={"imageUrl": IMG, "width": 800, "height": 600})}),
     "ratio 4:3"),
    ("item thumbnail width only", resp({"itemCard": item_card(thumbnail={"imageUrl": IMG, "width": 800})}), "both"),
    ("carousel item thumbnail 1:1",
     resp(carousel("itemCard", [item_card(thumbnail={"imageUrl": IMG, "width": 800, "height": 800})])), "ratio 1:1"),
    ("carousel unknown type", resp(carousel("simpleText", [{"text": "a"}])), "type: 'simpleText' not one of"),
    ("carousel no items", resp(carousel("basicCard", [])), "at least 1"),
    ("carousel mixed ratios",
     resp(carousel("basicCard", [{"thumbnail": THUMB}, {"thumbnail": {"imageUrl": IMG, "fixedRatio": True}}])),
     "one image ratio"),
    ("carousel mixed commerce ratios",
     resp(carousel("commerceCard", [{"price": 1, "thumbnails": [THUMB]},
                                    {"price": 1, "thumbnails": [{"imageUrl": IMG, "fixedRatio": True}]}])),
     "one image ratio"),
    ("carousel item of the wrong type", resp(carousel("basicCard", [{"title": "no thumbnail"}])), "thumbnail: required"),
    ("textCard carousel header", resp(carousel("textCard", [{"title": "t"}], header={"title": "h"})), "not allowed"),
    ("listCard carousel header",
     resp(carousel("listCard", [{"header": {"title": "h"}, "items": [{"title": "a"}]}], header={"title": "h"})),
     "not allowed"),
    ("itemCard carousel head on some", resp(carousel("itemCard", [item_card(head={"title": "h"}), item_card()])),
     "every card or none"),
    ("button block w/o id", resp({"textCard": {"title": "t", "buttons": [{"label": "a", "action": "block"}]}}),
     "blockId: required for action 'block'"),
    ("button webLink w/o url", resp({"textCard": {"title": "t", "buttons": [{"label": "a", "action": "webLink"}]}}),
     "webLinkUrl: required"),
    ("button phone w/o number", resp({"textCard": {"title": "t", "buttons": [{"label": "a", "action": "phone"}]}}),
     "phoneNumber: required"),
    ("button message w/o text", resp({"textCard": {"title": "t", "buttons": [{"label": "a", "action": "message"}]}}),
     "messageText: required"),
    ("button unknown action", resp({"textCard": {"title": "t", "buttons": [{"label": "a", "action": "osLink"}]}}),
     "not one of"),
    ("button field of another action",
     resp({"textCard": {"title": "t", "buttons": [{"label": "a", "action": "share", "blockId": "b"}]}}),
     "not used by action 'share'"),
    ("button snake_case key",
     resp({"textCard": {"title": "t", "buttons": [{"label": "a", "action": "block", "block_id": "b"}]}}),
     "unknown field 'block_id'"),
    ("button without label", resp({"textCard": {"title": "t", "buttons": [{"action": "share"}]}}), "label: required"),
    ("button extra not a map",
     resp({"textCard": {"title": "t", "buttons": [{**btn(), "extra": ["x"]}]}}), "extra: must be an object"),
    ("layout", resp({"textCard": {"title": "t", "buttonLayout": "grid"}}), "buttonLayout"),
    ("forwardable", resp({"textCard": {"title": "t", "forwardable": "yes"}}), "forwardable"),
    ("quick reply block w/o id", resp(text(), quick_replies=[{"label": "a", "action": "block"}]), "blockId: required"),
    ("quick reply message w/o text", resp(text(), quick_replies=[{"label": "a", "action": "message"}]),
     "messageText: required"),
    ("quick reply webLink", resp(text(), quick_replies=[{"label": "a", "action": "webLink"}]), "not one of"),
    ("quick reply not an object", resp(text(), quick_replies=["처음으로"]), "must be an object"),
    ("context value w/o lifeSpan", resp(text(), context={"values": [{"name": "signup"}]}), "lifeSpan: required"),
    ("context negative lifeSpan", resp(text(), context={"values": [{"name": "s", "lifeSpan": -1}]}), "must be >= 0"),
    ("context param not a string",
     resp(text(), context={"values": [{"name": "s", "lifeSpan": 1, "params": {"step": 2}}]}), "must be a string"),
    ("data not a map", resp(text(), data=["a"]), "data: must be an object"),
    ("useCallback not bool", resp(text(), useCallback="true"), "useCallback"),
    ("NaN", resp(text(), data={"x": float("nan")}), "not serialisable"),
    ("link empty", resp({"basicCard": {"thumbnail": {"imageUrl": IMG, "link": {}}}}), "at least one of"),
]


@pytest.mark.parametrize("what, response, expected", RULES, ids=[r[0] for r in RULES])
def test_each_rule(what, response, expected):
    assert expected in _problems(response)


def test_valid_rich_response_passes():
    rich = resp(
        {"basicCard": {"title": "t", "description": "d", "thumbnail": {"imageUrl": IMG, "altText": "a", "fixedRatio": True,
                                                                        "link": {"web": IMG}},
                       "profile": {"nickname": "n", "imageUrl": IMG}, "buttons": [btn("공유"), btn("열기")],
                       "forwardable": True}},
        {"itemCard": {"thumbnail": {"imageUrl": IMG, "width": 800, "height": 800}, "profile": {"title": "프로필", "imageUrl": IMG},
                      "imageTitle": {"title": "제목\n둘째 줄", "description": "설명", "imageUrl": IMG},
                      "itemList": [{"title": "전기", "description": "감축\n5,000P"}], "itemListAlignment": "left",
                      "itemListSummary": {"title": "합계", "description": "$4,032.54"}, "title": "t", "description": "d",
                      "buttons": [{"label": "전화", "action": "phone", "phoneNumber": "1661-2030"}]}},
        carousel("commerceCard", [{"price": 1, "currency": "won", "discountedPrice": 0, "thumbnails": [THUMB],
                                   "profile": {"nickname": "n"}}],
                 header={"title": "h", "description": "d", "thumbnail": THUMB}),
        quick_replies=[{"label": "a", "action": "block", "blockId": "b", "messageText": "m", "extra": {"k": [1]}}],
        context={"values": [{"name": "s", "lifeSpan": 0, "ttl": 60, "params": {"a": "b"}}]},
        data={"k": {"nested": True}},
    )
    assert validate_response(rich) == []


def test_optional_nulls_are_absent():
    body = resp({"simpleImage": {"imageUrl": IMG, "altText": None}}, quick_replies=None, context=None, data=None)
    assert validate_response(body) == []
    assert "text: required" in _problems(resp({"simpleText": {"text": None}}))


def test_problems_point_at_the_path():
    body = resp(text(), carousel("basicCard", [{"thumbnail": THUMB}, {"thumbnail": THUMB, "title": "가" * 51}]))
    assert validate_response(body) == [
        "template.outputs[1].carousel.items[1].title: 51 characters, limit 50 (BASIC_CARD_TITLE_MAX)"]


def test_input_is_not_modified():
    body = resp(carousel("itemCard", [item_card(head={"title": "h"}), item_card()]))
    before = copy.deepcopy(body)
    validate_response(body)
    assert body == before


@pytest.mark.parametrize("junk", [None, 0, "2.0", [], [resp(text())], {"version": "2.0", "template": []},
                                  {1: 2}, {"version": "2.0", "template": {"outputs": [None, 1, [], {"carousel": []}]}}])
def test_junk_gives_problems_not_exceptions(junk):
    problems = validate_response(junk)
    assert problems and not any("internal error" in p for p in problems)
