"""One household, whatever the unit looks like; the "household already joined" answer names no
address, is limited per chat user and day, and a citizen who disputes it is queued for operators."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import members as M
from core.local_governments import household_key, parse_address, unit_structure
from core.models import HouseholdDispute
from tests.auxil.scenarios import U1, count_members, make_member, signup_until, state

pytestmark = pytest.mark.usefixtures("lgs")

BASE = "경기도 수원시 영통구 예시로 123"


@pytest.mark.parametrize("unit", ["202동 1504호", "202동 1504호 우리집", "<b>202동</b> 1504호", "제202동 1504",
                                  "202-1504", "202 동 1504 호", "1504호 202동", "&lt;202동&gt; 1504호"])
def test_the_spellings_of_one_unit_are_one_household(unit):
    assert household_key(parse_address(f"{BASE} {unit}")) == household_key(parse_address(f"{BASE} 202동 1504호"))


@pytest.mark.parametrize("a, b", [("지하 1층", "B1층"), ("지하 101호", "B101호"), ("지하1층 101호", "b101호"),
                                  ("2층 201호", "201호"), ("우리집", "")])
def test_floors_and_basements(a, b):
    assert unit_structure(a).key == unit_structure(b).key


@pytest.mark.parametrize("a, b", [("지하 101호", "101호"), ("202동 1504호", "203동 1504호"), ("1504호", "202동 1504호")])
def test_different_units_stay_different(a, b):
    assert unit_structure(a).key != unit_structure(b).key


def test_three_spellings_make_one_member(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-first", address=f"{BASE} 202동 1504호")
    for user, unit in (("u-second", "202동 1504호 우리집"), ("u-third", "<b>202동</b> 1504호")):
        c = signup_until(chat(user), "address")
        c.say(f"{BASE} {unit}")
        assert c.has("가입을 진행할 수 없어요") and state(db, user).step == "address"
    assert count_members(db) == 1


def test_the_answer_names_no_address_and_gives_the_call_centre(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-family", address=f"{BASE} 202동 1504호")
    c = signup_until(chat(U1), "address")
    c.say(f"{BASE} 202동 1504호")
    assert c.has("1660-2030") and "1504" not in c.text and "202" not in c.text and "김" not in c.text
    assert "제가 가입하지 않았어요" in c.labels


@pytest.fixture
def patient(config):
    config.bot.max_failures = 100  # no help offer in between: every answer is the address step's


def test_refusals_are_limited_per_user_and_day(patient, chat, db, cipher, clock, config):
    limit = config.bot.household_refusals_per_day
    assert limit == 5
    make_member(db, cipher, clock, "u-family", address=f"{BASE} 202동 1504호")
    c = signup_until(chat(U1), "address")
    for _ in range(limit):
        c.say(f"{BASE} 202동 1504호")
        assert c.has("가입을 진행할 수 없어요")
    c.say(f"{BASE} 303동 101호")  # free, but no address is checked any more today
    assert c.has("오늘은 주소 확인을 더 진행할 수 없어요", "1660-2030") and state(db, U1).step == "address"
    clock.advance(hours=25)
    signup_until(chat(U1), "address").say(f"{BASE} 303동 101호")
    assert state(db, U1).step == "billing_mode"


def test_a_disputed_household_is_queued_for_operators(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-before", address=f"{BASE} 202동 1504호")
    c = signup_until(chat(U1), "address")
    c.say(f"{BASE} 202동 1504호")
    c.tap("제가 가입하지 않았어요")
    assert c.has("확인 요청을 접수했어요", "1660-2030") and state(db, U1).dialog is None
    with db.transaction() as s:
        disputes = list(s.scalars(select(HouseholdDispute)))
        assert len(disputes) == 1 and disputes[0].state == "open" and disputes[0].bot_user_key == U1
        assert disputes[0].address == f"{BASE} 202동 1504호"
        M.resolve_household_dispute(s, clock, disputes[0].id, "operator-1", "checked the register")
        assert M.household_disputes(s) == []


def test_operators_list_and_resolve_disputes(app, chat, db, cipher, clock):
    import json

    from tests.auxil.engine import cli

    make_member(db, cipher, clock, "u-before", address=f"{BASE} 202동 1504호")
    c = signup_until(chat(U1), "address")
    c.say(f"{BASE} 202동 1504호")
    c.tap("제가 가입하지 않았어요")
    listed = json.loads(cli(app, "disputes", "list", "--json").output)
    assert [d["address"] for d in listed] == [f"{BASE} 202동 1504호"] and listed[0]["mobile"].endswith("5678")
    r = cli(app, "disputes", "resolve", str(listed[0]["id"]), "--note", "former tenant; moved out")
    assert r.exit_code == 0, r.output
    assert json.loads(cli(app, "disputes", "list", "--json").output) == []
    assert cli(app, "disputes", "resolve", str(listed[0]["id"]), "--note", "again").exit_code == 2


def test_stored_hashes_the_new_key_would_change_are_reported_not_rewritten(app, db, cipher, clock):
    import json

    from core.members import HOUSEHOLD_PURPOSE
    from core.models import Member
    from tests.auxil.engine import cli

    first = make_member(db, cipher, clock, "u-1", address=f"{BASE} 202동 1504호")
    second = make_member(db, cipher, clock, "u-2", address=f"{BASE} 203동 1504호", electricity="1111111111")
    assert json.loads(cli(app, "households", "check", "--json").output)["changed"] == []
    with db.transaction() as s:  # as the old key stored it: the raw unit text was part of it
        m = s.get(Member, second)
        m.address_detail = "202동 1504호 우리집"
        m.household_hash = cipher.keyed_hash(f"{BASE}|202동1504호우리집", purpose=HOUSEHOLD_PURPOSE)
        stored = m.household_hash
    r = cli(app, "households", "check", "--json")
    assert r.exit_code == 1
    assert json.loads(r.output) == {"checked": 2, "changed": [second], "collisions": [[first, second]]}
    with db.session() as s:
        assert s.get(Member, second).household_hash == stored  # nothing rewritten
