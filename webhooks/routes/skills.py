"""POST /kakao/skills/<skill>: the thin adapter between HTTP and the bot (cf. Slack Bolt's
Flask adapter): run the request through webhooks.skill_checks, hand the Turn to BotApp, send
its reply.

Every chat turn is such a request, so `create_app` puts `SkillEndpoint`, a plain WSGI callable,
in front of Flask: it answers skill POSTs straight from the WSGI environ and hands every other
request to Flask. Flask's request context, URL map and Response objects cost about as much as
a whole static turn (bench/turn_cost.py), and a skill request uses none of them. The blueprint
route answers the same way through `answer`, for a server that mounts Flask's own wsgi_app."""
from __future__ import annotations

import logging
from http import HTTPStatus

import orjson
from flask import Blueprint, Flask, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.sansio.utils import get_content_length

from webhooks import skill_checks as check

bp = Blueprint("skills", __name__)
log = logging.getLogger("cpoint.http")

PREFIX = "/kakao/skills/"
Answer = tuple[int, list[tuple[str, str]], bytes]


def _json(status: int, data: dict, extra: tuple[tuple[str, str], ...] = ()) -> Answer:
    body = orjson.dumps(data)
    return status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra], body


def answer(app: Flask, skill: str, environ: dict) -> Answer:
    """(status, headers, body) of one skill request, from its WSGI environ."""
    cfg = app.config["CPOINT"]
    rid = check.request_id(environ)
    try:
        check.known_skill(skill)
        # None when absent or chunked; 0 when malformed (then the empty body is not JSON)
        length = get_content_length(environ.get("CONTENT_LENGTH"), environ.get("HTTP_TRANSFER_ENCODING"))
        check.within_size(length, cfg.max_body_bytes)
        check.skill_secret(cfg, environ)
        body = check.read_body(environ, length, cfg.max_body_bytes)
        check.within_size(len(body), cfg.max_body_bytes)
        payload = check.json_body(body)
        check.bot_id(cfg, payload)
        turn = check.turn_of(payload, skill)
    except check.Refused as no:
        if no.warn:
            log.warning(no.warn, extra={"request_id": rid, "skill": skill})
        return _json(no.status, {"error": no.code, "message": no.message})
    reply = app.extensions["cpoint_bot"].respond(turn, app.extensions["cpoint"], rid)
    return 200, [("Content-Type", "application/json"), ("Content-Length", str(len(reply))),
                 ("X-Request-Id", rid)], reply


class SkillEndpoint:
    """WSGI middleware: skill POSTs answered by `answer`, everything else passed to Flask."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(PREFIX):
            return self.wsgi_app(environ, start_response)
        skill = path[len(PREFIX):]
        if not skill or "/" in skill:  # Flask's routing answers these (404, a trailing slash)
            return self.wsgi_app(environ, start_response)
        try:
            status, headers, body = answer(self.app, skill, environ)
        except HTTPException as exc:  # e.g. the client went away in the middle of its body
            status, headers, body = _json(exc.code or 400, {"error": (exc.name or "").lower().replace(" ", "_"),
                                                            "message": exc.description})
        except Exception:  # the edge's own failure: a JSON 500, as Flask would give, and a log line
            if self._propagate():  # as Flask does under testing and debug: tests see the error
                raise
            log.exception("skill request failed", extra={"skill": skill})
            status, headers, body = _json(500, {"error": "internal_server_error", "message": "internal error"})
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]  # one item: servers write it in one call

    def _propagate(self) -> bool:
        setting = self.app.config.get("PROPAGATE_EXCEPTIONS")
        return bool(setting) if setting is not None else bool(self.app.testing or self.app.debug)


@bp.post("/kakao/skills/<skill>")
def skill(skill: str):
    status, headers, body = answer(current_app._get_current_object(), skill,  # type: ignore[attr-defined]
                                   request.environ)
    return current_app.response_class(body, status=status, headers=headers)


def init_app(app: Flask) -> None:
    app.wsgi_app = SkillEndpoint(app, app.wsgi_app)  # type: ignore[method-assign]
