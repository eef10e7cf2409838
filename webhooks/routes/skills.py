"""POST /kakao/skills/<skill>: the thin adapter between Flask and the bot (cf. Slack Bolt's
Flask adapter): run the request through webhooks.skill_checks, hand the Turn to BotApp, send
its reply."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from webhooks import skill_checks as check

bp = Blueprint("skills", __name__)
log = logging.getLogger("cpoint.http")


@bp.post("/kakao/skills/<skill>")
def skill(skill: str):
    # Resolve Flask's context proxies once: each access through them has a cost, and this
    # runs on every chat turn.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    req = request._get_current_object()  # type: ignore[attr-defined]
    environ = req.environ
    cfg = app.config["CPOINT"]
    rid = check.request_id(environ)
    try:
        check.known_skill(skill)
        length = req.content_length  # None when absent or malformed
        check.within_size(length, cfg.max_body_bytes)
        check.skill_secret(cfg, environ)
        body = check.read_body(req, length, cfg.max_body_bytes)
        check.within_size(len(body), cfg.max_body_bytes)
        payload = check.json_body(body)
        check.bot_id(cfg, payload)
        turn = check.turn_of(payload, skill)
    except check.Refused as no:
        if no.warn:
            log.warning(no.warn, extra={"request_id": rid, "skill": skill})
        return jsonify(error=no.code, message=no.message), no.status
    body = app.extensions["cpoint_bot"].respond(turn, app.extensions["cpoint"], rid)
    return app.response_class(body, headers=[("Content-Type", "application/json"),
                                             ("X-Request-Id", rid)])
