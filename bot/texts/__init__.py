"""Citizen-facing text, kept apart from code.

Each area has its own TOML file in `bot/texts/<lang>/` (`ko/signup.toml`, `en/signup.toml`,
...); `t("signup.ask_address", name="...")` looks up key `ask_address` in `signup.toml` and
fills `{name}` placeholders. A missing key raises KeyError so a typo fails its test. The files
are read by the one loader of core.texts (which also picks the language directory).

The language of a lookup is the caller's `lang=` if given, else the language of the turn (or
push) being answered: `BotApp` sets it per turn with `using(lang)` from the user's stored
choice, so dialogs call `t(...)` without knowing it. Korean is the default.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from core.texts import DEFAULT_LANGUAGE, TextSet

TEXTS = TextSet(Path(__file__).resolve().parent)
LANGUAGES = ("ko", "en")
__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "areas", "current", "known", "raw", "t", "using"]
_LANG: ContextVar[str] = ContextVar("bot_texts_lang", default=DEFAULT_LANGUAGE)


def current() -> str:
    """The language replies are written in now."""
    return _LANG.get()


def known(lang: str | None) -> str:
    """`lang` when the bot speaks it, else the default language."""
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Write replies in `lang` (the default language when unknown) inside the block."""
    token = _LANG.set(known(lang))
    try:
        yield _LANG.get()
    finally:
        _LANG.reset(token)


def raw(key: str, *, lang: str | None = None) -> Any:
    return TEXTS.raw(key, lang=lang or _LANG.get())


def t(key: str, *, lang: str | None = None, **fmt) -> str:
    return TEXTS.t(key, lang=lang or _LANG.get(), **fmt)


def areas(lang: str | None = None) -> list[str]:
    return TEXTS.areas(lang or DEFAULT_LANGUAGE)
