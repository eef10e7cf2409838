"""Kakao Event API client (docs/kakao-skill-protocol.md §5).

    POST {KAKAO_API_BASE}/v2/bots/{botId}/talk      Authorization: KakaoAK {REST API key}
    {"event": {"name": ..., "data": {...}}, "user": [{"type": "botUserKey", "id": ...}, ...]}
    GET  {KAKAO_API_BASE}/v1/tasks/{taskId}         the delivery result of an accepted call

At most 100 distinct users per call, all for the same event and data. The answer only says the
call was accepted (`taskId`); delivery is known from the task lookup.

Every outcome is a value, never an exception, so the sender records it:

| outcome        | when                                                       | the sender     |
|----------------|------------------------------------------------------------|----------------|
| `accepted`     | 2xx with status SUCCESS (or 2xx without a readable body)   | sent           |
| `retry`        | 5xx, 429, no connection made (refused, DNS, connect timeout) | backoff       |
| `uncertain`    | read timeout or connection lost after the request went out | UNCERTAIN_POLICY |
| `rejected`     | other 4xx, or status FAIL/ERROR in the body                | dead           |
| `unauthorized` | 401 / 403: our key or bot is wrong, not the messages       | stop, release  |

The Event API has no idempotency key: a request that may have arrived is never retried blindly.
User ids are identifiers of people: they are never put in errors or logs by this module.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests

log = logging.getLogger("cpoint.push")

MAX_USERS = 100
# Our recipient kinds (core.outbox) -> Event API user types.
USER_TYPES = {"bot_user_key": "botUserKey", "app_user_id": "appUserId", "plusfriend_user_key": "plusfriendUserKey"}
_FAIL_STATUS = re.compile(r"^\s*(\d+)\s*FAIL", re.I)


@dataclass(frozen=True)
class Recipient:
    type: str  # Event API type: botUserKey | appUserId | plusfriendUserKey
    id: str


@dataclass(frozen=True)
class SendResult:
    outcome: str  # accepted | retry | uncertain | rejected | unauthorized
    http_status: int | None = None
    task_id: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds, from a 429/503 Retry-After
    body: dict | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "accepted"


@dataclass(frozen=True)
class TaskFailure:
    user_id: str | None
    user_type: str | None
    error_type: str | None
    message: str | None


@dataclass(frozen=True)
class TaskResult:
    final: bool  # the result is complete (ALL SUCCESS or "<n> FAIL")
    status: str | None = None
    all_count: int | None = None
    success_count: int | None = None
    resolving_fail_count: int | None = None
    fail_count: int | None = None
    failures: tuple[TaskFailure, ...] = ()
    http_status: int | None = None
    error: str | None = None  # the lookup itself failed (try again later)
    raw: dict | None = field(default=None, compare=False, repr=False)


def _short(text: str | None, n: int = 300) -> str:
    text = (text or "").replace("\n", " ").strip()
    return text if len(text) <= n else text[: n - 1] + "…"


def _retry_after(value: str | None, now: datetime | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, (at - (now or datetime.now(UTC))).total_seconds())


def _never_connected(exc: BaseException) -> bool:
    """Did the request certainly not reach the server (refused, DNS, connect timeout)?"""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen or e is None:
            continue
        seen.add(id(e))
        if isinstance(e, (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError)):
            return True
        todo.extend([getattr(e, "reason", None), e.__cause__, e.__context__])
        todo.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
    return False


def _int(d: dict, *names: str) -> int | None:
    for name in names:
        v = d.get(name)
        if isinstance(v, bool):
            continue
        if isinstance(v, int):
            return v
        if isinstance(v, str) and v.strip().isdigit():
            return int(v)
    return None


def parse_task(body: Any, http_status: int | None = 200) -> TaskResult:
    """A task lookup answer, camelCase or snake_case (§9), fail items with userId or userID."""
    if not isinstance(body, dict):
        return TaskResult(final=False, http_status=http_status, error="task answer is not a JSON object")
    raw_status, raw_fail = body.get("status"), body.get("fail")
    status = raw_status if isinstance(raw_status, str) else None
    fail: dict[str, Any] = raw_fail if isinstance(raw_fail, dict) else {}
    raw_items = fail.get("list")
    items: list[Any] = raw_items if isinstance(raw_items, list) else []
    failures = []
    for item in items:
        if not isinstance(item, dict):
            continue
        msg = item.get("errorMsg") or item.get("error_msg") or {}
        if not isinstance(msg, dict):
            msg = {"msg": str(msg)}
        uid = item.get("userId", item.get("userID", item.get("user_id")))
        etype = msg.get("errorType", msg.get("error_type"))
        failures.append(TaskFailure(
            user_id=str(uid) if uid is not None else None,
            user_type=item.get("reqUserType") or item.get("req_user_type"),
            error_type=str(etype) if etype is not None else None,
            message=_short(msg.get("msg") or msg.get("message"), 200) or None,
        ))
    fail_match = _FAIL_STATUS.match(status) if status else None
    final = bool(status and (status.strip().upper() == "ALL SUCCESS" or fail_match is not None))
    fail_count = _int(fail, "count")
    if fail_count is None and fail_match is not None:
        fail_count = int(fail_match.group(1))
    if status and status.strip().upper() == "ALL SUCCESS" and fail_count is None:
        fail_count = 0
    return TaskResult(
        final=final, status=status,
        all_count=_int(body, "allRequestCount", "all_request_count"),
        success_count=_int(body, "successCount", "success_count"),
        resolving_fail_count=_int(body, "userKeyResolvingFailCount", "user_key_resolving_fail_count"),
        fail_count=fail_count, failures=tuple(failures), http_status=http_status, raw=body,
    )


class EventApiClient:
    """One client per process; `session` (a requests.Session) is injected in tests."""

    def __init__(self, base_url: str, rest_api_key: str | None, *, session: requests.Session | None = None,
                 connect_timeout: float = 3.05, read_timeout: float = 10.0,
                 task_path: str = "/v1/tasks/{taskId}", app_user_type: str = "appUserId") -> None:
        if not base_url:
            raise ValueError("KAKAO_API_BASE is empty")
        self.base_url = base_url.rstrip("/")
        self._key = rest_api_key
        self.session = session or requests.Session()
        self.timeout = (connect_timeout, read_timeout)
        self.task_path = task_path
        self.user_types = dict(USER_TYPES, app_user_id=app_user_type)

    @property
    def configured(self) -> bool:
        return bool(self._key)

    def _headers(self) -> dict[str, str]:
        if not self._key:
            raise RuntimeError("KAKAO_REST_API_KEY is not set: the Event API cannot be called")
        return {"Authorization": f"KakaoAK {self._key}", "Content-Type": "application/json",
                "Accept": "application/json"}

    def talk_url(self, bot_id: str) -> str:
        if not bot_id:
            raise ValueError("no bot id: set KAKAO_BOT_ID")
        return f"{self.base_url}/v2/bots/{quote(bot_id, safe='!')}/talk"

    def recipient(self, kind: str, user_id: str) -> Recipient:
        return Recipient(self.user_types[kind], user_id)

    @staticmethod
    def body(event_name: str, data: dict, users: Sequence[Recipient]) -> dict:
        if not event_name or not isinstance(event_name, str):
            raise ValueError("an event name is required")
        if not isinstance(data, dict):
            raise ValueError("event data must be an object")
        if not 1 <= len(users) <= MAX_USERS:
            raise ValueError(f"an Event API call carries 1 to {MAX_USERS} users, got {len(users)}")
        if len({(u.type, u.id) for u in users}) != len(users):
            raise ValueError("the same user twice in one Event API call")
        for u in users:
            if not u.id or not u.type:
                raise ValueError("a user without id or type")
        return {"event": {"name": event_name, "data": data}, "user": [{"type": u.type, "id": u.id} for u in users]}

    def send(self, bot_id: str, event_name: str, data: dict, users: Sequence[Recipient]) -> SendResult:
        """Post one call. Invalid input (over 100 users, duplicates) raises ValueError before
        anything is sent; everything that happens on the wire comes back as a SendResult."""
        payload = json.dumps(self.body(event_name, data, users), ensure_ascii=False, separators=(",", ":")).encode()
        url, headers = self.talk_url(bot_id), self._headers()  # configuration errors raise here, before the wire
        try:
            resp = self.session.post(url, data=payload, headers=headers, timeout=self.timeout)
        except requests.exceptions.ReadTimeout:
            return SendResult("uncertain", error=f"no answer within {self.timeout[1]}s (read timeout)")
        except requests.exceptions.ConnectionError as exc:
            if _never_connected(exc):
                return SendResult("retry", error=f"connection failed: {type(exc).__name__}")
            return SendResult("uncertain", error=f"connection lost after sending: {_short(str(exc), 160)}")
        except requests.exceptions.RequestException as exc:
            return SendResult("uncertain", error=f"request failed: {type(exc).__name__}: {_short(str(exc), 160)}")
        return self._answer(resp)

    def _answer(self, resp: requests.Response) -> SendResult:
        code = resp.status_code
        try:
            body = resp.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else None
        status = str(body.get("status")) if body and body.get("status") is not None else None
        message = _short(str(body.get("message") or body.get("msg") or "")) if body else _short(resp.text)
        if code == 429 or code >= 500:
            return SendResult("retry", http_status=code, error=f"HTTP {code} {message}".strip(),
                              retry_after=_retry_after(resp.headers.get("Retry-After")), body=body)
        if code in (401, 403):
            return SendResult("unauthorized", http_status=code, error=f"HTTP {code} {message}".strip(), body=body)
        if code >= 400:
            return SendResult("rejected", http_status=code, error=f"HTTP {code} {message}".strip(), body=body)
        if 200 <= code < 300:
            if status and status.upper() in ("FAIL", "ERROR"):
                return SendResult("rejected", http_status=code, error=f"{status} {message}".strip(), body=body)
            task_id = body.get("taskId") if body else None
            task_id = str(task_id) if task_id not in (None, "") else None
            return SendResult("accepted", http_status=code, task_id=task_id, body=body,
                              error=None if task_id else "accepted without a taskId (result cannot be looked up)")
        # 1xx/3xx: redirects are not followed for a POST; treat as not delivered, retry.
        return SendResult("retry", http_status=code, error=f"unexpected HTTP {code}")

    def task(self, task_id: str) -> TaskResult:
        url = self.base_url + self.task_path.replace("{taskId}", quote(str(task_id), safe=""))
        try:
            resp = self.session.get(url, headers=self._headers(), timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            return TaskResult(final=False, error=f"lookup failed: {type(exc).__name__}")
        if resp.status_code != 200:
            return TaskResult(final=False, http_status=resp.status_code,
                              error=f"lookup HTTP {resp.status_code} {_short(resp.text, 160)}".strip())
        try:
            body = resp.json()
        except ValueError:
            return TaskResult(final=False, http_status=200, error="task answer is not JSON")
        return parse_task(body, 200)
