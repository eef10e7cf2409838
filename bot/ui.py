"""Replies shared by many skills: the main menu, quick replies that reach a skill, errors.

Quick replies use Open Builder `block` actions when the block id of the target skill is
configured (KAKAO_BLOCK_IDS), and `message` actions otherwise; either way the `extra` arrives
as clientExtra and the router does not depend on which path was taken (protocol §4.4)."""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson

from bot import texts
from bot.kakao import limits
from bot.kakao.parts import Button, QuickReply
from bot.kakao.response import SimpleText, SkillResponse, TextCard, fit_text

MAIN_MENU = ("signup", "balance", "campaigns", "greenlife", "myinfo", "help")


def qr(ctx, label: str, skill: str, extra: Mapping[str, Any] | None = None, text: str | None = None) -> QuickReply:
    block_id = ctx.settings.block_ids.get(skill) if ctx is not None else None
    items = tuple(sorted((extra or {}).items()))
    try:
        return _qr(label, block_id, items, text)
    except TypeError:  # an unhashable extra value: build it every time
        return _build_qr(label, block_id, items, text)


def _build_qr(label: str, block_id: str | None, items: tuple, text: str | None) -> QuickReply:
    extra = dict(items) or None
    if block_id:
        return QuickReply.block(label, block_id, message_text=text or label, extra=extra)
    return QuickReply.message(label, text or label, extra=extra)


# Quick replies are immutable and most are the same on every turn (a skill's buttons in one
# language): each is built and checked once.
_qr = lru_cache(maxsize=1024)(_build_qr)


def known_member(ctx) -> bool | None:
    """True when the turn's first read found an active member with this botUserKey (no query);
    None when it cannot say (no member by that key may still be one linked by appUserId)."""
    reach = getattr(ctx, "member_reach", None) if ctx is not None else None
    return True if reach and len(reach) > 3 and reach[3] == "active" else None


def menu_quick_replies(ctx, member: bool | None = None) -> list[QuickReply]:
    """The main menu; without `member`, a member known from the turn's first read is not
    offered '가입하기'."""
    block_ids = tuple(sorted(ctx.settings.block_ids.items())) if ctx is not None else ()
    return list(_menu(block_ids, known_member(ctx) if member is None else member, texts.current()))


@lru_cache(maxsize=64)
def _menu(block_ids: tuple, member: bool | None, lang: str) -> tuple[QuickReply, ...]:
    # Quick replies are immutable and depend only on settings: build them once.
    ids = dict(block_ids)
    out = []
    for skill in MAIN_MENU:
        if member is True and skill == "signup":
            continue
        if member is False and skill == "myinfo":
            continue
        label = texts.t(f"common.menu.{skill}", lang=lang)
        out.append(QuickReply.block(label, ids[skill], message_text=label) if skill in ids
                   else QuickReply.message(label, label))
    return tuple(out)


def home_quick_reply(ctx) -> QuickReply:
    return _action_reply("home", texts.current())


def cancel_quick_reply(ctx) -> QuickReply:
    return _action_reply("cancel", texts.current())


@lru_cache(maxsize=16)
def _action_reply(action: str, lang: str) -> QuickReply:
    label = texts.t(f"common.menu.{action}", lang=lang)
    return QuickReply.message(label, label, extra={"action": action})


def reply(outputs, quick_replies=None, **kw) -> dict:
    return SkillResponse(outputs=list(outputs), quick_replies=list(quick_replies or []), **kw)._built


def text(ctx, body: str, quick_replies=None) -> dict:
    """One simpleText (shortened with … if it would break the limit) and quick replies."""
    return reply([SimpleText(fit_text(body, limits.SIMPLE_TEXT_MAX))], quick_replies)


def menu_reply(ctx, body: str, member: bool | None = None) -> dict:
    # Most of these bodies are fixed texts (fallback, goodbyes): built once per body and
    # handed out as a fresh copy, like help_reply.
    block_ids = tuple(sorted(ctx.settings.block_ids.items())) if ctx is not None else ()
    return orjson.loads(_menu_reply(body, block_ids, known_member(ctx) if member is None else member, texts.current()))


@lru_cache(maxsize=256)
def _menu_reply(body: str, block_ids: tuple, member: bool | None, lang: str) -> bytes:
    return orjson.dumps(text(None, body, list(_menu(block_ids, member, lang))))


def error_reply(request_id: str, call_centre: str) -> dict:
    return reply(
        [SimpleText(texts.t("common.error", request_id=request_id, call_centre=call_centre))],
        [QuickReply.message(texts.t("common.menu.home"), texts.t("common.menu.home"), extra={"action": "home"}),
         QuickReply.message(texts.t("common.menu.help"), texts.t("common.menu.help"))],
    )


def rate_limited_reply() -> dict:
    return reply([SimpleText(texts.t("common.rate_limited"))],
                 [QuickReply.message(texts.t("common.menu.home"), texts.t("common.menu.home"), extra={"action": "home"})])


def prepend_text(response: dict, body: str) -> dict:
    """Put a short notice before an existing reply (used for refusals before a re-ask)."""
    return _add_text(response, body, before=True)


def with_note(response: dict, note: str) -> dict:
    """Say `note` after the first text of an existing reply (an answer given with a change saved)."""
    return _add_text(response, note, before=False)


def _add_text(response: dict, body: str, *, before: bool) -> dict:
    outputs = response["template"]["outputs"]
    first = outputs[0].get("simpleText") if outputs else None
    joined = (f"{body}\n{first['text']}" if before else f"{first['text']}\n\n{body}") if first is not None else ""
    if first is not None and limits.text_length(joined) <= limits.SIMPLE_TEXT_MAX:
        first["text"] = joined
    elif len(outputs) < limits.OUTPUTS_MAX:
        outputs.insert(0 if before or first is None else 1, {"simpleText": {"text": fit_text(body, limits.SIMPLE_TEXT_MAX)}})
    elif before:
        outputs[0] = {"simpleText": {"text": fit_text(body, limits.SIMPLE_TEXT_MAX)}}
    return response


def help_reply(ctx) -> dict:
    s = ctx.settings
    # The same for every user under one configuration: built once, handed out as a fresh copy
    # (parsing the cached JSON is cheaper than deepcopy).
    return orjson.loads(_help(s.call_centre, s.website, tuple(sorted(s.block_ids.items())), texts.current(),
                              known_member(ctx), programme_facts(ctx)))


def programme_facts(ctx) -> tuple[tuple[str, str], ...]:
    """What the help card and the FAQ say of the programme, from the rules in force (the won
    per point, the lowest band, the payout months)."""
    from core.clock import today_kst
    from core.points.periods import Half
    from core.rules import default_rules

    return _programme_facts_of(id(default_rules()), Half.of_date(today_kst(ctx.clock)))


@lru_cache(maxsize=4)
def _programme_facts_of(rules_id: int, half) -> tuple[tuple[str, str], ...]:
    # the help turn is among the busiest: the figures are worked out once per rules (their id:
    # a reload is a new object) and half
    from core.rules import default_rules

    rules = default_rules()
    household = rules.schedule_for("individual", half)
    return (("rate_max", f"{rules.rate.max.normalize():f}"), ("lowest_band", f"{household.lowest_band_rate.normalize():f}"),
            ("payout_h1", str(rules.payout_month[1].month)), ("payout_h2", str(rules.payout_month[2].month)))


@lru_cache(maxsize=16)
def _help(call_centre: str, website: str, block_ids: tuple, lang: str, member: bool | None = None,
          programme: tuple[tuple[str, str], ...] = ()) -> bytes:
    ids = dict(block_ids)
    card = TextCard(
        title=texts.t("help.title"),
        description=fit_text(texts.t("help.programme", **dict(programme)), limits.TEXT_CARD_DESCRIPTION_MAX),
        buttons=[Button.phone(texts.t("help.call_label"), call_centre),
                 Button.web_link(texts.t("help.website_label"), website)],
    )
    faq_label = texts.t("help.faq_label")
    faq = (QuickReply.block(faq_label, ids["help"], message_text=faq_label, extra={"view": "faq"}) if "help" in ids
           else QuickReply.message(faq_label, faq_label, extra={"view": "faq"}))
    return orjson.dumps(reply(
        [SimpleText(texts.t("help.body")), card, SimpleText(texts.t("help.call_centre", call_centre=call_centre))],
        list(_menu(block_ids, member, lang))[:-1] + [faq],
    ))
