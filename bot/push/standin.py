"""A stand-in for Kakao's Event API on loopback: integration tests, the benchmark, local runs
(`KAKAO_API_BASE=http://127.0.0.1:8089`). It answers like the real API (§5) and records every user
it received, so a test can check that nobody got a message twice.

    python -m bot.push.standin --port 8089 [--key REST_KEY] [--latency 0.01]

Routes: POST /v2/bots/{botId}/talk, GET /v1/tasks/{taskId}, and for tests
GET /_standin/stats, GET /_standin/users, POST /_standin/control
({"hang_on": n} holds the n-th talk request after recording it, {"release": true} lets it go,
{"statuses": [500, 429]} answers the next requests with these codes, {"unreachable": ["id"]} makes
task results report these users as failed).

The same class answers the web app's /dev/kakao routes (webhooks/routes/devkakao.py) without a
server of its own: `StandIn(record=False)` checks what Kakao checks and keeps nothing.
"""
from __future__ import annotations

import argparse
import json
import re
import signal
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

_TALK = re.compile(r"^/v2/bots/([^/]+)/talk$")
_TASK = re.compile(r"^/v[12]/tasks/([^/]+)$")


class StandIn:
    """The Event API's answers and a record of what it received; `start()` serves it on loopback.
    `key=None` accepts any `KakaoAK` key. With `record=False` nothing is kept and every task
    reports all users reached: behind several web processes a task may be looked up in another
    process than the one that accepted it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, key: str | None = None, latency: float = 0.0,
                 keep_bodies: bool = True, record: bool = True) -> None:
        self.host, self.port = host, port
        self.key, self.latency, self.keep_bodies, self.record = key, latency, keep_bodies, record
        self.lock = threading.Lock()
        self.requests = 0
        # (bot id, user id, event name, event data) -> times received: the same message to the
        # same user twice is a duplicate; different messages to one user are not. User ids and
        # event names are kept as the caller sent them (JSON values), the data as its JSON text.
        self.users: Counter[tuple[str, Any, Any, str]] = Counter()
        self.calls: list[dict] = []  # bot, event, data, users (when keep_bodies)
        self.tasks: dict[str, list[Any]] = {}
        self.statuses: list[int] = []
        self.unreachable: set[str] = set()
        self.hang_on: int | None = None
        self.hung = threading.Event()  # set when the hang_on request has been recorded
        self._release = threading.Event()
        self.max_users = 0
        self.bad_requests = 0
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("the stand-in is not serving: call start() first")
        host, port = self.server.server_address[:2]
        # typeshed types server_address for every address family; an AF_INET server's host is a str
        return f"http://{cast(str, host)}:{port}"

    def start(self) -> StandIn:
        handler = type("Handler", (_Handler,), {"standin": self})
        self.server = ThreadingHTTPServer((self.host, self.port), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="standin", daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def release(self) -> None:
        self._release.set()

    def stats(self) -> dict:
        with self.lock:
            return {"requests": self.requests, "users": sum(self.users.values()), "distinct": len(self.users),
                    "duplicates": sum(n - 1 for n in self.users.values() if n > 1), "max_users": self.max_users,
                    "bad_requests": self.bad_requests}

    def received(self) -> Counter[Any]:
        """user id -> messages received (all bots and events)."""
        with self.lock:
            out: Counter[Any] = Counter()
            for (_bot, uid, _event, _data), n in self.users.items():
                out[uid] += n
            return out

    # -- behaviour ----------------------------------------------------------------------------
    def refusal(self, authorization: str | None) -> tuple[int, dict] | None:
        """The 401 for a missing or wrong `Authorization: KakaoAK <REST API key>`, else None."""
        given = authorization or ""
        if not given.startswith("KakaoAK ") or (self.key is not None and given != f"KakaoAK {self.key}"):
            return 401, {"status": "FAIL", "message": "Authorization: KakaoAK <REST API key> is required"}
        return None

    def talk(self, bot_id: str, body: dict) -> tuple[int, dict, bool]:
        """Returns (status, answer, hang)."""
        event = body.get("event") if isinstance(body, dict) else None
        users = body.get("user") if isinstance(body, dict) else None
        if not isinstance(event, dict) or not event.get("name") or not isinstance(users, list) or not users:
            with self.lock:
                self.bad_requests += 1
            return 400, {"status": "FAIL", "message": "event.name and user are required"}, False
        ids = [(u.get("type"), u.get("id")) for u in users if isinstance(u, dict)]
        if len(ids) != len(users) or len(ids) > 100 or len(set(ids)) != len(ids):
            with self.lock:
                self.bad_requests += 1
            return 400, {"status": "FAIL", "message": "at most 100 distinct users"}, False
        with self.lock:
            self.requests += 1
            n = self.requests
            if self.statuses:
                code = self.statuses.pop(0)
                return code, {"status": "ERROR", "message": f"stand-in answered {code}"}, False
            task = uuid.uuid4().hex
            if not self.record:
                return 200, {"taskId": task, "status": "SUCCESS", "timestamp": int(time.time() * 1000)}, False
            message = (event.get("name"), json.dumps(event.get("data"), sort_keys=True, ensure_ascii=False))
            for _t, uid in ids:
                self.users[(bot_id, uid, *message)] += 1
            self.max_users = max(self.max_users, len(ids))
            self.tasks[task] = [uid for _t, uid in ids]
            if self.keep_bodies:
                self.calls.append({"bot": bot_id, "event": event.get("name"), "data": event.get("data"),
                                   "users": [uid for _t, uid in ids]})
            hang = self.hang_on is not None and n == self.hang_on
        if hang:
            self.hung.set()
        return 200, {"taskId": task, "status": "SUCCESS", "timestamp": int(time.time() * 1000)}, hang

    def task(self, task_id: str) -> tuple[int, dict]:
        if not self.record:
            return 200, {"taskId": task_id, "status": "ALL SUCCESS", "allRequestCount": None, "successCount": None,
                         "userKeyResolvingFailCount": 0, "fail": {"count": 0, "list": []}}
        with self.lock:
            users = self.tasks.get(task_id)
            if users is None:
                return 404, {"status": "FAIL", "message": "no such task"}
            failed = [u for u in users if u in self.unreachable]
        fail_list = [{"userId": u, "reqUserType": "botUserKey", "createdAt": int(time.time() * 1000),
                      "errorMsg": {"errorType": "102", "msg": "user is not a friend of the channel"}} for u in failed]
        return 200, {"taskId": task_id, "status": "ALL SUCCESS" if not failed else f"{len(failed)} FAIL",
                     "allRequestCount": len(users), "successCount": len(users) - len(failed),
                     "userKeyResolvingFailCount": 0, "fail": {"count": len(failed), "list": fail_list}}

    def control(self, body: dict) -> dict:
        with self.lock:
            if "hang_on" in body:
                self.hang_on = body["hang_on"]
                self.hung.clear()
                self._release.clear()
            if body.get("statuses"):
                self.statuses.extend(int(c) for c in body["statuses"])
            if body.get("unreachable"):
                self.unreachable.update(body["unreachable"])
        if body.get("release"):
            self._release.set()
        return {"ok": True, "hung": self.hung.is_set()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)
    standin: StandIn

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, code: int, body) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return None

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        s = self.standin
        if self.path == "/_standin/control":
            self._send(200, s.control(self._body() or {}))
            return
        m = _TALK.match(self.path)
        if not m:
            self._send(404, {"status": "FAIL", "message": "not found"})
            return
        body = self._body()
        refused = s.refusal(self.headers.get("Authorization"))
        if refused:
            self._send(*refused)
            return
        if s.latency:
            time.sleep(s.latency)
        code, answer, hang = s.talk(m.group(1), body)
        if hang:
            s._release.wait()
        self._send(code, answer)

    def do_GET(self) -> None:  # noqa: N802
        s = self.standin
        if self.path == "/_standin/stats":
            self._send(200, s.stats())
            return
        if self.path == "/_standin/users":
            self._send(200, dict(s.received()))
            return
        m = _TASK.match(self.path)
        if not m:
            self._send(404, {"status": "FAIL", "message": "not found"})
            return
        refused = s.refusal(self.headers.get("Authorization"))
        if refused:
            self._send(*refused)
            return
        code, answer = s.task(m.group(1))
        self._send(code, answer)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Loopback stand-in of the Kakao Event API")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8089)
    ap.add_argument("--key", default=None, help="Expected REST API key (any when unset)")
    ap.add_argument("--latency", type=float, default=0.0, help="Seconds before each answer")
    ap.add_argument("--no-bodies", action="store_true", help="Do not keep request bodies (benchmarks)")
    args = ap.parse_args(argv)
    s = StandIn(args.host, args.port, key=args.key, latency=args.latency, keep_bodies=not args.no_bodies)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    s.start()
    print(f"listening on {s.url}", flush=True)
    stop.wait()
    s.stop()


if __name__ == "__main__":
    main()
