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
    return ui.menu_reply(ctx, text, member=member is not None)


def register(app: BotApp) -> None:
    app.skill("welcome")(welcome)
