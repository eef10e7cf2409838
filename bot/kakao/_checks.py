"""Construction-time checks shared by the builders. Each raises LimitError naming field and limit."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.kakao import limits as L
from bot.kakao.limits import LimitError


def limit(name: str) -> int:
    # Read at call time so a setting that overrides a constant takes effect.
    value: int = getattr(L, name)
    return value


def ratios(name: str) -> frozenset[tuple[int, int]]:
    """A set of allowed width:height ratios, read at call time like :func:`limit`."""
    value: frozenset[tuple[int, int]] = getattr(L, name)
    return value


def text(field: str, value: object, limit_name: str | None = None, *, required: bool = True) -> None:
    if value is None:
        if required:
            raise LimitError(f"{field}: required")
        return
    if not isinstance(value, str):
        raise LimitError(f"{field}: must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise LimitError(f"{field}: required, must not be blank")
    if not L.is_encodable(value):
        raise LimitError(f"{field}: not valid Unicode text (lone surrogate)")
    if limit_name is not None:
        n, most = L.text_length(value), limit(limit_name)
        if n > most:
            raise LimitError(f"{field}: {n} characters, limit {most} ({limit_name})")


def nonblank(field: str, value: object) -> None:
    """Optional, but when given it must say something (e.g. messageText)."""
    if value is not None:
        text(field, value)


def lines(field: str, value: str | None, limit_name: str) -> None:
    if value is not None and L.line_count(value) > limit(limit_name):
        raise LimitError(f"{field}: {L.line_count(value)} lines, limit {limit(limit_name)} ({limit_name})")


def url(field: str, value: object, *, required: bool = True) -> None:
    text(field, value, required=required)
    if isinstance(value, str) and not L.URL_PATTERN.match(value):
        raise LimitError(f"{field}: must be an absolute http(s) URL")


def integer(field: str, value: object, *, required: bool = True, low: int = 0, high: int | None = None) -> None:
    if value is None:
        if required:
            raise LimitError(f"{field}: required")
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise LimitError(f"{field}: must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        raise LimitError(f"{field}: {value} must be >= {low}" if high is None else f"{field}: {value} outside {low}..{high}")


def boolean(field: str, value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise LimitError(f"{field}: must be a bool")


def one_of(field: str, value: object, allowed: frozenset[str], *, required: bool = True) -> None:
    if value is None and not required:
        return
    if value not in allowed:
        raise LimitError(f"{field}: {value!r} not one of {sorted(allowed)}")


def json_map(field: str, value: object) -> None:
    """extra / data: Map<String, Any>, and it must survive JSON serialisation."""
    if value is None:
        return
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise LimitError(f"{field}: must be a dict with string keys")
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise LimitError(f"{field}: not JSON-serialisable ({exc})") from None


def count(field: str, items: Sequence[Any], limit_name: str, *, low: int = 0) -> None:
    most = limit(limit_name)
    if len(items) > most:
        raise LimitError(f"{field}: {len(items)} items, limit {most} ({limit_name})")
    if len(items) < low:
        raise LimitError(f"{field}: at least {low} required")


def instances(field: str, items: Sequence[Any], kinds: type | tuple[type, ...]) -> None:
    for i, item in enumerate(items):
        if not isinstance(item, kinds):
            raise LimitError(f"{field}[{i}]: expected {_names(kinds)}, got {type(item).__name__}")


def _names(kinds: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))


def compact(d: dict[str, Any]) -> dict[str, Any]:
    """Kakao expects absent fields omitted, not null."""
    return {k: v for k, v in d.items() if v is not None}
