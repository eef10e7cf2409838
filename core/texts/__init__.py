"""Text and data kept apart from code, read through one loader.

Texts: the words people read or type (replies, labels, matching words). Each layer keeps its
own set, one TOML file per area and one directory per language: `core/texts/ko/charts.toml`,
`bot/texts/ko/signup.toml`, `webhooks/texts/ko/admin.toml`. A `TextSet` over such a root looks
keys up as `area.key[.sub...]`: `texts.t("charts.title")` reads key `title` of
`<root>/ko/charts.toml` and fills `{placeholders}` from keyword arguments. A missing key or
file raises KeyError so a typo fails its test. The language directory is chosen in one place,
`TextSet.dir` (DEFAULT_LANGUAGE unless a caller passes `lang=`), so adding a language is adding
`<root>/<lang>/` files.

Data: values that do not change with the language (demo names and addresses, address
prefixes) live in `core/data/<name>.toml` and are read with `data(name)`.
"""
from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT_LANGUAGE = "ko"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@cache
def load_toml(path: Path) -> dict:
    """A TOML file, parsed once per process (callers must not change what they get)."""
    if not path.exists():
        raise KeyError(f"no text file {path.name}")
    with path.open("rb") as fh:
        return tomllib.load(fh)


def dig(node: Any, dotted: str) -> Any:
    for part in filter(None, dotted.split(".")):
        node = node[part]
    return node


class TextSet:
    """The texts of one layer: `<root>/<lang>/<area>.toml`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._found: dict[tuple[str, str | None], Any] = {}  # (key, lang) -> value: files never change

    def dir(self, lang: str | None = None) -> Path:
        return self.root / (lang or DEFAULT_LANGUAGE)

    def raw(self, key: str, *, lang: str | None = None) -> Any:
        """The value at `area.key[.sub...]`: a string, list or table."""
        try:
            return self._found[(key, lang)]
        except KeyError:
            pass
        area, _, rest = key.partition(".")
        value = dig(load_toml(self.dir(lang) / f"{area}.toml"), rest)
        self._found[(key, lang)] = value
        return value

    def t(self, key: str, *, lang: str | None = None, **fmt) -> str:
        value = self.raw(key, lang=lang)
        if not isinstance(value, str):
            raise KeyError(f"{key} is not a text")
        return value.format(**fmt) if fmt else value

    def areas(self, lang: str | None = None) -> list[str]:
        return sorted(p.stem for p in self.dir(lang).glob("*.toml"))


CORE = TextSet(Path(__file__).resolve().parent)
raw = CORE.raw
t = CORE.t
areas = CORE.areas


def data(name: str, key: str = "") -> Any:
    """`core/data/<name>.toml`, or the value at dotted `key` in it."""
    return dig(load_toml(DATA_DIR / f"{name}.toml"), key)
