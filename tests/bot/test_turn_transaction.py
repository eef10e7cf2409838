"""A turn opens its database transaction only when it needs one, and a state read before the
transaction is checked again when it opens; replies are encoded once and validated once per body."""
from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy import text as sql

from bot import app as bot_app
from bot import ui
from core.models import DialogState
from tests.auxil.support import make_payload, reply_texts

HEADERS = {"X-Skill-Secret": "test-skill-secret"}


@pytest.fixture
def begins(db):
    """Counts the transactions the engine begins."""
    seen = []

    def on_begin(conn):
        seen.append(conn)

    event.listen(db.engine, "begin", on_begin)
    yield seen
    event.remove(db.engine, "begin", on_begin)


def post(client, skill, user, utterance, **kw):
    resp = client.post(f"/kakao/skills/{skill}", json=make_payload(user, utterance, **kw), headers=HEADERS)
    assert resp.status_code == 200
    return resp.get_json()


def test_a_turn_that_only_answers_begins_no_transaction(client, begins):
    post(client, "help", "u-lazy-1", "도움말")
    post(client, "fallback", "u-lazy-1", "고마워요")
    assert begins == []


def test_a_message_not_understood_is_counted_without_the_turns_transaction(client, db, begins):
    # Issue 14: the operators' queue (core.unmatched) is a write of its own, after the turn.
    # Issue 17: the not-understood count (bot.handoff) is committed on its own too, on the
    # thread's autocommit connection: the turn itself opens no transaction.
    post(client, "fallback", "u-lazy-1", "오늘 날씨 어때요?")
    assert len(begins) == 1  # the queue's
    assert db.read_fetchone("SELECT turns FROM miss_streaks WHERE user_key = 'u-lazy-1'", ()) == (1,)
    post(client, "help", "u-lazy-1", "도움말")  # a tap neither ends the streak nor writes
    assert len(begins) == 1
    assert db.read_fetchone("SELECT turns FROM miss_streaks WHERE user_key = 'u-lazy-1'", ()) == (1,)
    post(client, "fallback", "u-lazy-1", "고객센터 전화번호 알려줘")  # understood: the streak ends
    assert db.read_fetchone("SELECT count(*) FROM miss_streaks", ()) == (0,)


def test_a_turn_that_writes_begins_one_and_commits(app, client, db, begins):
    class Starter:
        name, skill = "starter", "help"

        def start(self, ctx):
            ctx.dialog.begin("starter", "one")
            return ui.text(ctx, "시작했어요.")

        def handle(self, ctx):
            return None

        def reprompt(self, ctx):
            return ui.text(ctx, "계속")

        def cancel(self, ctx):
            pass

    bot = app.extensions["cpoint_bot"]
    bot.add_dialog(Starter())
    bot.skills["help"] = Starter().start
    reply = post(client, "help", "u-lazy-2", "해 볼게요")
    assert reply_texts(reply) == "시작했어요."
    assert len(begins) == 1
    with db.engine.connect() as conn:
        assert conn.execute(sql("SELECT dialog FROM dialog_states WHERE user_key = 'u-lazy-2'")).scalar_one() == "starter"


def test_state_changed_between_read_and_transaction_reruns_the_turn(app, client, db):
    """Another turn of the same user commits after this one read the state but before this
    one opened its transaction: the turn runs again on the new state, nothing is lost."""
    with db.engine.begin() as conn:
        conn.execute(DialogState.__table__.insert(), {
            "user_key": "u-lazy-3", "dialog": None, "step": None, "slots": {"n": 1}, "failures": 0,
            "expires_at": None, "updated_at": db_now(), "version": 1})
    calls = []

    def handler(ctx):
        calls.append(ctx.dialog.row.version)
        if len(calls) == 1:  # the other turn wins the race, once
            with db.engine.begin() as conn:
                conn.execute(sql("UPDATE dialog_states SET version = 2, slots = :s WHERE user_key = 'u-lazy-3'"),
                             {"s": '{"n": 2}'})
        ctx.conn  # noqa: B018  (this turn now needs its transaction)
        ctx.dialog.update(n=ctx.dialog.slots["n"] + 10)
        return ui.text(ctx, str(ctx.dialog.slots["n"]))

    app.extensions["cpoint_bot"].skills["help"] = handler
    reply = post(client, "help", "u-lazy-3", "더하기")
    assert calls == [1, 2]  # ran again on the state the other turn left
    assert reply_texts(reply) == "12"
    with db.engine.connect() as conn:
        assert conn.execute(sql("SELECT version FROM dialog_states WHERE user_key = 'u-lazy-3'")).scalar_one() == 3


def db_now():
    from datetime import datetime

    return datetime(2026, 11, 1, 0, 0)


def test_driver_errors_arrive_as_sqlalchemy_errors_without_parameters(db):
    from sqlalchemy.exc import DBAPIError

    with db.lazy(deferred=True) as tx:
        with pytest.raises(DBAPIError) as err:
            p = "%s" if db.is_postgres else "?"
            tx.read(f"SELECT no_such_column FROM dialog_states WHERE user_key = {p}", ("900101-1234567",))
    assert "900101" not in str(err.value)


def test_each_distinct_reply_body_is_validated_once(client, monkeypatch):
    import bot.kakao.validate as validate

    bot_app._VALIDATED.clear()
    calls = []
    real = validate.validate_response
    monkeypatch.setattr(validate, "validate_response", lambda obj: calls.append(1) or real(obj))
    for i in range(5):
        post(client, "help", f"u-lazy-v{i}", "도움말")
    assert len(calls) == 1


def test_an_invalid_reply_is_never_served_from_the_cache(app, client, monkeypatch):
    """The test config raises on an invalid reply: it must do so on every turn, not only the first."""
    app.extensions["cpoint_bot"].skills["help"] = lambda ctx: {"version": "2.0", "template": {"outputs": []}}
    bot_app._VALIDATED.clear()
    for _ in range(2):
        with pytest.raises(AssertionError):
            client.post("/kakao/skills/help", json=make_payload("u-lazy-bad", "도움말"), headers=HEADERS)


def test_a_payload_with_an_integer_beyond_64_bits_is_still_answered(client):
    body = make_payload("u-lazy-big", "도움말")
    body["action"]["params"] = {"n": 2 ** 70}
    resp = client.post("/kakao/skills/help", json=body, headers=HEADERS)
    assert resp.status_code == 200 and reply_texts(resp.get_json())
