"""Declaring settings: each layer describes its own group of settings next to the code that
uses it (pydantic models with bounds); webhooks.config composes the groups and reads the
environment. `setting()` ties a field to its environment variable name, which operators'
`.env` files depend on, so names never change with the shape of the model."""
from __future__ import annotations

from typing import Any

from pydantic import Field


def setting(env: str, default: Any, help: str, *, secret: bool = False, shown: str | None = None,
            **constraints: Any) -> Any:
    """A field read from the environment variable `env`. README's table lists `help` and the
    default (or `shown`, when the default is worked out at start)."""
    extra = {"env": env, "secret": secret, "shown": shown}
    if callable(default) and not isinstance(default, (str, int, float)):
        return Field(default_factory=default, description=help, json_schema_extra=extra, **constraints)
    return Field(default, description=help, json_schema_extra=extra, **constraints)


def fields_of(model: type) -> dict:
    """The pydantic fields of a model or pydantic dataclass."""
    return getattr(model, "__pydantic_fields__", {})


def env_name(info) -> str | None:
    extra = info.json_schema_extra
    return extra.get("env") if isinstance(extra, dict) else None
