"""Programme rules as data (spec docs/carbon-point-rules.md §12).

``load_rules()`` reads ``programme.toml`` beside this file (or ``$CPOINT_RULES_FILE``, or an
explicit path), deep-merges ``overrides`` and validates everything into frozen dataclasses.
``default_rules()`` caches the default load; call ``default_rules.cache_clear()`` after changing
the environment in tests.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.rules.loader import build_rules, check_rate, merge_overrides
from core.rules.model import (
    Band,
    GreenlifeItem,
    GreenlifeRules,
    NoScheduleError,
    PayoutRule,
    PointsTable,
    RateRules,
    Rules,
    RulesError,
    Schedule,
)

ENV_VAR = "CPOINT_RULES_FILE"
DEFAULT_FILE = Path(__file__).with_name("programme.toml")

__all__ = [
    "Band", "DEFAULT_FILE", "ENV_VAR", "GreenlifeItem", "GreenlifeRules", "NoScheduleError",
    "PayoutRule", "PointsTable", "RateRules", "Rules", "RulesError", "Schedule", "default_rules",
    "load_rules", "validate_rate",
]


def load_rules(path: str | os.PathLike | None = None,
               overrides: Mapping[str, Any] | None = None) -> Rules:
    """Load and validate rules.

    path: a TOML file; default ``$CPOINT_RULES_FILE`` or the bundled programme.toml.
    overrides: merged over the file before validation, same shape as the file; dotted keys allowed,
        e.g. ``{"settings.baseline_mode": "fixed_at_join", "rate": {"default": "1.5"}}``.
    Raises RulesError on any invalid or unknown value.
    """
    file = Path(path or os.environ.get(ENV_VAR) or DEFAULT_FILE)
    try:
        with file.open("rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RulesError(f"cannot read rules file {file}: {exc}") from exc
    return build_rules(merge_overrides(doc, overrides), source=str(file))


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    """The rules in force for this process (loaded once)."""
    return load_rules()


def validate_rate(rate: Decimal | int | str, rules: Rules) -> Decimal:
    """A 시군구's won-per-point rate as Decimal if within ``rules.rate`` bounds, else RulesError."""
    return check_rate(rate, rules.rate)
