"""Hostile bodies get a clear 400, never a 500: deeply nested JSON, non-finite numbers,
over-long user keys."""
from __future__ import annotations

import json

import pytest

from tests.auxil.support import make_payload

KEY = "test-kakao-admin-key"


def _channel(client, raw: bytes):
    return client.post("/kakao/channel", data=raw, headers={
        "Content-Type": "application/json", "Authorization": f"KakaoAK {KEY}", "X-Kakao-Resource-ID": "res-h1"})


@pytest.mark.parametrize("timestamp", ["NaN", "Infinity", "-Infinity", "1e308", "-1e308", "99999999999999999999"])
def test_a_non_finite_or_absurd_channel_timestamp_is_400(client, db, timestamp):
    raw = ('{"event": "blocked", "id": "2718281828", "id_type": "app_user_id", "timestamp": ' + timestamp + "}").encode()
    resp = _channel(client, raw)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json()["error"] == "bad_request"


@pytest.mark.parametrize("depth", [1000, 5000])
def test_deeply_nested_channel_body_is_400(client, db, depth):
    raw = ('{"event": "blocked", "id": "1", "action": {"params": ' + "[" * depth + "]" * depth + "}}").encode()
    resp = _channel(client, raw[:8192])
    assert resp.status_code in (400, 413)
    resp = _channel(client, ('{"x":' * 1000 + "1" + "}" * 1000).encode())
    assert resp.status_code == 400


@pytest.mark.parametrize("depth", [500, 1000, 3000])
def test_deeply_nested_skill_params_are_400(kakao, depth):
    payload = make_payload("u-deep", "도움말", "help")
    body = json.dumps(payload).replace('"params": {}', '"params": ' + '{"a":' * depth + "1" + "}" * depth, 1)
    resp = kakao.client.post("/kakao/skills/help", data=body.encode(), headers={
        "Content-Type": "application/json", "X-Skill-Secret": "test-skill-secret"})
    assert resp.status_code in (200, 400), resp.get_data(as_text=True)[:300]


def test_an_over_long_user_key_is_refused(kakao):
    resp = kakao.post("help", make_payload("u" * 129, "도움말", "help"))
    assert resp.status_code == 400 and resp.get_json()["error"] == "bad_payload"
    assert kakao.post("help", make_payload("u" * 128, "도움말", "help")).status_code == 200
