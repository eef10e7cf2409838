"""The welcome block: a greeting and quick replies to the main actions."""
from __future__ import annotations

from sqlalchemy import select

from bot import texts, ui
from bot.app import BotApp
from core.models import Member
from core.pii import mask_name


def welcome(ctx) -> dict:
    member = ctx.session.scalars(
        select(Member).where(Member.bot_user_key == ctx.turn.user_key, Member.status == "active")
    ).first()
    if member is not None:
        text = texts.t("welcome.greeting_member", name=mask_name(member.name) or texts.t("welcome.member_name"))
    else:
        text = texts.t("welcome.greeting")
    reply = ui.menu_reply(ctx, text, member=member is not None)
    if member is None:  # a member who joined elsewhere links KakaoTalk here (issue 15)
        from bot.dialogs.link import link_quick_reply

        qrs = reply["template"].setdefault("quickReplies", [])
        qrs.insert(1, link_quick_reply(ctx).to_dict())
    return reply


def register(app: BotApp) -> None:
    app.skill("welcome")(welcome)
