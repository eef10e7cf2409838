"""Operator- and emulator-facing text of the web edge: `webhooks/texts/<lang>/<area>.toml`,
read through the one loader of core.texts (`t("emulator.bot_name")`, `operator_text("login.expired")`)."""
from __future__ import annotations

from pathlib import Path

from core.texts import TextSet

TEXTS = TextSet(Path(__file__).resolve().parent)
raw = TEXTS.raw
t = TEXTS.t
areas = TEXTS.areas


def operator_text(key: str, **fmt) -> str:
    """A text of the operator pages (login, member lookup, campaigns): `operators.toml`."""
    return t(f"operators.{key}", **fmt)


def operator_table(key: str) -> dict:
    return raw(f"operators.{key}")
