"""An identified user always gets 200 and a valid Korean reply, whatever breaks."""
from __future__ import annotations

import logging

from bot.kakao.validate import validate_response
from core.db import Database
from tests.auxil.support import make_payload, reply_texts


def test_a_bug_in_a_handler_still_answers_200_with_request_id(app, kakao, caplog):
    bot = app.extensions["cpoint_bot"]

    def broken(ctx):
        raise RuntimeError("boom")

    bot.skills["help"] = broken
    with caplog.at_level(logging.ERROR, logger="cpoint"):
        resp = kakao.post("help", make_payload(utterance="도움말"), headers={"X-Request-Id": "rid-42"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert validate_response(body) == []
    text = reply_texts(body)
    assert "rid-42" in text and "다시 시도해 주세요" in text
    assert f"고객센터({app.config['CPOINT'].bot.call_centre})" in text  # the configured number
    assert any(getattr(r, "request_id", None) == "rid-42" for r in caplog.records)


def test_database_down_still_answers_200(clock, config):
    from webhooks import create_app

    dead = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    app = create_app(config, clock=clock, db=dead)
    resp = app.test_client().post("/kakao/skills/help", json=make_payload(utterance="도움말"),
                                  headers={"X-Skill-Secret": "test-skill-secret"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert validate_response(body) == []
    assert "요청번호" in reply_texts(body)


def test_healthz_reports_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "ok"


def test_healthz_503_when_database_is_down(clock, config):
    from webhooks import create_app

    app = create_app(config, clock=clock, db=Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"))
    assert app.test_client().get("/healthz").status_code == 503


def test_healthz_503_with_a_reason_when_the_database_is_read_only(db, clock, config):
    from sqlalchemy import event

    from webhooks import create_app

    read_only = Database(db.url)

    @event.listens_for(read_only.engine, "connect")
    def _read_only(dbapi_conn, _rec):
        cur = dbapi_conn.cursor()
        cur.execute("SET default_transaction_read_only = on" if read_only.is_postgres else "PRAGMA query_only = ON")
        cur.close()
        if read_only.is_postgres:
            dbapi_conn.commit()

    try:
        app = create_app(config, clock=clock, db=read_only)
        resp = app.test_client().get("/healthz")
        assert resp.status_code == 503
        body = resp.get_json()
        assert body["database"] == "read_only" and "read-only" in body["reason"] or "query-only" in body["reason"]
    finally:
        read_only.dispose()


def test_invalid_reply_is_replaced_outside_strict_mode(app, kakao):
    app.extensions["cpoint"].settings.strict_responses = False
    bot = app.extensions["cpoint_bot"]
    bot.skills["help"] = lambda ctx: {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "x" * 1001}}]}}
    resp = kakao.post("help", make_payload(utterance="도움말"))
    assert resp.status_code == 200
    assert validate_response(resp.get_json()) == []


def test_built_reply_skips_the_second_validation_until_changed(app, kakao, monkeypatch):
    """A reply exactly as SkillResponse built it is not validated again; one changed after it
    was built is, and replaced when invalid."""
    from bot import app as bot_app
    from bot.kakao.response import SimpleText, SkillResponse

    app.extensions["cpoint"].settings.strict_responses = False
    bot = app.extensions["cpoint_bot"]
    checked = []
    real = bot_app.reply_problems
    monkeypatch.setattr(bot_app, "reply_problems", lambda body, reply: checked.append(body) or real(body, reply))

    bot.skills["help"] = lambda ctx: SkillResponse([SimpleText("built")])._built
    resp = kakao.post("help", make_payload(utterance="도움말"))
    assert resp.get_json()["template"]["outputs"][0]["simpleText"]["text"] == "built" and checked == []

    def changed(ctx):
        built = SkillResponse([SimpleText("built")])._built
        built["template"]["outputs"][0]["simpleText"]["text"] = "x" * 1001
        return built

    bot.skills["help"] = changed
    resp = kakao.post("help", make_payload(utterance="도움말"))
    assert len(checked) == 1 and resp.status_code == 200
    assert validate_response(resp.get_json()) == [] and "x" * 1001 not in resp.get_data(as_text=True)


def test_database_errors_do_not_carry_statement_parameters(db):
    """A failed statement's parameters (names, mobiles) must not reach a logged traceback."""
    from sqlalchemy.exc import IntegrityError

    from core.models import DialogState

    row = dict(user_key="u-dup", slots={"name": "홍길동", "mobile": "01012345678"}, failures=0,
               updated_at=__import__("datetime").datetime(2026, 1, 1), version=0)
    with db.transaction() as s:
        s.add(DialogState(**row))
    try:
        with db.transaction() as s:
            s.add(DialogState(**row))
    except IntegrityError as exc:
        assert "01012345678" not in str(exc) and "홍길동" not in str(exc)
    else:  # pragma: no cover
        raise AssertionError("duplicate key was accepted")
