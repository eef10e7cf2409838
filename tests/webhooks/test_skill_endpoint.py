"""The skill endpoint against every fixture payload, and every way a request can be refused."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.kakao.validate import validate_response
from core.db import Base
from tests.auxil.support import KAKAO, load_fixture, make_payload

OWN = sorted(p.name for p in KAKAO.glob("*.json"))
PUBLIC_REQUESTS = ["01_request_callback_fixture_liam-kor.json", "02_request_with_callbackUrl_chat-jeju.json",
                   "04_request_legacy_accountId_chat-jeju.json", "05_request_doc_example_dev-helper.json",
                   "06_request_knowledge_plus_official_doc.json", "07_request_minimal_dubaicrab.json"]
PUBLIC_NOT_REQUESTS = ["03_callback_post_body_chat-jeju.json", "08_action_detailParams_fragment_official_doc.json"]


def skill_of(payload: dict, fallback: str = "fallback") -> str:
    name = (payload.get("action") or {}).get("name")
    return name if name in ("welcome", "signup", "balance", "campaigns", "greenlife", "myinfo", "help", "fallback") else fallback


def row_count(db) -> int:
    with db.engine.connect() as conn:
        return sum(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in Base.metadata.sorted_tables)


@pytest.mark.parametrize("name", OWN)
def test_every_own_fixture_gets_a_valid_reply(kakao, name):
    payload = load_fixture(name)
    skill = "help" if name == "minimal_missing_optional.json" else skill_of(payload)
    resp = kakao.post(skill, payload)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert validate_response(body) == []
    assert body["version"] == "2.0"


@pytest.mark.parametrize("name", PUBLIC_REQUESTS)
def test_public_requests_get_a_valid_reply(app, kakao, name):
    payload = load_fixture(f"public/{name}")
    app.config["CPOINT"].kakao_bot_id = payload["bot"]["id"].rstrip("!")
    resp = kakao.post(skill_of(payload), payload)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert validate_response(resp.get_json()) == []


@pytest.mark.parametrize("name", PUBLIC_NOT_REQUESTS)
def test_public_non_requests_are_bad_requests(app, kakao, db, name):
    app.config["CPOINT"].bot_id_check = False
    resp = kakao.post("fallback", load_fixture(f"public/{name}"))
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "bad_payload"
    assert row_count(db) == 0


def test_dev_channel_bot_id_is_accepted(kakao):
    resp = kakao.post("balance", load_fixture("dev_channel_balance.json"))
    assert resp.status_code == 200


@pytest.mark.parametrize("secret", [None, "", "wrong", "test-skill-secre", "test-skill-secret "])
def test_missing_or_wrong_secret_is_401_and_writes_nothing(kakao, db, secret):
    resp = kakao.post("welcome", load_fixture("welcome.json"), secret=secret)
    assert resp.status_code == 401
    assert row_count(db) == 0


def test_wrong_bot_id_is_403_and_writes_nothing(kakao, db):
    payload = make_payload(bot_id="someone-elses-bot")
    resp = kakao.post("fallback", payload)
    assert resp.status_code == 403
    assert resp.get_json()["error"] == "wrong_bot"
    assert row_count(db) == 0


def test_missing_bot_is_403(kakao, db):
    payload = make_payload()
    del payload["bot"]
    assert kakao.post("fallback", payload).status_code == 403
    assert row_count(db) == 0


def test_100_kib_body_is_413_and_writes_nothing(kakao, db):
    payload = make_payload(utterance="가" * (100 * 1024 // 3 + 10))
    raw = json.dumps(payload, ensure_ascii=False).encode()
    assert len(raw) > 100 * 1024
    resp = kakao.post("fallback", None, raw=raw)
    assert resp.status_code == 413
    assert row_count(db) == 0


def _real_server(app):
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _post_chunked(port: int, skill: str, chunks):
    """POST with Transfer-Encoding: chunked (no Content-Length); the response."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", f"/kakao/skills/{skill}")
    conn.putheader("X-Skill-Secret", "test-skill-secret")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for chunk in chunks:
        conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    conn.send(b"0\r\n\r\n")
    return conn.getresponse()


def test_chunked_body_over_the_limit_is_413_on_a_real_server(app, db):
    """Chunked bodies carry no Content-Length; only a real server hands them over."""
    server = _real_server(app)
    try:
        resp = _post_chunked(server.server_port, "fallback", [b"a" * 8192] * 10)  # 80 KiB
        assert resp.status == 413
        assert json.loads(resp.read())["error"] == "body_too_large"
    finally:
        server.shutdown()
    assert row_count(db) == 0


def test_chunked_and_sized_bodies_are_read_whole_on_a_real_server(app, db):
    """A chunked body (no Content-Length) is answered; sized bodies are read to their length
    and no further, so two requests in a row on one kept-alive connection both work."""
    import http.client

    body = json.dumps(make_payload(utterance="도움말"), ensure_ascii=False).encode()
    server = _real_server(app)
    try:
        resp = _post_chunked(server.server_port, "help", [body])
        assert resp.status == 200 and json.loads(resp.read())["version"] == "2.0"
        assert resp.getheader("Content-Type") == "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        for _ in range(2):
            conn.request("POST", "/kakao/skills/help", body=body, headers={
                "X-Skill-Secret": "test-skill-secret", "Content-Type": "application/json",
                "Connection": "keep-alive"})
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read())["version"] == "2.0"
            assert resp.getheader("X-Request-Id")
    finally:
        server.shutdown()


@pytest.mark.parametrize("raw", [b"not json", b"", b"{", "\ud55c".encode("utf-8")[:2], b"[1,2]", b"null"])
def test_not_json_or_not_an_object_is_400(app, kakao, db, raw):
    app.config["CPOINT"].bot_id_check = False
    resp = kakao.post("fallback", None, raw=raw)
    assert resp.status_code == 400
    assert resp.get_json()["error"] in ("bad_json", "bad_payload")
    assert row_count(db) == 0


def test_no_user_id_is_400(kakao, db):
    payload = make_payload()
    del payload["userRequest"]["user"]
    resp = kakao.post("fallback", payload)
    assert resp.status_code == 400
    assert row_count(db) == 0


def test_unknown_skill_path_is_404_json(kakao):
    resp = kakao.post("nosuchskill", make_payload())
    assert resp.status_code == 404
    assert resp.get_json()["error"] == "unknown_skill"


def test_get_on_skill_is_405_json(client):
    resp = client.get("/kakao/skills/help")
    assert resp.status_code == 405
    assert "error" in resp.get_json()


def test_secret_check_can_be_switched_off(app, kakao):
    app.config["CPOINT"].skill_secret_required = False
    assert kakao.post("help", make_payload(utterance="도움말"), secret=None).status_code == 200


def test_bot_id_check_can_be_switched_off(app, kakao):
    app.config["CPOINT"].bot_id_check = False
    assert kakao.post("help", make_payload(bot_id="other"), secret="test-skill-secret").status_code == 200


def test_request_id_is_echoed(kakao):
    resp = kakao.post("help", make_payload(), headers={"X-Request-Id": "kakao-req-123"})
    assert resp.headers["X-Request-Id"] == "kakao-req-123"
