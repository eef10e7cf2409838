"""Push preferences (알림 설정), a screen of my info: each topic on or off (monthly results,
campaign messages, reminders) and the quiet green-life digest. Payout notices and held-payment
warnings are critical: the screen says they cannot be turned off.

Stateless: taps carry {"dialog": "notify"} (the screen), {"dialog": "notify", "topic": T,
"on": bool} or {"dialog": "notify", "digest": bool}; the router hands them here by the name.
A change typed with its topic ("월별 결과 끄고 캠페인도 꺼줘", "리마인더 다시 받을래요", "적립 알림
모아서 받을래요") is made as its taps would make it; typed text naming no topic, or both turning
off and on, gets the screen. Turning campaign messages on goes through the campaigns skill's
explicit consent, typed or tapped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bot import texts, ui
from bot.app import BotApp
from bot.dialogs import answers
from bot.kakao import limits
from bot.kakao.response import TextCard, fit_text
from core import push_preferences as P

NAME = "notify"


def _t(key: str, **fmt) -> str:
    return texts.t(f"notify.{key}", **fmt)


def entry_quick_reply(ctx):
    """The quick reply that opens this screen (my info shows it)."""
    return ui.qr(ctx, _t("label"), "myinfo", {"dialog": NAME})


def screen(ctx, member, notice: str | None = None) -> dict:
    prefs = P.preferences(member)
    state = {True: _t("on"), False: _t("off")}
    lines = [f"{_t(f'topics.{topic}')}: {state[prefs.on(topic)]}" for topic in P.TOPICS]
    lines.append(f"{_t('digest')}: {state[prefs.greenlife_digest]}")
    body = "\n".join([*lines, "", _t("critical")])
    card = TextCard(title=_t("title"), description=fit_text(body, limits.TEXT_CARD_DESCRIPTION_MAX))
    qrs = []
    for topic in P.TOPICS:
        on = prefs.on(topic)
        if topic == "campaign" and not on:  # advertising: the campaigns skill's explicit consent
            qrs.append(ui.qr(ctx, _t("turn_on.campaign"), "campaigns", {"action": "opt_in"},
                             texts.t("campaigns.opt_in_text")))
            continue
        key = "turn_off" if on else "turn_on"
        qrs.append(ui.qr(ctx, _t(f"{key}.{topic}"), "myinfo", {"dialog": NAME, "topic": topic, "on": not on}))
    digest = "digest_off" if prefs.greenlife_digest else "digest_on"
    qrs.append(ui.qr(ctx, _t(digest), "myinfo", {"dialog": NAME, "digest": not prefs.greenlife_digest}))
    qrs.append(ui.home_quick_reply(ctx))
    response = ui.reply([card], qrs)
    return ui.prepend_text(response, notice) if notice else response


@dataclass
class TypedChange:
    topics: dict[str, bool] = field(default_factory=dict)  # topic -> on
    digest: bool | None = None
    critical: bool = False  # a payout or held-payment notice named: never turned off

    def __bool__(self) -> bool:
        return bool(self.topics) or self.digest is not None or self.critical


def typed_change(text: str | None) -> TypedChange:
    """What a typed request changes (answers.toml [notify]); empty for a question, for text
    naming no topic, and for a topic said with both off and on words."""
    t = answers.squash(text)
    if not t or answers.looks_like_question(text):
        return TypedChange()
    keep = answers.says_any(t, "notify.keep")
    rest = t
    for w in answers.squashed_words("notify.keep"):  # "끄지 마세요": its 끄 is no off word
        rest = rest.replace(w, " ")
    off_words = answers.squashed_words("notify.off")
    off = any(w in rest for w in off_words)
    for w in off_words:  # "안 받을래요": its 받을래 is no on word
        rest = rest.replace(w, " ")
    on = keep or answers.says_any(rest, "notify.on")
    digest = True if answers.says_any(t, "notify.digest_on") else (
        False if answers.says_any(t, "notify.digest_off") else None)
    topics = [k for k in P.TOPICS if answers.says_any(t, f"notify.{k}")]
    if not topics and answers.says_any(t, "notify.all"):
        topics = list(P.TOPICS)
    polarity = False if off and not on else (True if on and not off else None)
    return TypedChange({k: polarity for k in topics} if polarity is not None else {}, digest,
                       answers.says_any(t, "notify.critical") and polarity is False)


def apply_typed(ctx, member, change: TypedChange) -> dict:
    """The typed change made (in the turn's transaction), and the screen with what was done."""
    prefs = P.preferences(member)
    notices, dropped = [], 0
    for topic, on in change.topics.items():
        name = _t(f"topics.{topic}")
        if topic == "campaign" and on and not prefs.on(topic):
            notices.append(_t("campaign_consent"))  # advertising: only with the explicit consent
            continue
        if prefs.on(topic) == on:
            notices.append(_t("already_on", topic=name) if on else _t("already_off", topic=name))
            continue
        dropped += P.set_topic(ctx.session, ctx.clock, member, topic, on)
        ctx.log.info("push preference changed", extra={"topic": topic, "on": on, "typed": True})
        notices.append(_t("turned_on", topic=name) if on else _t("turned_off", topic=name))
    if change.digest is not None and change.digest != prefs.greenlife_digest:
        dropped += P.set_digest(ctx.session, member, change.digest, now=ctx.clock.now())
        notices.append(_t("digest_saved_on") if change.digest else _t("digest_saved_off"))
    if dropped:
        notices.append(_t("dropped", count=dropped))
    if change.critical:
        notices.append(_t("critical"))
    ctx.outcome = "completed"
    return screen(ctx, member, " ".join(notices) if notices else None)


class NotifyDialog:
    name = NAME
    skill = "myinfo"
    steps: dict = {}  # stateless: it never becomes the active dialog (bot/dialogs/privacy.py)

    def start(self, ctx) -> dict:
        return self.handle(ctx)

    def reprompt(self, ctx) -> dict:
        return self.handle(ctx)

    def cancel(self, ctx) -> None:
        return None

    def handle(self, ctx) -> dict:
        from bot.dialogs.myinfo import current_member, not_member_reply

        member = current_member(ctx)
        if member is None:
            return not_member_reply(ctx)
        extra = ctx.turn.client_extra or {}
        topic, on, digest = extra.get("topic"), extra.get("on"), extra.get("digest")
        if topic in P.TOPICS and isinstance(on, bool) and not (topic == "campaign" and on):
            dropped = P.set_topic(ctx.session, ctx.clock, member, topic, on)
            ctx.outcome = "completed"
            ctx.log.info("push preference changed", extra={"topic": topic, "on": on, "dropped": dropped})
            name = _t(f"topics.{topic}")
            notice = _t("turned_on", topic=name) if on else _t("turned_off", topic=name)
            if dropped:
                notice += " " + _t("dropped", count=dropped)
            return screen(ctx, member, notice)
        if isinstance(digest, bool):
            P.set_digest(ctx.session, member, digest, now=ctx.clock.now())
            ctx.outcome = "completed"
            return screen(ctx, member, _t("digest_saved_on") if digest else _t("digest_saved_off"))
        change = typed_change(ctx.turn.utterance) if not extra else TypedChange()
        if change:
            return apply_typed(ctx, member, change)
        return screen(ctx, member)


def register(app: BotApp) -> None:
    app.add_dialog(NotifyDialog())
