"""Shared data for the Kakao protocol tests: fixture payloads and the protocol doc's examples.

A plain module, not a conftest.py: other tests import the top-level tests/conftest.py by name,
and a second conftest module here would shadow it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "kakao"
PROTOCOL_DOC = ROOT / "docs" / "kakao-skill-protocol.md"


def load_fixture(name: str) -> object:
    """A fixture payload, parsed fresh (tests may mutate it)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _doc_json_blocks(section: str) -> list:
    """JSON code blocks of one `## <n>.` section of the protocol doc, parsed."""
    text = PROTOCOL_DOC.read_text(encoding="utf-8")
    match = re.search(rf"^## {section}\..*?(?=^## |\Z)", text, re.S | re.M)
    assert match, f"section {section} not found in {PROTOCOL_DOC}"
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", match.group(0), re.S)]


def doc_example_responses() -> list[dict]:
    """§11 example responses, in order: signup question, balance itemCard, campaign carousel, RRN refusal."""
    blocks = _doc_json_blocks("11")
    assert len(blocks) == 4
    return blocks


def doc_example_requests() -> list[dict]:
    """§10 example requests: fallback free text, quick-reply diff fragment, dev-channel card button, legacy."""
    return _doc_json_blocks("10")
