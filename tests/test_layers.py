"""Imports flow one way: webhooks -> bot -> core. core knows nothing of Flask, Kakao's edge or
the conversation; bot never imports Flask or the edge (docs/architecture.md)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "core": ("bot", "webhooks", "flask", "werkzeug"),
    "bot": ("webhooks", "flask", "werkzeug"),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_imports_flow_one_way(room):
    bad = [f"{path.relative_to(ROOT)}:{line}: {name}"
           for path in sorted((ROOT / room).rglob("*.py"))
           for line, name in imported_modules(path)
           if name.split(".")[0] in FORBIDDEN[room]]
    assert not bad, f"{room}/ must not import {', '.join(FORBIDDEN[room])}:\n" + "\n".join(bad)
