"""Tolerant parsing of a Kakao SkillPayload into a `Turn` (docs/kakao-skill-protocol.md §2-§3).

Only a usable user id is required; every other field is optional, and a field of the wrong type
is coerced (numbers to text) or dropped, never raised: Kakao adds and renames fields over time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# Precedence of the user key (§2.2): camelCase, then the legacy snake_case spelling, then user.id.
_USER_KEY_PROPERTIES = ("botUserKey", "bot_user_key")
_PLUSFRIEND_KEY_PROPERTIES = ("plusfriendUserKey", "plusfriend_user_key")
DEV_CHANNEL_SUFFIX = "!"


class PayloadError(ValueError):
    """The request cannot be attributed to a user; the edge answers 400."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Turn:
    """One user request, normalised. Dict fields are copies; `raw` is the payload as received."""

    skill: str
    user_key: str
    user_type: str | None = None
    bot_id: str | None = None
    bot_name: str | None = None
    utterance: str = ""
    client_extra: dict[str, Any] = field(default_factory=dict, hash=False)
    params: dict[str, str] = field(default_factory=dict, hash=False)
    detail_params: dict[str, dict[str, str]] = field(default_factory=dict, hash=False)
    action_name: str | None = None
    action_id: str | None = None
    block_id: str | None = None
    block_name: str | None = None
    intent_id: str | None = None
    intent_name: str | None = None
    trigger_type: str | None = None
    plusfriend_user_key: str | None = None
    app_user_id: str | None = None
    is_friend: bool = False
    lang: str | None = None
    timezone: str | None = None
    surface: str | None = None
    is_dev_channel: bool = False
    knowledge: list[dict[str, Any]] = field(default_factory=list, hash=False)
    raw: dict[str, Any] = field(default_factory=dict, hash=False, repr=False, compare=False)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    """Strings as given; numbers as text (ids sometimes arrive as numbers); anything else dropped."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


# Invisible characters a copied text carries (zero-width spaces, a byte-order mark, direction
# marks and overrides, soft hyphens) and control characters other than line breaks and tabs:
# "홍\u200b길동" is 홍길동 to the person who typed it, and an override could make a name read
# backwards to an operator.
_INVISIBLE = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u00ad\u180e\u200b-\u200f"
                        "\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _typed(value: object) -> str | None:
    """What the user typed, without the invisible characters (_INVISIBLE)."""
    text = _text(value)
    # every character of _INVISIBLE is a control or format one, which isprintable() refuses:
    # most texts are printable and skip the search
    return _INVISIBLE.sub("", text) if text and not text.isprintable() else text


def _key(value: object) -> str | None:
    """A user identifier: a non-blank string, nothing else (a number could have lost zeros)."""
    return value if isinstance(value, str) and value.strip() else None


def _param_value(value: object) -> str | None:
    # Map<String,String> per the spec; stray JSON values are kept as JSON text, null dropped.
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return None


def _params(value: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, raw in _dict(value).items():
        text = _param_value(raw)
        if isinstance(name, str) and text is not None:
            out[name] = text
    return out


def _detail_params(value: object) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for name, raw in _dict(value).items():
        if not isinstance(name, str) or not isinstance(raw, dict):
            continue
        out[name] = {k: _param_value(raw.get(k)) or "" for k in ("origin", "value", "groupName")}
    return out


def _first_key(props: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        key = _key(props.get(name))
        if key is not None:
            return key
    return None


def _knowledge(intent: dict[str, Any]) -> list[dict[str, Any]]:
    matched = _dict(_dict(_dict(intent.get("extra")).get("knowledge"))).get("matchedKnowledges")
    if not isinstance(matched, list):
        return []
    return [dict(k) for k in matched if isinstance(k, dict)]


def parse_turn(payload: object, skill: str) -> Turn:
    """Parse a SkillPayload; `skill` is the name taken from the URL (`/kakao/skills/<skill>`)."""
    if not isinstance(payload, dict):
        raise PayloadError("payload is not a JSON object")
    request = payload.get("userRequest")
    if not isinstance(request, dict):
        raise PayloadError("userRequest missing or not an object")
    user = _dict(request.get("user"))
    props = _dict(user.get("properties"))
    user_key = _first_key(props, _USER_KEY_PROPERTIES) or _key(user.get("id"))
    if user_key is None:
        raise PayloadError("no usable user id (userRequest.user.id / properties.botUserKey)")

    bot = _dict(payload.get("bot"))
    action = _dict(payload.get("action"))
    intent = _dict(payload.get("intent"))
    block = _dict(request.get("block"))
    trigger = _dict(_dict(payload.get("flow")).get("trigger"))
    bot_id = _text(bot.get("id"))
    return Turn(
        skill=skill,
        user_key=user_key,
        user_type=_text(user.get("type")),
        bot_id=bot_id,
        bot_name=_text(bot.get("name")),
        utterance=_typed(request.get("utterance")) or "",
        client_extra=dict(_dict(action.get("clientExtra"))),
        params=_params(action.get("params")),
        detail_params=_detail_params(action.get("detailParams")),
        action_name=_text(action.get("name")),
        action_id=_text(action.get("id")),
        block_id=_text(block.get("id")),
        block_name=_text(block.get("name")),
        intent_id=_text(intent.get("id")),
        intent_name=_text(intent.get("name")),
        trigger_type=_text(trigger.get("type")),
        plusfriend_user_key=_first_key(props, _PLUSFRIEND_KEY_PROPERTIES),
        app_user_id=_text(props.get("appUserId")),
        # Kakao sends true for friends and omits the field otherwise (§3).
        is_friend=props.get("isFriend") is True,
        lang=_text(request.get("lang")),
        timezone=_text(request.get("timezone")),
        surface=_text(_dict(request.get("params")).get("surface")),
        is_dev_channel=bool(bot_id and bot_id.endswith(DEV_CHANNEL_SUFFIX)),
        knowledge=_knowledge(intent),
        raw=payload,
    )


def sys_param(turn: Turn, name: str) -> Any:
    """A param value, with system-entity JSON (`sys_number` -> {"amount": 1, "unit": None}) decoded.

    Only JSON objects/arrays are decoded; anything else comes back as the plain string, so "0419"
    stays "0419". Never read a customer number through sys_number: use `origin` or the utterance.
    Returns None when the param is absent.
    """
    value = turn.params.get(name)
    if value is None:
        detail = turn.detail_params.get(name)
        value = detail["value"] if detail else None
    if value is None:
        return None
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, (dict, list)) else value


def origin(turn: Turn, name: str) -> str | None:
    """The user's own words for a param (detailParams.<name>.origin), or None when absent."""
    detail = turn.detail_params.get(name)
    return detail["origin"] if detail else None
