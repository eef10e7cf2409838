"""Operator-facing Korean text of the operator features (login, member lookup, campaigns):
`webhooks/operator_texts/ko.toml`, read with `t("login.wrong")`. Kept apart from code like
bot/texts; to be folded into webhooks/texts once that loader lands on main."""
from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

_FILE = Path(__file__).with_name("ko.toml")


@cache
def _all() -> dict:
    with _FILE.open("rb") as fh:
        return tomllib.load(fh)


def t(key: str, **fmt) -> str:
    node = _all()
    for part in key.split("."):
        node = node[part]
    if not isinstance(node, str):
        raise KeyError(f"{key} is not a text")
    return node.format(**fmt) if fmt else node


def table(key: str) -> dict:
    node = _all()
    for part in key.split("."):
        node = node[part]
    return dict(node)
