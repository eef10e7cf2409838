"""The Event API stand-in (bot/push/standin.py) inside the web app, for `scripts/run` (its .env
points KAKAO_API_BASE at http://127.0.0.1:5000/dev/kakao): the scheduler's pushes are accepted
here and the chat emulator shows them from the outbox. Served only while EMULATOR_ENABLED is on
(never in production); it checks what Kakao checks and keeps nothing."""
from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, jsonify, request

from bot.push.standin import StandIn

bp = Blueprint("devkakao", __name__)


def init_app(app: Flask) -> None:
    app.extensions["cpoint_devkakao"] = StandIn(record=False)


def _standin() -> StandIn:
    if not current_app.config["CPOINT"].emulator_enabled:
        abort(404)
    return current_app.extensions["cpoint_devkakao"]


@bp.post("/dev/kakao/v2/bots/<bot_id>/talk")
def talk(bot_id: str):
    standin = _standin()
    refused = standin.refusal(request.headers.get("Authorization"))
    code, answer = refused or standin.talk(bot_id, request.get_json(silent=True))[:2]
    return jsonify(answer), code


@bp.get("/dev/kakao/v1/tasks/<task_id>")
def task(task_id: str):
    code, answer = _standin().task(task_id)  # unauthenticated, as it always was here: it reveals nothing
    return jsonify(answer), code
