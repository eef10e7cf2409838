"""What the bot can do, the programme in brief, the call centre; the FAQ list from here."""
from __future__ import annotations

from bot import ui
from bot.app import BotApp
from bot.dialogs import faq


def help_skill(ctx) -> dict:
    if faq.wants_faq(ctx):
        return faq.faq_skill(ctx)
    return ui.help_reply(ctx)


def register(app: BotApp) -> None:
    app.skill("help")(help_skill)
