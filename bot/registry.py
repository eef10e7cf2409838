"""Builds the BotApp with every skill and dialog."""
from __future__ import annotations

from bot.app import BotApp
from bot.dialogs import balance, campaigns, fallback, faq, greenlife, help, myinfo, notice, signup, welcome
from bot.push.reachability import after_turn as note_reachability
from bot.router import install

# Each module has `register(app: BotApp)` and registers its own skill names.
MODULES = (welcome, help, fallback, signup, balance, campaigns, greenlife, myinfo, faq, notice)


def build_bot() -> BotApp:
    app = BotApp()
    for module in MODULES:
        module.register(app)
    app.after_turn.append(note_reachability)
    install(app)
    return app
