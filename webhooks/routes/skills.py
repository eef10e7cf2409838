"""POST /kakao/skills/<skill>: authenticate, parse the payload into a Turn, hand it to the bot."""
from __future__ import annotations

import json
import logging
import re
import secrets

import orjson

from flask import Blueprint, current_app, jsonify, request

from bot.kakao.payload import PayloadError, parse_turn
from webhooks.auth import bot_id_ok, secret_ok

bp = Blueprint("skills", __name__)
log = logging.getLogger("cpoint.http")

SKILLS = ("welcome", "signup", "balance", "campaigns", "greenlife", "myinfo", "help", "fallback", "notice")
_REQ_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


_NOT_JSON = object()


def _strict_json_fallback(body: bytes):
    """What orjson refuses but is still JSON to the standard library (integers beyond 64
    bits, say): parse it the slow way rather than turn the citizen away."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _NOT_JSON


def _error(status: int, code: str, message: str):
    return jsonify(error=code, message=message), status


def request_id(req) -> str:
    given = req.environ.get("HTTP_X_REQUEST_ID", "")
    return given if _REQ_ID.match(given) else secrets.token_hex(16)


def _environ_key(header: str) -> str:
    """Where a request header sits in the WSGI environ (X-Skill-Secret -> HTTP_X_SKILL_SECRET)."""
    return "HTTP_" + header.upper().replace("-", "_")


def _read_body(req, length: int | None, limit: int) -> bytes:
    """The request body, at most ``limit`` + 1 bytes. With a Content-Length, exactly that many
    straight from the server's input (WSGI lets an application read that far); a chunked body
    has none, and is read through werkzeug's terminated stream."""
    if length is not None:
        return req.environ["wsgi.input"].read(length) if length else b""
    return req.stream.read(limit + 1)


@bp.post("/kakao/skills/<skill>")
def skill(skill: str):
    # Resolve Flask's context proxies once and read headers straight from the WSGI environ:
    # each access through werkzeug's wrappers has a cost, and this runs on every chat turn.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    req = request._get_current_object()  # type: ignore[attr-defined]
    environ = req.environ
    cfg = app.config["CPOINT"]
    rid = request_id(req)
    if skill not in SKILLS:
        return _error(404, "unknown_skill", f"no skill '{skill}'; known: {', '.join(SKILLS)}")
    length = req.content_length  # None when absent or malformed
    if (length or 0) > cfg.max_body_bytes:
        return _error(413, "body_too_large", f"body over {cfg.max_body_bytes} bytes")
    if cfg.skill_secret_required and not secret_ok(
            cfg.skill_secret, environ.get(_environ_key(cfg.skill_secret_header))):
        log.warning("skill secret rejected", extra={"request_id": rid, "skill": skill})
        return _error(401, "unauthorized", f"missing or wrong {cfg.skill_secret_header} header")
    # A chunked body has no Content-Length: read at most one byte past the limit to tell.
    body = _read_body(req, length, cfg.max_body_bytes)
    if len(body) > cfg.max_body_bytes:
        return _error(413, "body_too_large", f"body over {cfg.max_body_bytes} bytes")
    try:
        payload = orjson.loads(body)
    except ValueError:
        payload = _strict_json_fallback(body)
        if payload is _NOT_JSON:
            return _error(400, "bad_json", "body is not JSON")
    if cfg.bot_id_check:
        bot_id = payload.get("bot", {}).get("id") if isinstance(payload, dict) and isinstance(payload.get("bot"), dict) else None
        if not bot_id_ok(cfg.kakao_bot_id, bot_id):
            log.warning("bot id rejected", extra={"request_id": rid, "skill": skill})
            return _error(403, "wrong_bot", "bot.id does not match KAKAO_BOT_ID")
    try:
        turn = parse_turn(payload, skill)
    except PayloadError as exc:
        return _error(400, "bad_payload", str(exc))
    body = app.extensions["cpoint_bot"].respond(turn, app.extensions["cpoint"], rid)
    return app.response_class(body, headers=[("Content-Type", "application/json"),
                                             ("X-Request-Id", rid)])
