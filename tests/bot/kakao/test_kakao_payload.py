"""parse_turn on every fixture, legacy spellings, missing fields and sys-entity params."""

from __future__ import annotations

import copy
import json

import pytest
from kakao_testdata import FIXTURES, doc_example_requests, load_fixture

from bot.kakao.payload import PayloadError, Turn, origin, parse_turn, sys_param

NOT_REQUESTS = {"03_callback_post_body_chat-jeju.json", "08_action_detailParams_fragment_official_doc.json"}
REQUEST_FILES = sorted(
    str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.json") if p.name not in NOT_REQUESTS
)
OUR_BOT = "660c83a8ad9bb98ef71a0bd6"
U1 = "974d0044d68ac987994f28b902cff0079fa5064cc62908f1bd5"
U2 = "a1b31d3ae2abcb27a9cec0a44417c85fde01456c1a3bbb78c9a"
U3 = "d8bbb2f87827ad0c378a9651d2d65e9a5e800cfa31f8bf0f818"


def test_fixture_inventory():
    # Guards the parametrisation below against a moved or renamed fixture folder.
    assert len(REQUEST_FILES) == 26
    assert "public/07_request_minimal_dubaicrab.json" in REQUEST_FILES


@pytest.mark.parametrize("name", REQUEST_FILES)
def test_every_request_fixture_parses(name):
    payload = load_fixture(name)
    turn = parse_turn(payload, "help")
    user = payload["userRequest"]["user"]
    props = user.get("properties") or {}
    expected_key = props.get("botUserKey") or props.get("bot_user_key") or user["id"]
    assert turn.user_key == expected_key
    assert turn.skill == "help"
    assert turn.raw is payload
    assert isinstance(turn.utterance, str)
    assert isinstance(turn.client_extra, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in turn.params.items())
    assert turn.is_dev_channel == turn.bot_id.endswith("!")
    hash(turn)  # frozen and hashable on its scalar fields


@pytest.mark.parametrize(
    "name", ["public/03_callback_post_body_chat-jeju.json", "public/08_action_detailParams_fragment_official_doc.json"]
)
def test_non_requests_are_refused(name):
    with pytest.raises(PayloadError) as err:
        parse_turn(load_fixture(name), "fallback")
    assert "userRequest" in err.value.reason


def test_full_fixture_values():
    turn = parse_turn(load_fixture("signup_billing_mode.json"), "signup")
    assert turn == Turn(
        skill="signup",
        user_key=U1,
        user_type="botUserKey",
        bot_id=OUR_BOT,
        bot_name="탄소중립포인트 도우미",
        utterance="개별납부",
        client_extra={"dialog": "signup", "step": "billing_mode", "resource": "electricity", "value": "separate"},
        params={},
        detail_params={},
        action_name="signup",
        action_id="66d0747f7f6f96e24b9b3dda",
        block_id="66572e2d8a9d914667314829",
        block_name="회원가입",
        intent_id="66572e2d8a9d914667314829",
        intent_name="회원가입",
        trigger_type="QUICKREPLY_BUTTON_BLOCK",
        plusfriend_user_key="0LqhhXz6qaC3",
        app_user_id=None,
        is_friend=True,
        lang="ko",
        timezone="Asia/Seoul",
        surface="Kakaotalk.plusfriend",
        is_dev_channel=False,
        knowledge=[],
    )


def test_legacy_snake_case_gives_same_user_as_camel_case():
    legacy = load_fixture("legacy_snake_case_keys.json")
    camel = copy.deepcopy(legacy)
    props = camel["userRequest"]["user"]["properties"]
    props["botUserKey"] = props.pop("bot_user_key")
    props["plusfriendUserKey"] = props.pop("plusfriend_user_key")
    a, b = parse_turn(legacy, "balance"), parse_turn(camel, "balance")
    assert a.user_key == b.user_key == U3
    assert a.plusfriend_user_key == b.plusfriend_user_key == "nYPe0bczTRAz"
    assert a.lang == "kr" and a.trigger_type is None and a.client_extra == {}
    assert a.is_friend is False


def test_user_key_precedence():
    def turn(props, user_id="from-user-id"):
        return parse_turn({"userRequest": {"user": {"id": user_id, "properties": props}}}, "x")

    assert turn({"botUserKey": "camel", "bot_user_key": "snake"}).user_key == "camel"
    assert turn({"bot_user_key": "snake"}).user_key == "snake"
    assert turn({"botUserKey": "", "bot_user_key": "snake"}).user_key == "snake"
    assert turn({}).user_key == "from-user-id"
    assert turn({"botUserKey": 123}).user_key == "from-user-id"
    assert turn({"botUserKey": "camel"}, user_id=None).user_key == "camel"


def test_public_07_minimal_without_type_intent_action():
    turn = parse_turn(load_fixture("public/07_request_minimal_dubaicrab.json"), "help")
    assert turn.user_key == "unique-user-key"  # properties.botUserKey wins over user.id
    assert turn.user_type is None
    assert turn.intent_id is turn.intent_name is turn.action_name is None
    assert turn.utterance == "사용자 메시지"
    assert turn.client_extra == {} and turn.params == {} and turn.detail_params == {}


def test_minimal_fixture():
    turn = parse_turn(load_fixture("minimal_missing_optional.json"), "help")
    assert turn.user_key == "47e74ba58772e02d185d1321575c9a5633bfce685b2f6d10e3a"
    assert (turn.bot_id, turn.bot_name, turn.lang, turn.timezone, turn.surface) == (OUR_BOT, None, None, None, None)
    assert turn.is_friend is False and turn.is_dev_channel is False


def test_dev_channel_flagged():
    turn = parse_turn(load_fixture("dev_channel_balance.json"), "balance")
    assert turn.is_dev_channel and turn.bot_id == OUR_BOT + "!"
    assert parse_turn(load_fixture("public/01_request_callback_fixture_liam-kor.json"), "x").is_dev_channel
    operating = parse_turn(load_fixture("balance_lookup.json"), "balance")
    assert not operating.is_dev_channel and operating.user_key == U2


def test_null_client_extra_is_empty_dict():
    payload = load_fixture("signup_address.json")
    assert payload["action"]["clientExtra"] is None
    assert parse_turn(payload, "fallback").client_extra == {}


def test_welcome_is_friend_absent_and_empty_utterance():
    turn = parse_turn(load_fixture("welcome.json"), "welcome")
    assert turn.utterance == "" and turn.is_friend is False and turn.user_key == U1


def test_app_user_and_friend():
    turn = parse_turn(load_fixture("greenlife_app_user_friend.json"), "greenlife")
    assert turn.app_user_id == "2718281828" and turn.is_friend is True


def test_customer_number_stays_a_string():
    turn = parse_turn(load_fixture("signup_customer_number_valid.json"), "fallback")
    assert turn.utterance == "0419283746"


def test_public_01_legacy_and_camel_together():
    turn = parse_turn(load_fixture("public/01_request_callback_fixture_liam-kor.json"), "fallback")
    assert turn.user_key == "226f81aef15e8f5890425bbeaa5978d54dfc98fadcaa076ed1f"
    assert turn.plusfriend_user_key == "aaaaaaaa" and turn.app_user_id == "1234567" and turn.is_friend
    assert turn.params == {"skillIntentCode": "testIntent"}
    assert turn.detail_params == {"intent_code": {"origin": "test_intent", "value": "test_intent", "groupName": ""}}
    assert origin(turn, "intent_code") == "test_intent"


def test_public_02_and_04_account_id():
    for name in ("public/02_request_with_callbackUrl_chat-jeju.json", "public/04_request_legacy_accountId_chat-jeju.json"):
        turn = parse_turn(load_fixture(name), "fallback")
        assert (turn.user_key, turn.user_type, turn.lang) == ("945412", "accountId", None)
        assert turn.surface is None and turn.client_extra == {}


def test_public_05_doc_placeholders():
    turn = parse_turn(load_fixture("public/05_request_doc_example_dev-helper.json"), "x")
    assert turn.user_key == "<사용자 botUserKey>"
    assert turn.plusfriend_user_key == "<카카오톡 채널 사용자 id>" and turn.lang == "kr"


def test_public_06_knowledge():
    turn = parse_turn(load_fixture("public/06_request_knowledge_plus_official_doc.json"), "x")
    assert turn.intent_name == "지식+" and turn.surface == "BuilderBotTest"
    assert len(turn.knowledge) == 1 and turn.knowledge[0]["question"] == "<질문>"


def _with_action(action: dict) -> dict:
    return {"userRequest": {"user": {"id": "u1", "type": "botUserKey"}}, "action": action}


def test_public_08_sys_params():
    turn = parse_turn(_with_action(load_fixture("public/08_action_detailParams_fragment_official_doc.json")["action"]), "x")
    assert sys_param(turn, "sys_number") == {"amount": 1, "unit": None}
    assert sys_param(turn, "sys_date")["date"] == "2023-03-31"
    assert sys_param(turn, "sys_location") == "강남"
    assert sys_param(turn, "missing") is None
    assert origin(turn, "sys_number") == "1"
    assert origin(turn, "sys_date") == "금요일"
    assert origin(turn, "missing") is None


def test_sys_param_keeps_plain_numbers_as_strings():
    turn = parse_turn(_with_action({"params": {"n": "0419283746", "t": "true", "bad": "{oops"}}), "x")
    assert sys_param(turn, "n") == "0419283746"
    assert sys_param(turn, "t") == "true"
    assert sys_param(turn, "bad") == "{oops"


def test_sys_param_falls_back_to_detail_value():
    turn = parse_turn(_with_action({"detailParams": {"sys_number": {"origin": "2", "value": '{"amount": 2}'}}}), "x")
    assert sys_param(turn, "sys_number") == {"amount": 2}
    assert turn.detail_params["sys_number"]["groupName"] == ""


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "{}",
        {},
        {"userRequest": None},
        {"userRequest": []},
        {"userRequest": {}},
        {"userRequest": {"user": None}},
        {"userRequest": {"user": {"id": ""}}},
        {"userRequest": {"user": {"id": "   "}}},
        {"userRequest": {"user": {"id": 974}}},
        {"userRequest": {"user": {"id": None, "properties": {"botUserKey": None}}}},
        {"userRequest": {"user": {"properties": "botUserKey"}}},
    ],
)
def test_unusable_payloads_raise(payload):
    with pytest.raises(PayloadError):
        parse_turn(payload, "x")


def test_wrong_types_are_coerced_or_dropped():
    payload = {
        "bot": "not a dict",
        "intent": {"id": 7, "name": ["x"], "extra": {"knowledge": {"matchedKnowledges": [1, {"q": 1}]}}},
        "userRequest": {
            "user": {"id": "u", "type": 3, "properties": {"isFriend": "true", "appUserId": 2718281828,
                                                          "plusfriendUserKey": 5}},
            "utterance": None, "lang": 1, "timezone": {}, "block": [], "params": {"surface": None},
        },
        "action": {"clientExtra": ["a"], "params": {"a": 1, "b": None, "c": {"x": "가"}, 4: "d"},
                   "detailParams": {"p": "str", "q": {"origin": 10}}},
        "flow": {"trigger": "TEXT_INPUT"},
    }
    turn = parse_turn(payload, "x")
    assert turn.bot_id is None and turn.is_dev_channel is False
    assert turn.intent_id == "7" and turn.intent_name is None
    assert turn.knowledge == [{"q": 1}]
    assert turn.user_type == "3" and turn.is_friend is False  # only boolean true counts
    assert turn.app_user_id == "2718281828" and turn.plusfriend_user_key is None
    assert turn.utterance == "" and turn.lang == "1" and turn.timezone is None and turn.block_id is None
    assert turn.client_extra == {}
    assert turn.params == {"a": "1", "c": json.dumps({"x": "가"}, ensure_ascii=False)}
    assert turn.detail_params == {"q": {"origin": "10", "value": "", "groupName": ""}}
    assert turn.trigger_type is None


def test_unknown_trigger_and_lang_accepted():
    payload = _with_action({})
    payload["flow"] = {"trigger": {"type": "IMAGE_UPLOAD"}}
    payload["userRequest"]["lang"] = "en-US"
    turn = parse_turn(payload, "x")
    assert turn.trigger_type == "IMAGE_UPLOAD" and turn.lang == "en-US"


def test_turn_dicts_are_copies():
    payload = load_fixture("signup_member_type.json")
    turn = parse_turn(payload, "signup")
    turn.client_extra["step"] = "changed"
    assert payload["action"]["clientExtra"]["step"] == "member_type"


def test_protocol_doc_example_requests():
    first, partial, campaign, legacy = doc_example_requests()
    assert parse_turn(first, "fallback").user_key == U1
    with pytest.raises(PayloadError):
        parse_turn(partial, "signup")  # a diff fragment: no user
    c = parse_turn(campaign, "campaigns")
    assert c.is_dev_channel and c.client_extra["campaign_id"] == "cmp-2025-summer-cooling"
    assert c.trigger_type == "CARD_BUTTON_BLOCK"
    assert parse_turn(legacy, "balance").user_key == U3


@pytest.mark.parametrize("typed,read", [
    ("홍\u200b길동", "홍길동"), ("\ufeff010-1234-5678", "010-1234-5678"), ("홍길동\u200e", "홍길동"),
    ("\u202e동길홍", "동길홍"), ("신한\u00ad은행", "신한은행"), ("a\x00b", "ab"),
    ("두 줄\n입니다\t탭", "두 줄\n입니다\t탭"), ("👨\u200d👩\u200d👧", "👨👩👧"),
])
def test_invisible_characters_of_a_copied_text_are_dropped(typed, read):
    payload = copy.deepcopy(load_fixture("public/07_request_minimal_dubaicrab.json"))
    payload["userRequest"]["utterance"] = typed
    assert parse_turn(payload, "fallback").utterance == read
