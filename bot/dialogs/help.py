"""What the bot can do, the programme in brief, the call centre."""
from __future__ import annotations

from bot import texts, ui
from bot.app import BotApp


def help_skill(ctx) -> dict:
    return ui.help_reply(ctx)


def register(app: BotApp) -> None:
    app.skill("help")(help_skill)
