"""Replies of free-text understanding that belong to no skill: the close call ("혹시 이걸
물으신 건가요?"), not understood (menu plus a person), and small talk (a person, thanks, insults)."""
from __future__ import annotations

import orjson

from bot import texts, ui
from bot.kakao import limits
from bot.kakao.parts import Button, QuickReply
from bot.kakao.response import SimpleText, TextCard, fit_text


def intent_quick_reply(ctx, intent: str, skill: str) -> QuickReply:
    """A quick reply that leads to `intent`'s answer when tapped: its extra names the intent,
    which the router runs whatever block or text the tap arrives with."""
    from bot import understanding

    label = fit_text(understanding.label(intent), limits.QUICK_REPLY_LABEL_MAX)
    return ui.qr(ctx, label, skill, {"intent": intent}, label)


def choices_reply(ctx, choices: list[tuple[str, str]]) -> dict:
    """`choices`: (intent, skill of its block) pairs, best first."""
    qrs = [intent_quick_reply(ctx, intent, skill) for intent, skill in choices]
    qrs.append(person_quick_reply(ctx))
    qrs.append(ui.home_quick_reply(ctx))
    return ui.text(ctx, texts.t("understanding.did_you_mean"), qrs)


def person_quick_reply(ctx) -> QuickReply:
    return intent_quick_reply(ctx, "human", "help")


_BUILT: dict[tuple, bytes] = {}


def _built_once(ctx, name: str, build) -> dict:
    """A reply that is the same for every user under one configuration and language: built
    once by `build(ctx)`, handed out as a fresh copy (parsing the cached JSON is cheaper than
    a deep copy; as ui.help_reply is)."""
    s = ctx.settings
    key = (name, s.call_centre, s.channel_chat_url, s.handoff_operator_button,
           tuple(sorted(s.block_ids.items())), texts.current(), ui.known_member(ctx))  # a member's menu differs
    body = _BUILT.get(key)
    if body is None:
        if len(_BUILT) >= 64:  # configurations are few; tests make many
            _BUILT.clear()
        body = _BUILT[key] = orjson.dumps(build(ctx))
    return orjson.loads(body)


def not_understood_reply(ctx) -> dict:
    """The menu and a person: '상담원 연결' among the quick replies and, when the channel's 1:1
    chat is configured (CHANNEL_CHAT_URL), a card with its link and the call centre."""
    ctx.outcome = "unmatched"
    return _built_once(ctx, "not_understood", _not_understood)


def _not_understood(ctx) -> dict:
    s = ctx.settings
    if not s.channel_chat_url:
        reply = ui.menu_reply(ctx, texts.t("understanding.not_understood", call_centre=s.call_centre))
        reply["template"]["quickReplies"].append(person_quick_reply(ctx).to_dict())
        return reply
    card = TextCard(description=fit_text(texts.t("understanding.not_understood_chat", call_centre=s.call_centre),
                                         limits.TEXT_CARD_DESCRIPTION_MAX), buttons=person_buttons(ctx))
    return ui.reply([card], [*ui.menu_quick_replies(ctx), person_quick_reply(ctx)])


def person_buttons(ctx) -> list[Button]:
    """The 1:1 chat link (when configured) and the call centre; with HANDOFF_OPERATOR_BUTTON,
    Kakao's `operator` action first (the channel's 상담 연결 plugin hands the chat to staff)."""
    s = ctx.settings
    buttons = []
    if s.handoff_operator_button:
        buttons.append(Button.operator(texts.t("understanding.operator_label")))
    if s.channel_chat_url:
        buttons.append(Button.web_link(texts.t("understanding.chat_label"), s.channel_chat_url))
    buttons.append(Button.phone(texts.t("understanding.call_label"), s.call_centre))
    return buttons


def human_reply(ctx, *, handoff: bool = False) -> dict:
    """A person: the 1:1 chat and the call centre, and a summary the citizen can paste (their
    recent questions the bot did not understand, masked, and their masked member number).
    `handoff`: offered by the bot after repeated misunderstanding, not asked for."""
    from bot import handoff as H

    summary = fit_text(H.summary(ctx), limits.SIMPLE_TEXT_MAX)
    H.forget(ctx)
    ctx.outcome = "handoff"
    # Everything but the summary is the same for every user: built once, the summary set
    # into the fresh copy.
    reply = _built_once(ctx, "handoff" if handoff else "human", lambda c: _human(c, handoff))
    reply["template"]["outputs"][2]["simpleText"]["text"] = summary
    return reply


def _human(ctx, handoff: bool) -> dict:
    s = ctx.settings
    if handoff:
        text_key = "understanding.handoff"
    else:
        text_key = "understanding.human_chat" if s.channel_chat_url else "understanding.human"
    card = TextCard(description=fit_text(texts.t(text_key, call_centre=s.call_centre),
                                         limits.TEXT_CARD_DESCRIPTION_MAX), buttons=person_buttons(ctx))
    outputs = [card, SimpleText(texts.t("understanding.summary_intro")), SimpleText(_SUMMARY_SLOT)]
    return ui.reply(outputs, ui.menu_quick_replies(ctx))


_SUMMARY_SLOT = "-"  # stands for the summary in the cached reply


def thanks_reply(ctx) -> dict:
    return ui.menu_reply(ctx, texts.t("understanding.thanks"))


def insult_reply(ctx) -> dict:
    reply = ui.menu_reply(ctx, texts.t("understanding.insult", call_centre=ctx.settings.call_centre))
    reply["template"]["quickReplies"].append(person_quick_reply(ctx).to_dict())
    return reply
