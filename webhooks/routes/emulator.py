"""The local chat emulator at /emulator: a KakaoTalk-like page for trying the bot without a
Kakao business channel.

The page posts what the person did (typed text, a tapped quick reply, button or list item) to
/emulator/api/send. The server builds the SkillPayload Open Builder would send, chooses the
skill the way Open Builder would (a `block` action calls the skill of its block id through
KAKAO_BLOCK_IDS; typed text and `message` actions reach the fallback block, their `extra` as
clientExtra) and calls its own skill endpoint with the configured secret, so the whole HTTP
edge runs and the secret never reaches the browser.

Off unless EMULATOR_ENABLED (404). It acts only as demo users (keys `demo-...`), never as a
real citizen, so turning it on somewhere shared exposes no one's data but the demo's.
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from sqlalchemy import select

from bot.push.render import event_text
from core.demo import DEMO_CITIZENS, is_demo_user_key
from core.models import Member, Notification

bp = Blueprint("emulator", __name__)
log = logging.getLogger("cpoint.emulator")

DEFAULT_BOT_ID = "emulator-bot"
BOT_NAME = "탄소중립포인트 도우미"
# Notifications shown in the conversation: the ones sent and the ones the outbox would send.
PUSH_STATES = ("pending", "in_flight", "sent", "uncertain")
TRIGGERS = {
    ("text", None): "TEXT_INPUT",
    ("quickReply", "message"): "QUICKREPLY_BUTTON_MESSAGE",
    ("quickReply", "block"): "QUICKREPLY_BUTTON_BLOCK",
    ("button", "message"): "CARD_BUTTON_MESSAGE",
    ("button", "block"): "CARD_BUTTON_BLOCK",
    ("listItem", "message"): "LIST_ITEM_MESSAGE",
    ("listItem", "block"): "LIST_ITEM_BLOCK",
}
MAX_TEXT = 1000


def _cfg():
    return current_app.config["CPOINT"]


@bp.before_request
def _enabled():
    if not _cfg().emulator_enabled:
        abort(404)


def _bad(message: str, status: int = 400):
    return jsonify(error="bad_request", message=message), status


def _block_skills() -> dict[str, str]:
    """Open Builder block id -> skill name (the inverse of KAKAO_BLOCK_IDS)."""
    return {block: skill for skill, block in (_cfg().bot.block_ids or {}).items()}


def _bot_id() -> str:
    return _cfg().kakao_bot_id or DEFAULT_BOT_ID


def build_payload(user_key: str, skill: str, utterance: str, client_extra: dict | None,
                  trigger: str | None, bot_id: str, block_id: str | None = None) -> dict:
    """The SkillPayload Open Builder sends for this turn (protocol §2, §10)."""
    block = {"id": block_id or f"emulator-{skill}", "name": skill}
    props = {"botUserKey": user_key, "plusfriendUserKey": "pf-" + user_key[-12:], "isFriend": True}
    payload: dict[str, Any] = {
        "intent": dict(block),
        "userRequest": {
            "timezone": "Asia/Seoul", "params": {"surface": "Kakaotalk.plusfriend"},
            "block": dict(block), "utterance": utterance, "lang": "ko",
            "user": {"id": user_key, "type": "botUserKey", "properties": props},
        },
        "bot": {"id": bot_id, "name": BOT_NAME},
        "action": {"id": f"emulator-action-{skill}", "name": skill, "params": {}, "detailParams": {},
                   "clientExtra": client_extra or None},
        "contexts": [],
    }
    if trigger:
        payload["flow"] = {"trigger": {"type": trigger}}
    return payload


def route_action(source: str, action: dict | None, text: str | None) -> tuple[str, str, dict | None, str | None, str | None]:
    """What Open Builder does with a tap or typed text: (skill, utterance, clientExtra,
    trigger type, block id). Raises ValueError for something a person could not have done."""
    if source == "text":
        utterance = (text or "").strip()
        if not utterance:
            raise ValueError("empty message")
        if len(utterance) > MAX_TEXT:
            raise ValueError(f"message longer than {MAX_TEXT} characters")
        return "fallback", utterance, None, TRIGGERS[("text", None)], None
    if source == "welcome":
        return "welcome", "", None, None, None
    if source not in ("quickReply", "button", "listItem") or not isinstance(action, dict):
        raise ValueError("unknown source")
    kind = action.get("action")
    label = action.get("label") or action.get("title") or ""
    extra = action.get("extra") if isinstance(action.get("extra"), dict) else None
    utterance = action.get("messageText") or label
    if not isinstance(utterance, str) or not utterance:
        raise ValueError("the tapped element has no text")
    if kind == "block":
        block_id = action.get("blockId")
        skill = _block_skills().get(block_id, "fallback") if isinstance(block_id, str) else "fallback"
        return skill, utterance, extra, TRIGGERS[(source, "block")], block_id
    if kind == "message":
        return "fallback", utterance, extra, TRIGGERS[(source, "message")], None
    raise ValueError(f"a '{kind}' action sends nothing to the bot")


def call_skill(skill: str, payload: dict) -> tuple[int, dict, str]:
    """POST the payload to this server's own skill endpoint, as Open Builder would."""
    cfg = _cfg()
    rid = "emu-" + uuid.uuid4().hex[:20]
    headers = {"Content-Type": "application/json", "X-Request-Id": rid}
    if cfg.skill_secret:
        headers[cfg.skill_secret_header] = cfg.skill_secret
    with current_app.test_client() as client:
        resp = client.post(f"/kakao/skills/{skill}", data=json.dumps(payload, ensure_ascii=False).encode(),
                           headers=headers)
        body = resp.get_json(silent=True) or {"error": resp.get_data(as_text=True)[:500]}
        return resp.status_code, body, resp.headers.get("X-Request-Id", rid)


@bp.get("/emulator")
def page():
    return render_template("emulator.html", citizens=DEMO_CITIZENS, bot_name=BOT_NAME,
                           public_base_url=_cfg().bot.public_base_url)


@bp.get("/emulator/api/users")
def users():
    services = current_app.extensions["cpoint"]
    keys = [c.key for c in DEMO_CITIZENS]
    with services.db.session() as s:
        members = set(s.scalars(select(Member.bot_user_key).where(
            Member.bot_user_key.in_(keys), Member.status == "active")).all())
    return jsonify(users=[{"key": c.key, "name": c.name, "about": c.about, "member": c.key in members}
                          for c in DEMO_CITIZENS])


@bp.post("/emulator/api/send")
def send():
    # JSON only: a cross-site form cannot send application/json without a CORS preflight.
    if not request.is_json:
        return _bad("send JSON", 415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _bad("body must be a JSON object")
    user = body.get("user")
    if not is_demo_user_key(user):
        return _bad("the emulator speaks only as demo users (keys 'demo-...')", 403)
    try:
        skill, utterance, extra, trigger, block_id = route_action(body.get("source"), body.get("action"), body.get("text"))
    except ValueError as exc:
        return _bad(str(exc))
    payload = build_payload(user, skill, utterance, extra, trigger, _bot_id(), block_id)
    status, reply, rid = call_skill(skill, payload)
    log.info("emulator turn", extra={"request_id": rid, "skill": skill, "status": status})
    return jsonify(skill=skill, status=status, request_id=rid, utterance=utterance,
                   request=payload, response=reply)


SHOWN_BY_NOTICE = ("in_flight", "sent", "uncertain")


def _event_text(n: Notification) -> str | None:
    """What the push itself says (the event.data text every recipient of the batch shares)."""
    cfg = _cfg()
    try:
        with current_app.extensions["cpoint"].db.session() as s:
            return event_text(n.kind, n.period, operator=cfg.bot.operator_name, contact=cfg.bot.call_centre, session=s)
    except Exception:  # an unknown kind or a missing broadcast: fall back to the payload
        log.warning("no event text for notification %s", n.id)
        return None


def _render_push(n: Notification, user: str) -> dict:
    """A notification as the member sees it. Sent ones: the event block's notice skill answers
    for the member (clientExtra notice_id, as the '결과 보기' button sends it). Ones the outbox
    would still send: the text of the push itself."""
    if n.state in SHOWN_BY_NOTICE:
        extra = {"notice_id": n.id, "kind": n.kind, "period": n.period}
        payload = build_payload(user, "notice", "", extra, "EVENT", _bot_id())
        payload["action"]["params"] = {"kind": n.kind, "period": n.period}
        status, reply, _ = call_skill("notice", payload)
        if status == 200 and "template" in reply:
            return reply
    text = _event_text(n) or (n.payload or {}).get("text") or f"[{n.kind}] {n.period}"
    return {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": str(text)[:1000]}}]}}


@bp.get("/emulator/api/pushes")
def pushes():
    user = request.args.get("user", "")
    if not is_demo_user_key(user):
        return _bad("the emulator speaks only as demo users (keys 'demo-...')", 403)
    try:
        after = int(request.args.get("after", "0"))
    except ValueError:
        return _bad("after must be a number")
    services = current_app.extensions["cpoint"]
    with services.db.session() as s:
        rows = s.scalars(
            select(Notification).join(Member, Member.id == Notification.member_id)
            .where(Member.bot_user_key == user, Notification.state.in_(PUSH_STATES), Notification.id > after)
            .order_by(Notification.id).limit(20)
        ).all()
    out = []
    for n in rows:
        out.append({"id": n.id, "kind": n.kind, "period": n.period, "state": n.state,
                    "at": (n.sent_at or n.created_at).isoformat() + "Z", "response": _render_push(n, user)})
    return jsonify(pushes=out)
