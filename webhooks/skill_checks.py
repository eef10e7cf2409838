"""The checks a skill request passes before its turn runs, one small function each.

webhooks/routes/skills.py composes them in order (skill name, declared size, secret header,
body size, JSON, bot id, payload); each returns what the next one needs or raises `Refused`,
which the route answers as ``{"error": code, "message": ...}`` with the status. They take
plain values (the WSGI environ, the Config) so each can be tested without a request. The
per-user rate limit runs later, in the bot, once the payload has named the user
(bot.ratelimit.turn_allowed): it answers with a polite chat reply, not an HTTP error.

Headers are read straight from the WSGI environ: werkzeug's wrappers cost something on each
access, and this runs on every chat turn (bench/turn_cost.py)."""
from __future__ import annotations

import json
import re

import orjson
from werkzeug.wsgi import get_input_stream

from bot.kakao.payload import PayloadError, parse_turn
from core.pii import contains_rrn, log_safe_token
from webhooks.auth import bot_id_ok, secret_ok

SKILLS = ("welcome", "signup", "balance", "campaigns", "greenlife", "myinfo", "help", "fallback", "notice")
# Kakao's botUserKey is some 70 characters; a key is a database key and a rate-limit key.
USER_KEY_MAX = 128
_REQ_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Refused(Exception):
    """A request turned away before its turn runs. ``warn``: a line worth logging (a caller
    that failed authentication), None for plain client mistakes."""

    def __init__(self, status: int, code: str, message: str, warn: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.warn = status, code, message, warn


def request_id(environ: dict) -> str:
    """The caller's X-Request-Id when it is a plain token, else a fresh one. Never one with a
    run of digits shaped like a resident registration number: the logs mask such runs, and the
    id a citizen reads out from the error reply must be the one support finds in the logs."""
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if _REQ_ID.match(given) and not contains_rrn(given) else log_safe_token(16)


def known_skill(skill: str) -> str:
    if skill not in SKILLS:
        raise Refused(404, "unknown_skill", f"no skill '{skill}'; known: {', '.join(SKILLS)}")
    return skill


def within_size(size: int | None, limit: int) -> None:
    """A body (or its declared Content-Length; None when absent) no larger than ``limit``."""
    if (size or 0) > limit:
        raise Refused(413, "body_too_large", f"body over {limit} bytes")


def environ_key(header: str) -> str:
    """Where a request header sits in the WSGI environ (X-Skill-Secret -> HTTP_X_SKILL_SECRET)."""
    return "HTTP_" + header.upper().replace("-", "_")


def skill_secret(cfg, environ: dict) -> None:
    """The shared secret header Open Builder sends (unless switched off)."""
    if cfg.skill_secret_required and not secret_ok(
            cfg.skill_secret, environ.get(environ_key(cfg.skill_secret_header))):
        raise Refused(401, "unauthorized", f"missing or wrong {cfg.skill_secret_header} header",
                      warn="skill secret rejected")


def read_body(environ: dict, length: int | None, limit: int) -> bytes:
    """The request body, at most ``limit`` + 1 bytes. With a Content-Length, exactly that many
    straight from the server's input (WSGI lets an application read that far); a chunked body
    has none, and is read through werkzeug's terminated stream (empty where the server does
    not say it ends the input), one byte past the limit so that `within_size` can tell it is
    too large."""
    if length is not None:
        return environ["wsgi.input"].read(length) if length else b""
    return get_input_stream(environ).read(limit + 1)


_NOT_JSON = object()


def json_body(body: bytes):
    """The parsed body. orjson first (fast); what it refuses but is still JSON to the
    standard library (NaN, or a number beyond a double's range) is parsed the slow way rather than
    turning the citizen away."""
    try:
        return orjson.loads(body)
    except ValueError:
        payload = _strict_json(body)
        if payload is _NOT_JSON:
            raise Refused(400, "bad_json", "body is not JSON") from None
        return payload


def _strict_json(body: bytes):
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _NOT_JSON


def bot_id(cfg, payload) -> None:
    """bot.id is our bot (or its development channel), unless switched off."""
    if not cfg.bot_id_check:
        return
    bot = payload.get("bot") if isinstance(payload, dict) else None
    if not bot_id_ok(cfg.kakao_bot_id, bot.get("id") if isinstance(bot, dict) else None):
        raise Refused(403, "wrong_bot", "bot.id does not match KAKAO_BOT_ID", warn="bot id rejected")


def turn_of(payload, skill: str):
    """The payload as a bot.kakao.payload.Turn."""
    try:
        turn = parse_turn(payload, skill)
    except PayloadError as exc:
        raise Refused(400, "bad_payload", str(exc)) from None
    except RecursionError:  # e.g. action.params nested a thousand deep
        raise Refused(400, "bad_payload", "payload nested too deep") from None
    if len(turn.user_key) > USER_KEY_MAX:
        raise Refused(400, "bad_payload", f"user key longer than {USER_KEY_MAX} characters")
    return turn
