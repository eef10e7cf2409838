"""Benchmarks; their sample inputs are in bench/samples.toml."""
from __future__ import annotations

from pathlib import Path


def samples(section: str):
    """A section of bench/samples.toml, read through the one loader of core.texts."""
    from core.texts import load_toml

    return load_toml(Path(__file__).resolve().with_name("samples.toml"))[section]
