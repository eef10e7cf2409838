"""Nothing matched: say so kindly and offer the main actions."""
from __future__ import annotations

from bot import texts, ui
from bot.app import BotApp


def fallback(ctx) -> dict:
    ctx.outcome = "unmatched"
    return ui.menu_reply(ctx, texts.t("fallback.not_understood"))


def register(app: BotApp) -> None:
    app.skill("fallback")(fallback)
