"""POST /kakao/channel: the channel add/block webhook (카카오톡 채널 웹훅, protocol doc §6).

Authenticated by `Authorization: KakaoAK {KAKAO_ADMIN_KEY}` (constant-time compare), de-duplicated
by `X-Kakao-Resource-ID`, answered 2xx at once (Kakao waits 3 seconds): one short transaction
records the notification and updates the member's reachability."""
from __future__ import annotations

import hashlib
import json
import logging
import re

from flask import Blueprint, current_app, jsonify, request

from bot.push.reachability import ChannelEventError, apply_channel_event, parse_channel_event
from webhooks.auth import kakao_ak_ok

bp = Blueprint("channel", __name__)
log = logging.getLogger("cpoint.http")

MAX_BODY = 8192  # a notification is a few hundred bytes
_RESOURCE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,120}$")


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _error(status: int, code: str, message: str):
    return jsonify(error=code, message=message), status


@bp.post("/kakao/channel")
def channel():
    cfg = current_app.config["CPOINT"]
    if not kakao_ak_ok(cfg.kakao_admin_key, request.headers.get("Authorization")):
        log.warning("channel webhook rejected: bad or missing KakaoAK admin key")
        return _error(401, "unauthorized", "missing or wrong Authorization: KakaoAK header")
    if (request.content_length or 0) > MAX_BODY:
        return _error(413, "body_too_large", f"body over {MAX_BODY} bytes")
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _error(413, "body_too_large", f"body over {MAX_BODY} bytes")
    try:
        payload = json.loads(body, parse_constant=_no_constant)  # NaN and Infinity are not JSON
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return _error(400, "bad_request", "body is not JSON")
    try:
        notice = parse_channel_event(payload)
    except ChannelEventError as exc:
        return _error(400, "bad_request", str(exc))
    except (ValueError, OverflowError, OSError, RecursionError):  # a timestamp no clock can show
        return _error(400, "bad_request", "a field is out of range")
    given = (request.headers.get("X-Kakao-Resource-ID") or "").strip()
    # Kakao always sends one; without it, an identical body delivered again is still one event.
    resource_id = given if _RESOURCE_ID.match(given) else "body:" + hashlib.sha256(body).hexdigest()[:40]
    services = current_app.extensions["cpoint"]
    outcome = apply_channel_event(services.db, resource_id, notice, clock=services.clock)
    log.info("channel webhook", extra={"event": notice.event, "id_type": notice.id_type, "outcome": outcome,
                                       "resource_id": resource_id})
    return jsonify(status=outcome), 200
