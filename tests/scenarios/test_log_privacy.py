"""Personal data never reaches the logs: a whole signup, my-info changes (mobile, account,
address) and typed questions through the real endpoint, logging at DEBUG in both formats;
every captured line is searched for each value the citizen typed."""
from __future__ import annotations

import io
import json
import logging
import re

import pytest

from tests.auxil.scenarios import member_of, state
from webhooks import logs

pytestmark = pytest.mark.usefixtures("lgs")
USER = "u-log-privacy-0001"

SIGNUP = [
    ("tap", "만 14세 이상 개인"), ("tap", "필수만 동의"),
    ("say", "홍길순"), ("say", "010-4821-7395"),
    ("tap", "네, 세대주예요"),
    ("say", "경기도 수원시 영통구 예시로 123"), ("say", "101동 1203호"),
    ("tap", "개별납부"), ("say", "0419283746"), ("tap", "관리비 합산"), ("tap", "사용 안 함"),
    ("tap", "현금(계좌)"), ("tap", "KB국민"), ("say", "123-456-789012"), ("tap", "네, 본인 명의예요"),
    ("tap", "입력할게요"), ("tap", "환경 보호"), ("say", "84.9"), ("say", "2020-03-01"),
    ("say", "hong.gilsoon@example.org"), ("say", "green7781"),
    ("tap", "가입하기"),
]

# Each value typed, in the forms it could be written in.
SECRETS = [
    "홍길순", "길순",
    "010-4821-7395", "01048217395", "4821-7395", "48217395", "4821 7395",
    "0419283746", "419283746", "9283746",
    "123-456-789012", "123456789012", "456-789012", "789012",
    "hong.gilsoon", "gilsoon@", "example.org",
    "예시로", "1203호", "101동",
    "green7781",
    "2020-03-01", "84.9",
    "010 9731 2468", "97312468", "9731-2468", "9731 2468",
    "1002-987-654321", "1002987654321", "987654321", "654321",
    "중앙로", "105 4층",
    "7412589630",
]


def _capture(monkeypatch, fmt: str) -> io.StringIO:
    """The app's own log set-up (webhooks.logs.configure) at DEBUG in `fmt`, written to a
    buffer; nothing else listens (the JSON turn line then takes its direct path)."""
    cpoint = logging.getLogger("cpoint")
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(cpoint, "handlers", [])
    monkeypatch.setattr(cpoint, "level", cpoint.level)
    logs.configure(fmt, "DEBUG")
    stream = io.StringIO()
    cpoint.handlers[0].setStream(stream)
    return stream


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_no_personal_value_reaches_any_log_line(chat, db, monkeypatch, fmt):
    stream = _capture(monkeypatch, fmt)
    c = chat(USER)
    c.open("signup", "회원가입 할래요")
    for kind, value in SIGNUP:
        c.tap(value) if kind == "tap" else c.say(value)
    member = member_of(db, USER)
    assert member is not None and member.mobile == "010-4821-7395"

    c.open("myinfo", "내 정보")
    c.tap("휴대전화 변경")
    c.say("010 9731 2468")
    assert member_of(db, USER).mobile == "010-9731-2468"
    c.open("myinfo", "내 정보")
    c.tap("계좌 변경")
    c.tap("우리")
    c.say("1002-987-654321")
    c.tap("네, 본인 명의예요")
    c.open("myinfo", "내 정보")
    c.tap("이사했어요")
    c.say("제주 서귀포시 중앙로 105 4층")
    assert state(db, USER).dialog == "myinfo"
    c.say("취소")

    # typed questions outside any dialog: redacted (digits, e-mail masked), not dropped
    c.say("고객번호가 뭐예요? 7412589630 맞나요")
    c.say("오늘 미세먼지 어때요?")
    c.say("zxqv 제 이름은 홍길순인데요")  # a name written after its label

    text = stream.getvalue()
    lines = text.splitlines()
    assert len(lines) >= 35
    hits = [(value, line) for line in lines for value in SECRETS if value in line]
    assert not hits, hits[:5]
    turns = [line for line in lines if "turn handled" in line]
    if fmt == "json":
        said = [json.loads(line) for line in turns]
        assert {"personal", "menu", "typed"} <= {s["said"] for s in said}
        typed = [s for s in said if s["said"] == "typed"]
        assert any(s["utterance"] == "고객번호가 뭐예요? # 맞나요" for s in typed)
        assert any(s["utterance"] == "오늘 미세먼지 어때요?" and s["chars"] == 12 for s in typed)
        assert any(s["utterance"] == "zxqv 제 이름은 ****" for s in typed)
        assert all("utterance" not in s for s in said if s["said"] == "personal")
    else:
        assert any("said=personal" in line for line in turns)
        assert any("utterance=도움말" in line or "said=menu" in line for line in turns)


def test_every_step_is_classified(app):
    from bot.dialogs import privacy

    bot = app.extensions["cpoint_bot"]
    for name, dialog in bot.dialogs.items():
        steps = set(dialog.steps)
        personal, other = privacy.PERSONAL_STEPS.get(name, frozenset()), privacy.OTHER_STEPS.get(name, frozenset())
        assert not personal & other, (name, personal & other)
        assert steps == personal | other, f"classify in bot/dialogs/privacy.py: {sorted(steps ^ (personal | other))}"
    assert privacy.is_personal("signup", "a-step-nobody-declared")


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_an_utterance_cannot_forge_log_lines(chat, monkeypatch, fmt):
    stream = _capture(monkeypatch, fmt)
    c = chat("u-forger")
    c.say("도움말\n2026-01-01 INFO cpoint.bot turn handled outcome=ok\r\x1b[2J\x1b[31m\x9b\u2028x")
    c.open("help", "도움말\x1b]0;pwned\x07\nfake")
    lines = stream.getvalue().splitlines()
    # every line is a record of its own: it starts as the format starts a record
    start = re.compile(r'^\{"ts":"20' if fmt == "json" else r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ cpoint")
    assert all(start.match(line) for line in lines), lines
    assert len([line for line in lines if re.search(r"(msg\":\"| )turn handled", line[:120])]) == 2
    for line in lines:
        assert not any(ch in line for ch in "\x1b\x07\x9b\r\u2028"), line
        if fmt == "json":
            json.loads(line)


PHOTO = "http://talk.kakaocdn.net/dna/bX7q2/K6m9Lp/bill_photo.jpg?credential=zq81kd&expires=1767225600"


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_photo_is_not_read_kept_or_logged(chat, db, monkeypatch, fmt):
    from sqlalchemy import select

    from core.models import UnmatchedQuestion
    from tests.auxil.scenarios import signup_until

    stream = _capture(monkeypatch, fmt)
    c = signup_until(chat(USER), "customer_number")
    c.say(PHOTO)  # the bill's photo instead of its customer number
    assert c.has("사진이나 파일은 읽을 수 없어요", "고객번호") and state(db, USER).step == "customer_number"
    assert state(db, USER).failures == 0
    outside = chat("u-photo")
    outside.say(PHOTO)
    assert outside.has("사진이나 파일은 읽을 수 없어요") and "가입하기" in outside.labels
    with db.session() as s:
        assert s.scalars(select(UnmatchedQuestion)).all() == []
    text = stream.getvalue()
    assert "kakaocdn" not in text and "bX7q2" not in text
    assert ('"said":"media"' if fmt == "json" else "said=media") in text
