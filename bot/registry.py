"""Builds the BotApp with every skill and dialog."""
from __future__ import annotations

from bot import texts, understanding
from bot.app import BotApp
from bot.dialogs import (
    balance,
    campaigns,
    fallback,
    faq,
    greenlife,
    help,
    link,
    myinfo,
    notice,
    notify,
    privacy,
    signup,
    welcome,
)
from bot.push.reachability import after_turn as note_reachability
from bot.router import install

# Each module has `register(app: BotApp)` and registers its own skill names.
MODULES = (welcome, help, fallback, signup, link, balance, campaigns, greenlife, myinfo, notify, faq, notice)


def build_bot() -> BotApp:
    app = BotApp()
    for module in MODULES:
        module.register(app)
    app.after_turn.append(note_reachability)
    install(app)
    app.personal_step = privacy.is_personal
    app.menu_words = menu_words()
    app.static_skills = frozenset({"welcome", "help"})
    return app


def menu_words() -> frozenset[str]:
    """The programme's own words a citizen taps or types to move around: the menu labels and
    the quick-reply labels of the intents (logged as they are; other typed text is redacted)."""
    words: set[str] = set()
    for lang in texts.LANGUAGES:
        words |= {understanding.label(i, lang) for i in understanding.intents()}
        kw = texts.raw("keywords", lang=lang)
        words |= {*kw["cancel"], *kw["home"], *(w for ws in kw.get("language", {}).values() for w in ws)}
        words |= {v for v in texts.raw("common", lang=lang)["menu"].values() if isinstance(v, str)}
    return frozenset(words)
