"""The chat emulator: off by default, real SkillPayloads to the server's own skills, demo users only."""
from __future__ import annotations

import pytest

from bot.kakao.validate import validate_response
from core.clock import utcnow_naive
from core.models import Member, Notification
from support import SECRET, make_config


@pytest.fixture
def emu(db, clock):
    from webhooks import create_app

    cfg = make_config(database_url=db.url, emulator_enabled=True,
                      kakao_block_ids={"signup": "blk-signup-1", "help": "blk-help-1"})
    app = create_app(cfg, clock=clock, db=db)
    app.config["TESTING"] = True
    return app.test_client()


def send(client, **body):
    body.setdefault("user", "demo-visitor")
    return client.post("/emulator/api/send", json=body)


def test_emulator_is_off_unless_enabled(client):
    assert client.get("/emulator").status_code == 404
    assert client.post("/emulator/api/send", json={"user": "demo-visitor", "source": "text", "text": "안녕"}).status_code == 404
    assert client.get("/emulator/api/pushes?user=demo-visitor").status_code == 404


def test_page_lists_demo_citizens_and_never_shows_the_secret(emu):
    resp = emu.get("/emulator")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "demo-citizen-01" in html and "채팅 에뮬레이터" in html
    assert SECRET not in html
    assert emu.get("/static/emulator.js").status_code == 200


def test_welcome_and_free_text(emu):
    r = send(emu, source="welcome").get_json()
    assert r["skill"] == "welcome" and r["status"] == 200
    assert validate_response(r["response"]) == []
    assert r["request"]["userRequest"]["user"]["properties"]["botUserKey"] == "demo-visitor"

    r = send(emu, source="text", text="아무 말이나 해 볼게요").get_json()
    assert r["skill"] == "fallback" and r["status"] == 200
    assert r["request"]["userRequest"]["utterance"] == "아무 말이나 해 볼게요"
    assert r["request"]["flow"]["trigger"]["type"] == "TEXT_INPUT"
    assert r["request"]["action"]["clientExtra"] is None
    assert validate_response(r["response"]) == []
    assert SECRET not in str(r)


def test_block_actions_reach_the_skill_of_their_block(emu):
    qr = {"label": "도움말", "action": "block", "blockId": "blk-help-1", "messageText": "도움말", "extra": {"view": "faq"}}
    r = send(emu, source="quickReply", action=qr).get_json()
    assert r["skill"] == "help"
    assert r["request"]["action"]["clientExtra"] == {"view": "faq"}
    assert r["request"]["userRequest"]["block"]["id"] == "blk-help-1"
    assert r["request"]["flow"]["trigger"]["type"] == "QUICKREPLY_BUTTON_BLOCK"

    unknown = dict(qr, blockId="blk-nobody-knows")
    assert send(emu, source="button", action=unknown).get_json()["skill"] == "fallback"


def test_message_actions_go_to_the_fallback_with_their_extra(emu):
    qr = {"label": "취소", "action": "message", "messageText": "취소", "extra": {"action": "cancel"}}
    r = send(emu, source="quickReply", action=qr).get_json()
    assert r["skill"] == "fallback"
    assert r["request"]["userRequest"]["utterance"] == "취소"
    assert r["request"]["action"]["clientExtra"] == {"action": "cancel"}
    assert r["request"]["flow"]["trigger"]["type"] == "QUICKREPLY_BUTTON_MESSAGE"
    item = {"title": "첫 항목", "action": "message", "extra": {"n": 1}}
    r = send(emu, source="listItem", action=item).get_json()
    assert r["request"]["userRequest"]["utterance"] == "첫 항목"
    assert r["request"]["flow"]["trigger"]["type"] == "LIST_ITEM_MESSAGE"


@pytest.mark.parametrize("body,status", [
    ({"user": "u-real-user-key", "source": "text", "text": "안녕"}, 403),
    ({"user": "demo-" + "x" * 80, "source": "text", "text": "안녕"}, 403),
    ({"source": "text", "text": "   "}, 400),
    ({"source": "text", "text": "가" * 1001}, 400),
    ({"source": "button", "action": {"label": "열기", "action": "webLink", "webLinkUrl": "https://example.org"}}, 400),
    ({"source": "teleport", "action": {}}, 400),
])
def test_bad_requests_are_refused(emu, body, status):
    body.setdefault("user", "demo-visitor")
    assert emu.post("/emulator/api/send", json=body).status_code == status


def test_only_json_is_accepted(emu):
    resp = emu.post("/emulator/api/send", data={"user": "demo-visitor", "source": "text", "text": "안녕"})
    assert resp.status_code == 415


def test_the_skill_secret_is_used_even_when_required(emu, db):
    # The skill endpoint demands the secret (make_config sets it); the emulator's turns pass.
    assert send(emu, source="text", text="도움말").get_json()["status"] == 200


def test_pushes_of_the_user_are_shown_as_bot_messages(emu, db, clock):
    now = utcnow_naive(clock)
    with db.transaction() as s:
        me = Member(member_type="household", bot_user_key="demo-citizen-01", name="김민지", joined_at=now, consents={})
        other = Member(member_type="household", bot_user_key="demo-citizen-02", name="이준호", joined_at=now, consents={})
        s.add_all([me, other])
        s.flush()
        for i, (member, state) in enumerate([(me, "sent"), (me, "pending"), (me, "dead"), (other, "sent")]):
            s.add(Notification(member_id=member.id, kind="monthly_result", period=f"2026-0{i + 1}",
                               dedupe_key=f"emu-{i}", payload={"text": f"알림 {i}"}, state=state, attempts=1,
                               created_at=now, sent_at=now if state == "sent" else None))
    pushes = emu.get("/emulator/api/pushes?user=demo-citizen-01").get_json()["pushes"]
    assert [p["state"] for p in pushes] == ["sent", "pending"]
    for p in pushes:
        assert validate_response(p["response"]) == []
    after = pushes[0]["id"]
    later = emu.get(f"/emulator/api/pushes?user=demo-citizen-01&after={after}").get_json()["pushes"]
    assert [p["state"] for p in later] == ["pending"]
    assert emu.get("/emulator/api/pushes?user=u-real").status_code == 403

    users = {u["key"]: u["member"] for u in emu.get("/emulator/api/users").get_json()["users"]}
    assert users["demo-citizen-01"] is True and users["demo-visitor"] is False
