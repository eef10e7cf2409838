"""Shared helpers for the Kakao protocol tests: fixture payloads and the protocol doc's examples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "kakao"
PROTOCOL_DOC = ROOT / "docs" / "kakao-skill-protocol.md"


def _doc_json_blocks(section: str) -> list[object]:
    """JSON code blocks of one `## <n>.` section of the protocol doc, parsed."""
    text = PROTOCOL_DOC.read_text(encoding="utf-8")
    match = re.search(rf"^## {section}\..*?(?=^## |\Z)", text, re.S | re.M)
    assert match, f"section {section} not found in {PROTOCOL_DOC}"
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", match.group(0), re.S)]


@pytest.fixture
def load_fixture():
    def load(name: str) -> object:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return load


@pytest.fixture(scope="session")
def doc_example_responses() -> list[dict]:
    blocks = _doc_json_blocks("11")
    assert len(blocks) == 4
    return blocks


@pytest.fixture(scope="session")
def doc_example_requests() -> list[dict]:
    return _doc_json_blocks("10")
