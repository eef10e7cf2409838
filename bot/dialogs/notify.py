"""Push preferences (알림 설정), a screen of my info: each topic on or off (monthly results,
campaign messages, reminders) and the quiet green-life digest. Payout notices and held-payment
warnings are critical: the screen says they cannot be turned off.

Stateless: taps carry {"dialog": "notify"} (the screen), {"dialog": "notify", "topic": T,
"on": bool} or {"dialog": "notify", "digest": bool}; the router hands them here by the name.
Turning campaign messages on goes through the campaigns skill's explicit consent.
"""
from __future__ import annotations

from bot import texts, ui
from bot.app import BotApp
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
        return screen(ctx, member)


def register(app: BotApp) -> None:
    app.add_dialog(NotifyDialog())
