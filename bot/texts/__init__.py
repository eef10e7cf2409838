"""Citizen-facing text, kept apart from code.

Each area has its own TOML file in `bot/texts/<lang>/` (`ko/signup.toml`, `ko/help.toml`, ...);
`t("signup.ask_address", name="...")` looks up key `ask_address` in `signup.toml` and fills
`{name}` placeholders. A missing key raises KeyError so a typo fails its test. The files are
read by the one loader of core.texts (which also picks the language directory).
"""
from __future__ import annotations

from pathlib import Path

from core.texts import TextSet

TEXTS = TextSet(Path(__file__).resolve().parent)
raw = TEXTS.raw
t = TEXTS.t
areas = TEXTS.areas
