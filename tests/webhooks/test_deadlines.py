"""A database that does not answer (another connection holds a lock) costs the citizen our
polite apology within Kakao's 5 seconds, not Kakao's own error."""
from __future__ import annotations

import threading
import time

import pytest

from core.db import Database
from tests.auxil.support import Kakao, make_config, make_payload
from webhooks.config import Settings


@pytest.fixture
def web_db(db):
    """The test database as a web process opens it (web deadlines)."""
    web = Database(db.url, deadlines=Settings.from_env({}).database.deadlines(web=True))
    yield web
    web.dispose()


def test_web_deadlines_stay_under_kakaos_five_seconds():
    limits = Settings.from_env({}).database.deadlines(web=True)
    assert max(limits.connect, limits.statement, limits.pool, limits.busy) < 5
    batch = Settings.from_env({}).database.deadlines(web=False)
    assert batch.statement is None and batch.busy >= 30  # settlement and imports are not cut short


def _freeze(db: Database, locked: threading.Event, release: threading.Event) -> None:
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if db.is_postgres:
            cur.execute("BEGIN")
            cur.execute("LOCK TABLE dialog_states IN ACCESS EXCLUSIVE MODE")
        else:
            raw.driver_connection.isolation_level = None
            cur.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(30)
        cur.execute("ROLLBACK")
    finally:
        raw.close()


@pytest.mark.parametrize("skill, utterance", [("signup", "회원가입"), ("fallback", "가입하기")])
def test_a_frozen_database_gets_the_apology_within_the_deadline(db, web_db, clock, skill, utterance):
    from webhooks import create_app

    config = make_config()
    config.database_url = db.url
    app = create_app(config, clock=clock, db=web_db)
    kakao = Kakao(app.test_client())
    kakao.post("help", make_payload("u-frozen", "도움말", "help"))  # connections open before the lock
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_freeze, args=(db, locked, release), daemon=True)
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        resp = kakao.post(skill, make_payload("u-frozen", utterance, skill))
        took = time.monotonic() - started
    finally:
        release.set()
        holder.join(30)
    assert resp.status_code == 200
    reply = resp.get_json()
    assert "죄송해요, 요청을 처리하는 중에 문제가 생겼어요" in reply["template"]["outputs"][0]["simpleText"]["text"], reply
    assert took < 4.5, took
