"""The local Event API stand-in at /dev/kakao (scripts/run): only with the emulator on."""
from __future__ import annotations

import pytest


def talk(client, users, *, key="KakaoAK local", name="monthly_result"):
    headers = {"Authorization": key} if key else {}
    return client.post("/dev/kakao/v2/bots/660c83a8ad9bb98ef71a0bd6/talk", headers=headers,
                       json={"event": {"name": name, "data": {"text": "x"}},
                             "user": [{"type": "botUserKey", "id": u} for u in users]})


def test_closed_unless_the_emulator_is_on(client):
    assert talk(client, ["a"]).status_code == 404
    assert client.get("/dev/kakao/v1/tasks/t").status_code == 404


@pytest.fixture
def local(app, client):
    app.config["CPOINT"].emulator_enabled = True
    return client


def test_accepts_like_the_event_api(local):
    resp = talk(local, [f"u{i}" for i in range(100)])
    assert resp.status_code == 200 and resp.get_json()["status"] == "SUCCESS" and resp.get_json()["taskId"]
    task = local.get(f"/dev/kakao/v1/tasks/{resp.get_json()['taskId']}").get_json()
    assert task["status"] == "ALL SUCCESS"


@pytest.mark.parametrize("users,kw,code", [
    ([f"u{i}" for i in range(101)], {}, 400), (["a", "a"], {}, 400), ([], {}, 400),
    (["a"], {"name": ""}, 400), (["a"], {"key": None}, 401),
])
def test_refuses_what_kakao_refuses(local, users, kw, code):
    assert talk(local, users, **kw).status_code == code
