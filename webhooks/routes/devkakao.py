"""A local stand-in of Kakao's Event API inside the web app, for `scripts/run` (its .env points
KAKAO_API_BASE at http://127.0.0.1:5000/dev/kakao): the scheduler's pushes are accepted here and
the chat emulator shows them from the outbox. Served only while EMULATOR_ENABLED is on (never in
production); it checks what Kakao checks (<= 100 distinct users, an event name) and keeps
nothing. Tests and benchmarks use the recording stand-in of bot/push/standin.py instead."""
from __future__ import annotations

import time
import uuid

from flask import Blueprint, abort, current_app, jsonify, request

bp = Blueprint("devkakao", __name__)


def _enabled() -> None:
    if not current_app.config["CPOINT"].emulator_enabled:
        abort(404)


@bp.post("/dev/kakao/v2/bots/<bot_id>/talk")
def talk(bot_id: str):
    _enabled()
    if not (request.headers.get("Authorization") or "").startswith("KakaoAK "):
        return jsonify(status="FAIL", message="Authorization: KakaoAK <REST API key> is required"), 401
    body = request.get_json(silent=True) or {}
    event = body.get("event") if isinstance(body, dict) else None
    users = body.get("user") if isinstance(body, dict) else None
    if not isinstance(event, dict) or not event.get("name") or not isinstance(users, list) or not users:
        return jsonify(status="FAIL", message="event.name and user are required"), 400
    ids = [(u.get("type"), u.get("id")) for u in users if isinstance(u, dict)]
    if len(ids) != len(users) or len(ids) > 100 or len(set(ids)) != len(ids):
        return jsonify(status="FAIL", message="at most 100 distinct users"), 400
    return jsonify(taskId=uuid.uuid4().hex, status="SUCCESS", timestamp=int(time.time() * 1000))


@bp.get("/dev/kakao/v1/tasks/<task_id>")
def task(task_id: str):
    _enabled()
    return jsonify(taskId=task_id, status="ALL SUCCESS", allRequestCount=None, successCount=None,
                   userKeyResolvingFailCount=0, fail={"count": 0, "list": []})
