"""Builds the BotApp with every skill and dialog. Modules listed later override earlier
registrations of the same skill (the placeholders go first)."""
from __future__ import annotations

import importlib
import logging

from bot.app import BotApp
from bot.router import install

log = logging.getLogger("cpoint.bot")

# Each module has `register(app: BotApp)`.
MODULES = [
    "bot.dialogs.placeholders",
    "bot.dialogs.welcome",
    "bot.dialogs.help",
    "bot.dialogs.fallback",
]
# Optional modules owned by later features; registered when present.
OPTIONAL = [
    "bot.dialogs.signup",
    "bot.dialogs.balance",
    "bot.dialogs.campaigns",
    "bot.dialogs.greenlife",
    "bot.dialogs.myinfo",
    "bot.dialogs.faq",
    "bot.dialogs.notice",
]


def build_bot() -> BotApp:
    app = BotApp()
    for name in MODULES:
        importlib.import_module(name).register(app)
    for name in OPTIONAL:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        register = getattr(module, "register", None)
        if register is None:  # a feature package still being assembled
            log.warning("%s has no register(app); skipped", name)
            continue
        register(app)
    from bot.push.reachability import after_turn as note_reachability

    app.after_turn.append(note_reachability)
    install(app)
    return app
