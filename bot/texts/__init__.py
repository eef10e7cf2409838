"""Citizen-facing Korean text, kept apart from code.

Each area has its own TOML file in `bot/texts/ko/` (`signup.toml`, `help.toml`, ...);
`t("signup.ask_address", name="...")` looks up key `ask_address` in `signup.toml` and fills
`{name}` placeholders. A missing key raises KeyError so a typo fails its test.
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

_DIR = Path(__file__).with_name("ko")


@lru_cache(maxsize=None)
def _area(area: str) -> dict:
    path = _DIR / f"{area}.toml"
    if not path.exists():
        raise KeyError(f"no text file {path.name}")
    with path.open("rb") as fh:
        return tomllib.load(fh)


def raw(key: str):
    """The value at `area.key[.sub...]`: a string, list or table."""
    area, _, rest = key.partition(".")
    node = _area(area)
    for part in filter(None, rest.split(".")):
        node = node[part]
    return node


def t(key: str, **fmt) -> str:
    value = raw(key)
    if not isinstance(value, str):
        raise KeyError(f"{key} is not a text")
    return value.format(**fmt) if fmt else value


def areas() -> list[str]:
    return sorted(p.stem for p in _DIR.glob("*.toml"))
