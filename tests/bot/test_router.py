"""Dispatch order, always-working words, resident-number refusal, state that survives restarts."""
from __future__ import annotations

import json
import logging
import threading

import pytest
from sqlalchemy import text as sql

from bot import ui
from core.models import DialogState
from tests.auxil.support import make_payload, quick_reply_labels, reply_texts

USER = "u-router-0001"


class EchoDialog:
    """A two-step dialog used only here: asks a colour, then a number."""

    name = "echo"
    skill = "help"

    def start(self, ctx):
        ctx.dialog.begin("echo", "colour")
        return ui.text(ctx, "색을 알려 주세요.")

    def handle(self, ctx):
        if ctx.turn.utterance == "pass":
            return None
        if ctx.dialog.step == "colour":
            ctx.dialog.goto("number", colour=ctx.turn.utterance)
            return ui.text(ctx, "숫자를 알려 주세요.")
        colour = ctx.dialog.slots["colour"]
        ctx.dialog.end()
        return ui.text(ctx, f"{colour} {ctx.turn.utterance} 저장했어요.")

    def reprompt(self, ctx):
        return ui.text(ctx, "색을 알려 주세요." if ctx.dialog.step == "colour" else "숫자를 알려 주세요.",
                       [ui.cancel_quick_reply(ctx)])

    def cancel(self, ctx):
        pass


@pytest.fixture
def echo(app):
    bot = app.extensions["cpoint_bot"]
    dialog = EchoDialog()
    bot.add_dialog(dialog)
    bot.skills["echo_start"] = dialog.start
    return dialog


def start_echo(app, user=USER):
    # Start the dialog directly through a skill handler the test registers.
    bot = app.extensions["cpoint_bot"]
    services = app.extensions["cpoint"]
    from bot.kakao.payload import parse_turn

    turn = parse_turn(make_payload(user, "에코 테스트", "help"), "help")
    original = bot.skills["help"]
    bot.skills["help"] = bot.dialogs["echo"].start
    try:
        bot.handle(turn, services, "rid")
    finally:
        bot.skills["help"] = original


def state(db, user=USER):
    with db.transaction() as s:
        return s.get(DialogState, user)


def test_free_text_goes_to_the_active_dialog(app, kakao, db, echo):
    start_echo(app)
    assert "숫자" in reply_texts(kakao.say(USER, "초록"))
    assert "초록 7 저장" in reply_texts(kakao.say(USER, "7"))
    assert state(db).dialog is None


def test_dialog_can_hand_the_turn_back(app, kakao, echo):
    start_echo(app)
    # "pass" is declined by the dialog and falls through to keyword routing / fallback.
    reply = kakao.say(USER, "pass")
    assert "이해하지 못했어요" in reply_texts(reply)


def test_other_skill_while_dialog_active_is_routed_by_skill_and_dialog_kept(app, kakao, db, echo):
    start_echo(app)
    reply = kakao.say(USER, "", skill="welcome")
    assert "탄소중립포인트 도우미" in reply_texts(reply)
    assert state(db).dialog == "echo" and state(db).step == "colour"


@pytest.mark.parametrize("word", ["취소", "처음으로"])
def test_cancel_and_home_always_work(app, kakao, db, echo, word):
    start_echo(app)
    reply = kakao.say(USER, word)
    assert "취소했어요" in reply_texts(reply)
    assert state(db).dialog is None


def test_cancel_by_quick_reply_extra(app, kakao, db, echo):
    start_echo(app)
    kakao.tap(USER, "fallback", "그만할래요", {"action": "cancel"}, trigger="QUICKREPLY_BUTTON_MESSAGE")
    assert state(db).dialog is None


def test_home_without_dialog_shows_welcome(kakao):
    assert "탄소중립포인트 도우미" in reply_texts(kakao.say(USER, "처음으로"))


def test_cancel_without_dialog_says_nothing_to_cancel(kakao):
    assert "취소할 진행 중인 작업이 없어요" in reply_texts(kakao.say(USER, "취소"))


@pytest.mark.parametrize("utterance,skill_text", [
    ("도움말 보여줘", "이렇게 도와드릴 수 있어요"),
    ("고객센터 전화번호", "1660-2030"),
])
def test_keyword_routing_from_fallback(kakao, utterance, skill_text):
    assert skill_text in reply_texts(kakao.say(USER, utterance))


def test_unmatched_text_gets_menu(kakao):
    reply = kakao.say(USER, "오늘 미세먼지 어때요?")
    assert "이해하지 못했어요" in reply_texts(reply)
    assert len(quick_reply_labels(reply)) >= 4


RRN = "900101-1234567"


def test_rrn_refused_during_dialog_and_question_asked_again(app, kakao, db, echo, caplog):
    start_echo(app)
    with caplog.at_level(logging.DEBUG, logger="cpoint"):
        reply = kakao.say(USER, f"제 주민번호는 {RRN} 이에요")
    text = reply_texts(reply)
    assert "주민등록번호는 채팅으로 받지 않아요" in text and "색을 알려 주세요" in text
    st = state(db)
    assert st.step == "colour" and RRN not in json.dumps(st.slots, ensure_ascii=False)
    assert "1234567" not in caplog.text
    dump = dump_database(db)
    assert "1234567" not in dump


def test_rrn_without_dialog_is_refused(kakao, db):
    reply = kakao.say(USER, "9001011234567")
    assert "주민등록번호는 채팅으로 받지 않아요" in reply_texts(reply)
    assert "1234567" not in dump_database(db)


def dump_database(db) -> str:
    from core.db import Base

    out = []
    with db.engine.connect() as conn:
        for t in Base.metadata.sorted_tables:
            out.extend(str(row) for row in conn.execute(t.select()))
    return "\n".join(out)


def test_state_survives_a_restart(app, db, clock, config, echo):
    start_echo(app)
    from webhooks import create_app

    again = create_app(config, clock=clock, db=db)
    again.extensions["cpoint_bot"].add_dialog(EchoDialog())
    from tests.auxil.support import Kakao

    reply = Kakao(again.test_client()).say(USER, "파랑")
    assert "숫자" in reply_texts(reply)


def test_expired_dialog_is_forgotten(app, kakao, db, clock, echo):
    start_echo(app)
    clock.advance(hours=25)
    reply = kakao.say(USER, "초록")
    assert "이해하지 못했어요" in reply_texts(reply)
    assert state(db).dialog is None


def test_concurrent_turns_of_one_user_are_serialised(app, db, echo):
    start_echo(app)
    client = app.test_client()
    results, errors = [], []

    def send(word):
        try:
            resp = client.post("/kakao/skills/fallback", json=make_payload(USER, word),
                               headers={"X-Skill-Secret": "test-skill-secret"})
            results.append(resp.status_code)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(w,)) for w in ("빨강", "파랑")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [200, 200]
    # One turn answered the colour question and the other the number question: the dialog ended
    # exactly once, with a consistent state (no lost update).
    assert state(db).dialog is None


def test_first_turns_of_a_new_user_racing(app, db, echo):
    app.extensions["cpoint_bot"].skills["help"] = echo.start  # each request starts the dialog
    client = app.test_client()
    codes = []

    def send():
        codes.append(client.post("/kakao/skills/help", json=make_payload("u-race-new", "도움말"),
                                 headers={"X-Skill-Secret": "test-skill-secret"}).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 4
    with db.engine.connect() as conn:
        assert conn.execute(sql("SELECT count(*) FROM dialog_states WHERE user_key='u-race-new'")).scalar_one() == 1


class CounterDialog:
    """Counts its turns in a slot: a lost update would show as a smaller count."""

    name = "counter"
    skill = "help"

    def start(self, ctx):
        ctx.dialog.begin("counter", "counting", {"n": 0})
        return ui.text(ctx, "시작")

    def handle(self, ctx):
        ctx.dialog.update(n=ctx.dialog.slots["n"] + 1)
        return ui.text(ctx, str(ctx.dialog.slots["n"]))

    def reprompt(self, ctx):
        return ui.text(ctx, "계속")

    def cancel(self, ctx):
        pass


def test_no_lost_updates_under_concurrent_turns(app, db):
    bot = app.extensions["cpoint_bot"]
    dialog = bot.add_dialog(CounterDialog())
    bot.skills["help"] = dialog.start
    client = app.test_client()
    headers = {"X-Skill-Secret": "test-skill-secret"}
    assert client.post("/kakao/skills/help", json=make_payload("u-count", "세기"), headers=headers).status_code == 200
    codes = []

    def send():
        for _ in range(6):
            codes.append(client.post("/kakao/skills/fallback", json=make_payload("u-count", "하나 더"),
                                     headers=headers).get_json())

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answered = [r for r in codes if "요청번호" not in reply_texts(r)]
    assert len(answered) == 36  # every turn got through (after retries), none failed
    with db.transaction() as s:
        assert s.get(DialogState, "u-count").slots["n"] == 36
