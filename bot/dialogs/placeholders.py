"""Skills whose features have not landed yet answer politely with the main menu."""
from __future__ import annotations

from bot import texts, ui
from bot.app import BotApp

PENDING = ("signup", "balance", "campaigns", "greenlife", "myinfo", "notice")


def _coming_soon(feature: str):
    def handler(ctx):
        return ui.menu_reply(ctx, texts.t("common.coming_soon", feature=texts.t(f"common.features.{feature}")))

    return handler


def register(app: BotApp) -> None:
    for skill in PENDING:
        app.skill(skill)(_coming_soon(skill))
