"""Operator- and emulator-facing text of the web edge: `webhooks/texts/<lang>/<area>.toml`,
read through the one loader of core.texts (`t("admin.login_wrong_token")`)."""
from __future__ import annotations

from pathlib import Path

from core.texts import TextSet

TEXTS = TextSet(Path(__file__).resolve().parent)
raw = TEXTS.raw
t = TEXTS.t
areas = TEXTS.areas
