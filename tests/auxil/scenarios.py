"""Helpers for scenario tests (import as `from scenario_kit import ...`).

Driving whole conversations through POST /kakao/skills/<skill>, the way Open Builder does.

`chat(user_key)` gives a `Chat`: `say(text)` sends free text on the fallback skill, `tap(label)`
finds the quick reply, card button or list item with that label in the last reply and sends
what Kakao would send for it (its messageText and its `extra` as clientExtra, to the block's
skill for block actions, to the fallback skill for message actions), `post_fixture(name)` posts
a shared fixture file. Every reply is checked with the independent v2.0 validator.
"""
from __future__ import annotations

import copy
import json
from datetime import date

from sqlalchemy import select

from bot.kakao.validate import validate_response
from core import members as M
from core.clock import utcnow_naive
from core.db import Base
from core.local_governments import parse_address
from core.models import Campaign, DialogState, Member
from tests.auxil.support import KAKAO, make_payload, reply_texts

BLOCK_IDS = {"signup": "blk-signup", "balance": "blk-balance", "campaigns": "blk-campaigns",
             "greenlife": "blk-greenlife", "myinfo": "blk-myinfo", "help": "blk-help"}


def walk_actions(reply: dict):
    """Every tappable thing of a reply: (label, action dict)."""
    template = reply.get("template", {})
    for q in template.get("quickReplies", []):
        yield q["label"], q

    def cards(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "buttons":
                    for b in value:
                        yield b["label"], b
                elif key == "items" and isinstance(value, list):
                    for item in value:
                        if isinstance(item, dict) and item.get("action") in ("message", "block"):
                            yield item["title"], item
                        yield from cards(item)
                else:
                    yield from cards(value)
        elif isinstance(node, list):
            for value in node:
                yield from cards(value)

    yield from cards(template.get("outputs", []))


class Chat:
    def __init__(self, kakao, user_key: str, block_skills: dict[str, str], **payload_kw) -> None:
        self.kakao = kakao
        self.user = user_key
        self.block_skills = block_skills  # block id -> skill
        self.payload_kw = payload_kw
        self.last: dict = {}
        self.history: list[dict] = []

    # -- sending -------------------------------------------------------------------------------
    def _post(self, skill: str, payload: dict) -> dict:
        resp = self.kakao.post(skill, payload)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        reply = resp.get_json()
        problems = validate_response(reply)
        assert not problems, problems
        self.last = reply
        self.history.append(reply)
        return reply

    def say(self, text: str, skill: str = "fallback") -> dict:
        return self._post(skill, make_payload(self.user, text, skill, **self.payload_kw))

    def open(self, skill: str, text: str = "") -> dict:
        """The user reaches a block (menu, typed keyword matched by Open Builder)."""
        return self._post(skill, make_payload(self.user, text or skill, skill, **self.payload_kw))

    def send_extra(self, skill: str, text: str, extra: dict, trigger: str = "QUICKREPLY_BUTTON_BLOCK") -> dict:
        return self._post(skill, make_payload(self.user, text, skill, client_extra=extra, trigger=trigger,
                                              **self.payload_kw))

    def find(self, label: str) -> dict:
        found = [a for lbl, a in walk_actions(self.last) if lbl == label]
        assert found, f"no {label!r} in {[lbl for lbl, _ in walk_actions(self.last)]}"
        return found[0]

    def tap(self, label: str) -> dict:
        action = self.find(label)
        kind = action.get("action")
        text = action.get("messageText") or label
        extra = action.get("extra")
        if kind == "block":
            skill = self.block_skills[action["blockId"]]
            return self.send_extra(skill, text, extra or {}, "QUICKREPLY_BUTTON_BLOCK")
        assert kind == "message", f"{label!r} is a {kind} action, not tappable in a test"
        # Open Builder matches no block for the text: it reaches the fallback block.
        return self.send_extra("fallback", text, extra, "QUICKREPLY_BUTTON_MESSAGE")

    def post_fixture(self, name: str, **replace) -> dict:
        """POST a shared fixture file as this user (its skill is the action name)."""
        payload = json.loads((KAKAO / name).read_text(encoding="utf-8"))
        payload = copy.deepcopy(payload)
        user = payload["userRequest"]["user"]
        user["id"] = self.user
        props = user.setdefault("properties", {})
        for key in ("botUserKey", "bot_user_key"):
            if key in props:
                props[key] = self.user
        if "botUserKey" not in props and "bot_user_key" not in props:
            props["botUserKey"] = self.user
        for key, value in replace.items():
            payload["userRequest"][key] = value
        skill = (payload.get("action") or {}).get("name") or "fallback"
        return self._post(skill, payload)

    # -- reading -------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return reply_texts(self.last)

    @property
    def labels(self) -> list[str]:
        return [lbl for lbl, _ in walk_actions(self.last)]

    def has(self, *parts: str) -> bool:
        return all(p in self.text for p in parts)


def state(db, user_key: str) -> DialogState | None:
    with db.session() as s:
        return s.get(DialogState, user_key)


def dump_database(db) -> str:
    out = []
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            out.extend(str(tuple(row)) for row in conn.execute(table.select()))
    return "\n".join(out)


def member_of(db, user_key: str) -> Member | None:
    with db.session() as s:
        return M.member_for_user(s, user_key)


def count_members(db) -> int:
    with db.session() as s:
        return len(s.scalars(select(Member.id)).all())


def make_member(db, cipher, clock, user_key: str, *, address="경기도 수원시 영통구 예시로 123 101동 1203호",
                electricity="0419283746", member_type="individual", opt_in=True, name="김민지", **kw) -> int:
    with db.transaction() as s:
        m = M.create_member(s, cipher, clock, M.SignupData(
            member_type=member_type, user_key=user_key, name=name, mobile="010-2222-3333",
            address=parse_address(address), resources=kw.pop("resources", None) or [
                M.ResourceChoice("electricity", "separate", electricity), M.ResourceChoice("water", "managed_fee"),
                M.ResourceChoice("gas", "not_used")],
            consents={"terms": "t", "privacy": "t", "third_party": "t", "optional": opt_in},
            marketing_opt_in=opt_in, **kw))
        return m.id


def add_campaign(db, clock, cid="cmp-2025-summer-cooling", title="여름철 냉방 1도 올리기",
                 summary="7~8월 냉방 온도를 1도 높여 전기를 아껴요.", starts=date(2026, 11, 1),
                 ends=date(2026, 12, 31), image=True, detail=True) -> None:
    with db.transaction() as s:
        s.add(Campaign(id=cid, title=title, summary=summary,
                       image_url=f"https://example.org/campaigns/{cid}.png" if image else None,
                       detail_url=f"https://example.org/campaigns/{cid}" if detail else None,
                       starts_on=starts, ends_on=ends, active=True, created_at=utcnow_naive(clock)))


# --- the standard signup path ------------------------------------------------------------------

U1 = "974d0044d68ac987994f28b902cff0079fa5064cc62908f1bd5"
ADDRESS = "경기도 수원시 영통구 예시로 123 101동 1203호"

# (step reached, how to answer it) in the order of an individual's signup with every branch taken.
SIGNUP_PATH = [
    ("member_type", ("tap", "만 14세 이상 개인")),
    ("terms", ("tap", "필수만 동의")),
    ("name", ("say", "홍길동")),
    ("mobile", ("say", "010-1234-5678")),
    ("householder", ("tap", "네, 세대주예요")),
    ("address", ("say", "경기도 수원시 영통구 예시로 123")),
    ("address_detail", ("say", "101동 1203호")),
    ("billing_mode", ("tap", "개별납부")),
    ("customer_number", ("say", "0419283746")),
    ("billing_mode:water", ("tap", "관리비 합산")),
    ("billing_mode:gas", ("tap", "사용 안 함")),
    ("incentive_type", ("tap", "현금(계좌)")),
    ("bank", ("tap", "KB국민")),
    ("account_number", ("say", "123-456-789012")),
    ("account_holder", ("tap", "네, 본인 명의예요")),
    ("optional", ("tap", "입력할게요")),
    ("motivation", ("tap", "환경 보호")),
    ("floor_area", ("say", "84.9")),
    ("move_in_date", ("say", "2020-03-01")),
    ("email", ("say", "hong@example.com")),
    ("referrer", ("say", "green123")),
    ("confirm", ("tap", "가입하기")),
]
SIGNUP_STEPS = [name for name, _ in SIGNUP_PATH]


def answer(chat: Chat, how: tuple[str, str]) -> dict:
    kind, value = how
    return chat.tap(value) if kind == "tap" else chat.say(value)


def signup_until(chat: Chat, stop: str | None = None, start: bool = True) -> Chat:
    """Start the signup and answer every question before `stop` (None: finish it)."""
    if start:
        chat.open("signup", "회원가입 할래요")
    for name, how in SIGNUP_PATH:
        if name == stop:
            return chat
        answer(chat, how)
    return chat


# The same signup in English by a foreign resident (issue 14): English buttons and typed words.
SIGNUP_PATH_EN = [
    ("member_type", ("tap", "Foreigner")),
    ("terms", ("tap", "Required only")),
    ("name", ("say", "Maria Kim")),
    ("mobile", ("say", "010-1234-5678")),
    ("householder", ("say", "yes")),
    ("address", ("say", "경기도 수원시 영통구 예시로 123")),
    ("address_detail", ("say", "101동 1203호")),
    ("billing_mode", ("tap", "Own bill")),
    ("customer_number", ("say", "0419283746")),
    ("billing_mode:water", ("tap", "In mgmt fee")),
    ("billing_mode:gas", ("say", "not used")),
    ("incentive_type", ("tap", "Cash (account)")),
    ("bank", ("tap", "KB Kookmin")),
    ("account_number", ("say", "123-456-789012")),
    ("account_holder", ("tap", "Yes, it's mine")),
    ("optional", ("say", "skip")),
    ("confirm", ("tap", "Sign up")),
]
