"""The Event API client against `responses` (Kakao's servers mocked, nothing else)."""
from __future__ import annotations

import http.client
import json

import pytest
import requests
import responses
from urllib3.exceptions import NewConnectionError, ProtocolError

from bot.push.client import EventApiClient, Recipient, parse_task

BASE = "http://kakao.test"
BOT = "660c83a8ad9bb98ef71a0bd6"
TALK = f"{BASE}/v2/bots/{BOT}/talk"


def users(n, start=0):
    return [Recipient("botUserKey", f"key-{i:04d}") for i in range(start, start + n)]


@pytest.fixture
def client():
    return EventApiClient(BASE, "rest-key", connect_timeout=1.5, read_timeout=4.0)


@pytest.fixture
def kakao():
    with responses.RequestsMock() as rsps:
        yield rsps


def test_posts_event_with_kakaoak_header_and_explicit_timeouts(client, kakao):
    kakao.post(TALK, json={"taskId": "t-1", "status": "SUCCESS", "timestamp": 1764550800000})
    result = client.send(BOT, "monthly_result", {"text": "10월 사용량 결과가 나왔어요"},
                         [Recipient("botUserKey", "a1"), Recipient("appUserId", "2718281828")])
    assert result.ok and result.task_id == "t-1" and result.http_status == 200
    call = kakao.calls[0]
    assert call.request.headers["Authorization"] == "KakaoAK rest-key"
    assert call.request.headers["Content-Type"] == "application/json"
    assert call.request.req_kwargs["timeout"] == (1.5, 4.0)
    body = json.loads(call.request.body)
    assert body == {"event": {"name": "monthly_result", "data": {"text": "10월 사용량 결과가 나왔어요"}},
                    "user": [{"type": "botUserKey", "id": "a1"}, {"type": "appUserId", "id": "2718281828"}]}


def test_development_channel_uses_the_bang_path(client, kakao):
    kakao.post(f"{BASE}/v2/bots/{BOT}!/talk", json={"taskId": "t-2", "status": "SUCCESS"})
    assert client.send(BOT + "!", "campaign", {"text": "x"}, users(1)).ok


def test_base_url_is_configurable_and_app_user_type_too():
    c = EventApiClient("http://stand-in.local:8089/", "k", app_user_type="appUserKey")
    assert c.talk_url(BOT) == f"http://stand-in.local:8089/v2/bots/{BOT}/talk"
    assert c.recipient("app_user_id", "42") == Recipient("appUserKey", "42")
    assert c.recipient("bot_user_key", "k") == Recipient("botUserKey", "k")


def test_at_most_100_distinct_users_and_nothing_sent_otherwise(client, kakao):
    kakao.post(TALK, json={"taskId": "t", "status": "SUCCESS"})
    assert client.send(BOT, "e", {}, users(100)).ok
    with pytest.raises(ValueError, match="1 to 100"):
        client.send(BOT, "e", {}, users(101))
    with pytest.raises(ValueError, match="1 to 100"):
        client.send(BOT, "e", {}, [])
    with pytest.raises(ValueError, match="twice"):
        client.send(BOT, "e", {}, users(3) + users(1))
    with pytest.raises(ValueError, match="event name"):
        client.send(BOT, "", {}, users(1))
    assert len(kakao.calls) == 1


def test_missing_key_is_refused_before_sending(kakao):
    with pytest.raises(RuntimeError, match="KAKAO_REST_API_KEY"):
        EventApiClient(BASE, None).send(BOT, "e", {}, users(1))
    assert len(kakao.calls) == 0


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_are_retryable(client, kakao, code):
    kakao.post(TALK, status=code, json={"status": "ERROR", "message": "internal"})
    r = client.send(BOT, "e", {}, users(2))
    assert r.outcome == "retry" and r.http_status == code and "internal" in r.error


def test_429_is_retryable_with_retry_after(client, kakao):
    kakao.post(TALK, status=429, json={"message": "too many"}, headers={"Retry-After": "17"})
    r = client.send(BOT, "e", {}, users(2))
    assert r.outcome == "retry" and r.retry_after == 17.0


def test_429_retry_after_as_http_date(client, kakao):
    kakao.post(TALK, status=429, body="", headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    r = client.send(BOT, "e", {}, users(1))
    assert r.outcome == "retry" and r.retry_after == 0.0  # in the past: go when the backoff says


@pytest.mark.parametrize("code", [401, 403])
def test_auth_failures_are_not_the_messages_fault(client, kakao, code):
    kakao.post(TALK, status=code, json={"status": "FAIL", "message": "invalid appkey"})
    r = client.send(BOT, "e", {}, users(1))
    assert r.outcome == "unauthorized" and "invalid appkey" in r.error


@pytest.mark.parametrize("code", [400, 404, 413])
def test_other_4xx_are_rejected_for_good(client, kakao, code):
    kakao.post(TALK, status=code, json={"status": "FAIL", "message": "event not found"})
    r = client.send(BOT, "e", {}, users(1))
    assert r.outcome == "rejected" and r.http_status == code


def test_fail_status_in_a_200_is_rejected(client, kakao):
    kakao.post(TALK, json={"status": "FAIL", "message": "bot not deployed"})
    r = client.send(BOT, "e", {}, users(1))
    assert r.outcome == "rejected" and "bot not deployed" in r.error


def test_200_without_task_id_counts_as_accepted(client, kakao):
    kakao.post(TALK, body="ok")
    r = client.send(BOT, "e", {}, users(1))
    assert r.outcome == "accepted" and r.task_id is None and "taskId" in r.error


def test_read_timeout_is_uncertain_never_retried_blindly(client, kakao):
    kakao.post(TALK, body=requests.exceptions.ReadTimeout("read timed out"))
    r = client.send(BOT, "e", {}, users(1))
    assert r.outcome == "uncertain" and "read timeout" in r.error


def test_connect_timeout_is_retryable(client, kakao):
    kakao.post(TALK, body=requests.exceptions.ConnectTimeout("connect timed out"))
    assert client.send(BOT, "e", {}, users(1)).outcome == "retry"


def test_refused_connection_is_retryable(client, kakao):
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    kakao.post(TALK, body=requests.exceptions.ConnectionError(refused))
    assert client.send(BOT, "e", {}, users(1)).outcome == "retry"


def test_connection_lost_after_sending_is_uncertain(client, kakao):
    lost = ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed without response"))
    kakao.post(TALK, body=requests.exceptions.ConnectionError(lost))
    assert client.send(BOT, "e", {}, users(1)).outcome == "uncertain"


def test_real_refused_port_is_retryable():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = EventApiClient(f"http://127.0.0.1:{port}", "k", connect_timeout=1, read_timeout=1)
    assert c.send(BOT, "e", {}, users(1)).outcome == "retry"


def test_errors_never_carry_user_ids(client, kakao):
    kakao.post(TALK, status=500, json={"message": "boom"})
    r = client.send(BOT, "e", {}, users(3))
    assert "key-000" not in (r.error or "")


# -- task results ---------------------------------------------------------------------------

def test_task_lookup_all_success(client, kakao):
    kakao.get(f"{BASE}/v1/tasks/t-9", json={"taskId": "t-9", "status": "ALL SUCCESS", "allRequestCount": 2,
                                            "successCount": 2, "userKeyResolvingFailCount": 0})
    t = client.task("t-9")
    assert t.final and t.fail_count == 0 and t.success_count == 2 and t.failures == ()
    assert kakao.calls[0].request.headers["Authorization"] == "KakaoAK rest-key"


def test_task_lookup_with_failures_camel_case(client, kakao):
    kakao.get(f"{BASE}/v1/tasks/t-8", json={
        "taskId": "t-8", "status": "2 FAIL", "allRequestCount": 3, "successCount": 1, "userKeyResolvingFailCount": 1,
        "fail": {"count": 2, "list": [
            {"userId": "key-0001", "reqUserType": "botUserKey", "createdAt": 1,
             "errorMsg": {"errorType": 201, "msg": "Bot skill server responded with an HTTP error."}},
            {"userID": "key-0002", "reqUserType": "botUserKey", "errorMsg": {"errorType": "102", "msg": "blocked"}}]}})
    t = client.task("t-8")
    assert t.final and t.fail_count == 2 and t.resolving_fail_count == 1
    assert [(f.user_id, f.error_type) for f in t.failures] == [("key-0001", "201"), ("key-0002", "102")]


def test_task_lookup_snake_case():
    t = parse_task({"status": "1 FAIL", "all_request_count": 2, "success_count": 1,
                    "user_key_resolving_fail_count": 0,
                    "fail": {"list": [{"user_id": "u1", "error_msg": {"error_type": "301", "message": "x"}}]}})
    assert t.final and t.all_count == 2 and t.success_count == 1 and t.fail_count == 1
    assert t.failures[0].user_id == "u1" and t.failures[0].error_type == "301"


def test_task_not_final_or_unreachable(client, kakao):
    kakao.get(f"{BASE}/v1/tasks/t-7", json={"taskId": "t-7", "status": "PROCESSING"})
    kakao.get(f"{BASE}/v1/tasks/t-6", status=404, json={"message": "no task"})
    kakao.get(f"{BASE}/v1/tasks/t-5", body=requests.exceptions.ConnectTimeout())
    assert not client.task("t-7").final
    nf = client.task("t-6")
    assert not nf.final and nf.http_status == 404 and "404" in nf.error
    assert not client.task("t-5").final


def test_task_path_is_configurable(kakao):
    c = EventApiClient(BASE, "k", task_path="/v2/tasks/{taskId}")
    kakao.get(f"{BASE}/v2/tasks/abc", json={"status": "ALL SUCCESS"})
    assert c.task("abc").final
