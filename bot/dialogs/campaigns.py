"""Campaigns (skill `campaigns`): the active ones as a carousel, joining (a pledge recorded
once), `내 캠페인`, and campaign messages: one tap to stop them (`수신거부`), an explicit consent
to receive them again. Broadcasts take their recipients from core.campaigns.campaign_audience(),
so an opt-out here is honoured by the next send.

Taps carry clientExtra {"action": "join" | "leave", "campaign_id": ...} (card buttons; leave on a
joined campaign's card), {"action": "mine"}, {"action": "opt_out"}, {"action": "opt_in"} /
{"action": "opt_in_confirm"}; the same words typed (`내 캠페인`, `수신거부`, `캠페인 참여 취소`)
work too.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from bot import texts, ui
from bot.app import BotApp
from bot.dialogs import answers
from bot.kakao import limits
from bot.kakao.parts import Button, ListItem, Thumbnail
from bot.kakao.response import BasicCard, Card, Carousel, Component, ListCard, SimpleText, TextCard, fit_text
from core import campaigns as C
from core import members as M
from core.clock import kst_date, today_kst

SKILL = "campaigns"
CARDS_MAX = limits.CAROUSEL_ITEMS_MAX


def _t(key: str, **fmt) -> str:
    return texts.t(f"campaigns.{key}", **fmt)


def _date(d: date) -> str:
    return _t("date", year=d.year, month=d.month, day=d.day)


def _period(c) -> str:
    return _t("period", start=c.starts_on.isoformat(), end=c.ends_on.isoformat())


def _button(ctx, label: str, extra: dict, text: str | None = None) -> Button:
    """A card button of this skill. Through a block the shown text may be anything; as a plain
    message it must be routed by keyword, so it is the fixed `캠페인 참여하기` (a campaign title
    could contain words of other features)."""
    block_id = ctx.settings.block_ids.get(SKILL)
    if block_id:
        return Button.block(label, block_id, message_text=text or label, extra=extra)
    return Button.message(label, _t("join_text"), extra=extra)


def _quick_replies(ctx, member) -> list:
    out = []
    if member is not None:
        out.append(ui.qr(ctx, _t("mine_label"), SKILL, {"action": "mine"}))
        if C.may_receive_campaigns(member):
            out.append(ui.qr(ctx, _t("opt_out_label"), SKILL, {"action": "opt_out"}))
        else:
            out.append(ui.qr(ctx, _t("opt_in_label"), SKILL, {"action": "opt_in"}, _t("opt_in_text")))
    else:
        out.append(ui.qr(ctx, _t("signup_label"), "signup"))
    out.append(ui.home_quick_reply(ctx))
    return out


def _member(ctx):
    return M.member_for_user(ctx.session, ctx.turn.user_key, ctx.turn.app_user_id)


def list_reply(ctx, member=None, notice: str | None = None) -> dict:
    today = today_kst(ctx.clock)
    campaigns = C.shown_campaigns(ctx.session, today, member)
    if not campaigns:
        body = _t("none")
        return ui.text(ctx, f"{notice}\n{body}" if notice else body, _quick_replies(ctx, member))
    joined = {c.id for c, _ in C.my_campaigns(ctx.session, member)} if member is not None else set()
    shown = campaigns[:CARDS_MAX]
    with_images = all(c.image_url for c in shown)
    cards: list[Card] = []
    for c in shown:
        extra = {"action": "join", "campaign_id": c.id}
        join_label = _t("joined_label") if c.id in joined else _t("join_label")
        buttons = [_button(ctx, join_label, extra, f"{c.title} {_t('join_label')}")]
        if c.id in joined:
            buttons.append(_button(ctx, _t("leave_label"), {"action": "leave", "campaign_id": c.id},
                                   f"{c.title} {_t('leave_text')}"))
        if c.detail_url:
            buttons.append(Button.web_link(_t("detail_label"), c.detail_url))
        if with_images and c.image_url:
            cards.append(BasicCard(
                thumbnail=Thumbnail(c.image_url, alt_text=fit_text(c.title, limits.ALT_TEXT_MAX)),
                title=fit_text(c.title, limits.BASIC_CARD_TITLE_MAX),
                description=fit_text(f"{c.summary}\n{_period(c)}", limits.BASIC_CARD_DESCRIPTION_MAX),
                buttons=buttons))
        else:  # one card type per carousel: without every image, text cards
            cards.append(TextCard(
                title=fit_text(c.title, limits.TEXT_CARD_TITLE_MAX),
                description=fit_text(f"{c.summary}\n{_period(c)}", limits.TEXT_CARD_DESCRIPTION_CAROUSEL_MAX),
                buttons=buttons))
    intro = _t("intro")
    if len(campaigns) > len(shown):
        intro = f"{intro}\n{_t('more', count=len(campaigns) - len(shown))}"
    if notice:
        intro = f"{notice}\n{intro}"
    return ui.reply([SimpleText(fit_text(intro, limits.SIMPLE_TEXT_MAX)), Carousel(cards)],
                    _quick_replies(ctx, member))


def join(ctx, member, campaign_id) -> dict:
    if member is None:
        return ui.text(ctx, _t("members_only"), [ui.qr(ctx, _t("signup_label"), "signup"), ui.home_quick_reply(ctx)])
    try:
        result = C.pledge(ctx.session, ctx.clock, member, campaign_id if isinstance(campaign_id, str) else "")
    except C.CampaignNotFound:
        return list_reply(ctx, member, notice=_t("not_found"))
    except C.CampaignClosed as exc:
        return list_reply(ctx, member, notice=_t("closed", title=exc.campaign.title, period=_period(exc.campaign)))
    campaign = result.campaign
    if result.created:
        ctx.log.info("campaign pledge", extra={"member_id": member.id, "campaign": campaign.id})
        body = _t("joined", title=campaign.title, period=_period(campaign))
        if not C.may_receive_campaigns(member):
            body = f"{body}\n{_t('tip_opt_in')}"
    else:
        pledged = result.pledge.pledged_at
        body = _t("already", title=campaign.title, date=_date(pledged.date()))
    return ui.text(ctx, body, _quick_replies(ctx, member))


def leave(ctx, member, campaign_id: str | None) -> dict:
    """Leave a campaign: the one tapped or named, else the member's one open campaign (with
    several, the carousel, whose joined cards carry 'leave')."""
    if member is None:
        return ui.text(ctx, _t("members_only"), [ui.qr(ctx, _t("signup_label"), "signup"), ui.home_quick_reply(ctx)])
    if not isinstance(campaign_id, str) or not campaign_id:
        today = today_kst(ctx.clock)
        running = [c for c, _ in C.my_campaigns(ctx.session, member) if C.is_open(c, today)]
        if not running:
            return ui.text(ctx, _t("leave_none"), _quick_replies(ctx, member))
        if len(running) > 1:
            return list_reply(ctx, member, notice=_t("leave_which"))
        campaign_id = running[0].id
    try:
        result = C.leave(ctx.session, ctx.clock, member, campaign_id)
    except C.CampaignNotFound:
        return list_reply(ctx, member, notice=_t("not_found"))
    except C.CampaignClosed as exc:
        return ui.text(ctx, _t("leave_closed", title=exc.campaign.title), _quick_replies(ctx, member))
    if result.left:
        ctx.log.info("campaign left", extra={"member_id": member.id, "campaign": result.campaign.id})
    return ui.text(ctx, _t("left" if result.left else "not_joined", title=result.campaign.title),
                   _quick_replies(ctx, member))


def asks_to_leave(typed: str) -> bool:
    """Squashed text asking to leave a campaign ("그만둘래요", "참여 취소"), not its messages
    ("캠페인 알림 그만둘래요" stops the messages, "수신거부 취소" takes their stop back)."""
    return (any(w in typed for w in _listed("leave")) and not any(w in typed for w in _listed("messages"))
            and not any(w in typed for w in (*_listed("stay"), *_words("opt_out"))))


def mine(ctx, member) -> dict:
    if member is None:
        return ui.text(ctx, _t("members_only"), [ui.qr(ctx, _t("signup_label"), "signup"), ui.home_quick_reply(ctx)])
    rows = C.my_campaigns(ctx.session, member)
    qrs = [ui.qr(ctx, _t("list_label"), SKILL, {"action": "list"})] + _quick_replies(ctx, member)[1:]  # "캠페인 보기"
    if not rows:
        return ui.text(ctx, _t("mine_none"), qrs)
    today = today_kst(ctx.clock)
    most = limits.LIST_CARD_ITEMS_MAX
    items = [ListItem(fit_text(c.title, 50),
                      _t("mine_item", date=kst_date(p.pledged_at).isoformat(),
                         state=_t("state_open") if C.is_open(c, today) else _t("state_closed")))
             for c, p in rows[:most]]
    outputs: list[Component] = [ListCard(_t("mine_title"), items)]
    notes = [_t("mine_more", count=len(rows) - most)] if len(rows) > most else []
    if any(C.is_open(c, today) for c, _ in rows):
        notes.append(_t("mine_leave_hint"))
    if notes:
        outputs.append(SimpleText("\n".join(notes)))
    return ui.reply(outputs, qrs)


def opt_out(ctx, member) -> dict:
    today = _date(today_kst(ctx.clock))
    if member is None:
        return ui.menu_reply(ctx, _t("opt_out_not_member"), member=False)
    if not C.may_receive_campaigns(member) and member.campaign_opt_out:
        return ui.text(ctx, _t("already_out", date=today), _quick_replies(ctx, member))
    M.set_marketing(ctx.session, ctx.clock, member, False)
    ctx.log.info("campaign opt-out", extra={"member_id": member.id})
    return ui.text(ctx, _t("opted_out", date=today), _quick_replies(ctx, member))


def opt_in(ctx, member, confirmed: bool) -> dict:
    if member is None:
        return ui.text(ctx, _t("members_only"), [ui.qr(ctx, _t("signup_label"), "signup"), ui.home_quick_reply(ctx)])
    if not confirmed:
        return ui.text(ctx, _t("opt_in_question"), [
            ui.qr(ctx, _t("opt_in_confirm_label"), SKILL, {"action": "opt_in_confirm"}, _t("opt_in_confirm_text")),
            ui.home_quick_reply(ctx)])
    M.set_marketing(ctx.session, ctx.clock, member, True)
    ctx.log.info("campaign opt-in", extra={"member_id": member.id})
    return ui.text(ctx, _t("opted_in", date=_date(today_kst(ctx.clock))), _quick_replies(ctx, member))


def _squash(text: str | None) -> str:
    return "".join((text or "").split()).lower()


def _words(key: str) -> tuple[str, ...]:
    """A typed word of campaigns.words in every language the bot speaks."""
    return tuple(texts.t(f"campaigns.words.{key}", lang=lang).lower() for lang in texts.LANGUAGES)


@lru_cache(maxsize=32)
def _listed(key: str) -> tuple[str, ...]:
    """The words of campaigns.words.<key> (a list) in every language, without spaces (read once:
    asked on every typed message)."""
    return tuple(_squash(w) for lang in texts.LANGUAGES for w in texts.raw("campaigns.words", lang=lang).get(key, ()))


def named_reply(ctx) -> dict | None:
    """Typed text that names an open campaign by its title ("냉방 1도 올리기 참여할래요", a reply
    to its message): joined when the text asks to take part, else the campaigns shown; None
    when no single campaign is named. Only text with a word of campaigns.words.named_with is
    looked at (one small read of the open titles)."""
    said = (ctx.turn.utterance or "").lower()
    if ctx.turn.client_extra or not any(w in said for w in _listed("named_with")):
        return None  # a tap carries its campaign in its extra; most text names none (one word each)
    typed = _squash(said)
    generic = set(_listed("title_generic"))
    scores: dict[str, tuple[int, int]] = {}
    member = _member(ctx)
    # only the campaigns meant for the member (their 시군구's and segment's), as the carousel
    for c in C.active_campaigns(ctx.session, today_kst(ctx.clock), member=member):
        words = [w for w in (_squash(x) for x in c.title.split()) if len(w) >= 2 and w not in generic]
        hits = [w for w in words if w in typed]
        # two of its words, or one said with 캠페인/챌린지 ("텀블러 캠페인 참여")
        enough = len(hits) >= 2 or (len(hits) == 1 and any(w in typed for w in _listed("campaign_word")))
        if words and enough and 2 * len(hits) >= len(words):
            scores[c.id] = (len(hits), sum(map(len, hits)))
    leaving = asks_to_leave(typed)
    asked = answers.looks_like_question(ctx.turn.utterance)  # "참여 취소하면 어떻게 돼요?": nothing done
    if not scores:
        # "캠페인 참여 취소": the member's one running campaign (or the carousel to choose)
        if not (leaving and any(w in typed for w in _listed("campaign_word"))):
            return None
        return leave_info(ctx, member) if asked else leave(ctx, member, None)
    best = max(scores.values())
    named = [cid for cid, score in scores.items() if score == best]
    if len(named) != 1:
        return None
    if leaving:  # before joining: "참여 취소" holds the join word 참여
        return leave_info(ctx, member) if asked else leave(ctx, member, named[0])
    if any(w in typed for w in _listed("join")) and not asked:
        return join(ctx, member, named[0])
    return list_reply(ctx, member)


def leave_info(ctx, member) -> dict:
    """How to leave, for a member who asked about it: the campaigns, with their buttons."""
    return list_reply(ctx, member, notice=_t("leave_info"))


def opt_out_info(ctx, member) -> dict:
    """What refusing the messages does, for a member who asked: one tap away, nothing changed."""
    return ui.text(ctx, _t("opt_out_info"), _quick_replies(ctx, member))


def campaigns_skill(ctx) -> dict:
    extra = ctx.turn.client_extra or {}
    action = extra.get("action")
    typed = _squash(ctx.turn.utterance)
    member = _member(ctx)
    if action == "leave":
        return leave(ctx, member, extra.get("campaign_id"))
    if action == "join" or (action is None and "campaign_id" in extra):
        return join(ctx, member, extra.get("campaign_id"))
    asked = not action and answers.looks_like_question(ctx.turn.utterance)
    if not action and asks_to_leave(typed):
        return leave_info(ctx, member) if asked else leave(ctx, member, None)
    if not action and any(w in typed for w in _listed("stay")):
        return mine(ctx, member)  # "캠페인 그만두지 않을래요": nothing left, their campaigns shown
    if action == "mine" or (not action and (typed in _words("mine") or any(w in typed for w in _listed("mine_in")))):
        return mine(ctx, member)
    # the opt-out word works in every language whatever the chat's (the advertising says it)
    # ... and so do words asking the messages to stop ("캠페인 알림 그만", "소식 안 받을래요")
    stops = not action and any(w in typed for w in (*_words("opt_out"), *_listed("stop")))
    if stops and any(w in typed for w in _listed("undo_stop")):
        # "수신거부 철회할게요": the opt-out taken back, which asks for the explicit consent
        return opt_in(ctx, member, False)
    if action == "opt_out" or stops:
        # asked about ("수신거부하면 뭐가 달라져요?"): what it does and its button; said: done
        return opt_out_info(ctx, member) if asked else opt_out(ctx, member)
    if action in ("opt_in", "opt_in_confirm"):
        return opt_in(ctx, member, action == "opt_in_confirm")
    return list_reply(ctx, member)


def register(app: BotApp) -> None:
    app.skill(SKILL)(campaigns_skill)
